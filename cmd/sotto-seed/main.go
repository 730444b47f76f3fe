// Command sotto-seed fills a sotto data directory with a large, clearly
// fake practice, for measurements on a big store (cold start, inbox
// pages): one organization, one department, one nurse, --patients
// patients and --conversations conversations of --messages-per-conversation
// messages each, written through the store's own inserts (sealed under the
// patients' keys, with their events, like production rows) by several
// writers at once so that group commit batches them.
//
//	go run ./cmd/sotto-seed --data /tmp/sotto-large              # 100,000 conversations, 1,000,000 messages
//	go run ./cmd/sotto serve --data /tmp/sotto-large --addr 127.0.0.1:18701
//
// The directory is created like "sotto serve" does with its defaults
// (master key file, SQLite database, all migrations including River's); an
// existing one gets one more practice. Seeding the default size took five
// minutes on two cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sotto"
	"sotto/internal/crypt"
	"sotto/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sotto-seed:", err)
		os.Exit(1)
	}
}

// config holds the command line.
type config struct {
	data                  string
	conversations, perMsg int
	patients, writers     int
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("sotto-seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", "", "data directory to fill (created if missing; required)")
	fs.IntVar(&c.conversations, "conversations", 100_000, "conversations to add")
	fs.IntVar(&c.perMsg, "messages-per-conversation", 10, "messages in each conversation")
	fs.IntVar(&c.patients, "patients", 0, "patients the conversations are spread over (0: one per ten conversations)")
	fs.IntVar(&c.writers, "writers", 4, "goroutines writing at once")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case c.data == "" || fs.NArg() > 0:
		return nil, errors.New("usage: sotto-seed --data DIR [--conversations N] [--messages-per-conversation M] [--patients P]")
	case c.conversations < 1 || c.perMsg < 0 || c.patients < 0 || c.writers < 1:
		return nil, errors.New("--conversations and --writers must be at least 1; --messages-per-conversation and --patients not negative")
	}
	if c.patients == 0 {
		c.patients = max(1, c.conversations/10)
	}
	return c, nil
}

// messageBody is every seeded message's text (fake).
var messageBody = strings.Repeat("Test message: please take one tablet of Testamycin 10 mg daily with food. ", 4)[:256]

func run(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	db, err := openData(ctx, c.data)
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	var org, dept, nurse string
	err = db.Write(ctx, func(tx *store.Tx) error {
		o := &sotto.Org{Name: "Seed Test Clinic"}
		if err := tx.InsertOrg(o); err != nil {
			return err
		}
		d := &sotto.Department{OrgID: o.ID, Name: "Seed Nursing"}
		if err := tx.InsertDepartment(d); err != nil {
			return err
		}
		u := &sotto.User{OrgID: o.ID, Role: sotto.RoleNurse, Email: "seed.nurse." + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.test", Name: "Seed Nurse"}
		if err := tx.InsertUser(u, store.Credentials{}); err != nil {
			return err
		}
		org, dept, nurse = o.ID, d.ID, u.ID
		return tx.AddDepartmentMember(d.ID, u.ID)
	})
	if err != nil {
		return fmt.Errorf("seed organization: %w", err)
	}

	patients := make([]string, c.patients)
	err = chunks(ctx, db, c.writers, c.patients, 100, "patients", stderr, func(tx *store.Tx, i int) error {
		p := &sotto.Patient{OrgID: org, GivenName: "Seedy", FamilyName: "McSeedface", BirthDate: "1980-01-02", Sex: sotto.SexUnknown,
			MRN: fmt.Sprintf("SEED-%07d", i), Language: "en", TimeZone: "America/Chicago", DepartmentIDs: []string{dept}}
		if err := tx.InsertPatient(p); err != nil {
			return err
		}
		patients[i] = p.ID
		return nil
	})
	if err != nil {
		return err
	}
	err = chunks(ctx, db, c.writers, c.conversations, max(1, 500/(1+c.perMsg)), "conversations", stderr, func(tx *store.Tx, i int) error {
		conv := &sotto.Conversation{OrgID: org, PatientID: patients[i%len(patients)], DepartmentID: dept, Category: sotto.CategoryGeneral,
			Subject: "Seed question " + strconv.Itoa(i), CreatedBy: nurse}
		if _, err := tx.InsertConversation(conv); err != nil {
			return err
		}
		for j := range c.perMsg {
			m := &sotto.Message{Body: messageBody, IdempotencyKey: "seed-" + strconv.Itoa(i) + "-" + strconv.Itoa(j),
				SenderID: nurse, SenderRole: sotto.RoleNurse}
			if _, _, err := tx.InsertMessage(conv, m, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sotto-seed: %d patients, %d conversations, %d messages in %v\n",
		c.patients, c.conversations, c.conversations*c.perMsg, time.Since(start).Round(time.Second))
	return nil
}

// openData opens (creating) the data directory the way "sotto serve" does
// with its defaults: master.key and sotto.db inside it, migrations applied.
func openData(ctx context.Context, dir string) (*store.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	master, err := crypt.OpenMasterFile(filepath.Join(dir, "master.key"))
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "sotto.db"), store.Options{Keys: crypt.NewKeyring(master, 10000)})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// chunks calls fn for 0 ≤ i < n, chunk calls per Write, from writers
// goroutines, reporting progress on stderr every ten seconds.
func chunks(ctx context.Context, db *store.DB, writers, n, chunk int, what string, stderr io.Writer, fn func(tx *store.Tx, i int) error) error {
	var next, done atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(stderr, "sotto-seed: %s %d/%d\n", what, done.Load(), n)
			}
		}
	}()
	defer close(stop)
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(1)-1) * chunk
				if lo >= n {
					return
				}
				hi := min(n, lo+chunk)
				err := db.Write(ctx, func(tx *store.Tx) error {
					for i := lo; i < hi; i++ {
						if err := fn(tx, i); err != nil {
							return fmt.Errorf("%s %d: %w", what, i, err)
						}
					}
					return nil
				})
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // the others stop
					return
				}
				done.Add(int64(hi - lo))
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
