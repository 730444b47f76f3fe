package store_test

// Benchmarks of the messaging hot paths: the durable send (message +
// receipt + event + audit entry, group-committed) and a department inbox
// page over a large conversation table. All data is obviously fake.

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/jobs"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// msgBenchStores are the dialects the messaging benchmarks run against.
var msgBenchStores = []struct {
	name string
	open func(testing.TB, store.Options) *store.DB
}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}}

const (
	// msgBenchSenders is the number of concurrent senders, whatever the
	// core count.
	msgBenchSenders = 64
	// msgBenchConversations is how many conversations (of as many patients)
	// the senders spread over.
	msgBenchConversations = 50
)

// msgBenchBody is a typical short clinical message (256 bytes).
var msgBenchBody = strings.Repeat("Test message: please take one tablet of Testamycin 10 mg daily with food. ", 4)[:256]

// benchSendFixture is an org with a nurse who sends, and
// msgBenchConversations conversations, each of its own patient who has a
// portal account (the one recipient).
type benchSendFixture struct {
	org, nurse string
	convs      []*sotto.Conversation
	recipient  map[string]string // conversation id → patient user id
}

// benchSeedSend creates a benchSendFixture in db, in one Write.
func benchSeedSend(tb testing.TB, db *store.DB) *benchSendFixture {
	tb.Helper()
	f := &benchSendFixture{recipient: map[string]string{}}
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		o := &sotto.Org{Name: "Bench Clinic"}
		if err := tx.InsertOrg(o); err != nil {
			return err
		}
		d := &sotto.Department{OrgID: o.ID, Name: "Bench Nursing"}
		if err := tx.InsertDepartment(d); err != nil {
			return err
		}
		nurse := &sotto.User{OrgID: o.ID, Role: sotto.RoleNurse, Email: "bench.nurse@example.test", Name: "Bench Nurse"}
		if err := tx.InsertUser(nurse, store.Credentials{}); err != nil {
			return err
		}
		if err := tx.AddDepartmentMember(d.ID, nurse.ID); err != nil {
			return err
		}
		f.org, f.nurse = o.ID, nurse.ID
		for i := range msgBenchConversations {
			pu := &sotto.User{OrgID: o.ID, Role: sotto.RolePatient, Email: fmt.Sprintf("bench.patient.%d@example.test", i), Name: "Bench Patient"}
			if err := tx.InsertUser(pu, store.Credentials{}); err != nil {
				return err
			}
			p := benchPatient(o.ID, i)
			p.UserID, p.DepartmentIDs = pu.ID, []string{d.ID}
			if err := tx.InsertPatient(p); err != nil {
				return err
			}
			c := &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: d.ID, Category: sotto.CategoryGeneral,
				Subject: "Bench question " + strconv.Itoa(i), CreatedBy: nurse.ID}
			if _, err := tx.InsertConversation(c); err != nil {
				return err
			}
			f.convs = append(f.convs, c)
			f.recipient[c.ID] = pu.ID
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return f
}

// benchPatient returns a valid, not yet inserted patient of orgID whose
// MRN is unique by i.
func benchPatient(orgID string, i int) *sotto.Patient {
	return &sotto.Patient{OrgID: orgID, GivenName: "Benchy", FamilyName: "McBenchface", BirthDate: "1980-01-02",
		Sex: sotto.SexUnknown, MRN: fmt.Sprintf("BENCH-%07d", i), Language: "en", TimeZone: "America/Chicago"}
}

// BenchmarkSendMessage measures the durable message write path as the
// server runs it: in one Write, InsertMessage (idempotency check, sealing
// the body, the message.created event, one receipt, the conversation's
// activity) and the message.send audit entry. (The server's Write also
// looks up the patient's recipients; here the one recipient is known.) 64 concurrent senders spread
// over 50 conversations of 50 patients, so group commit batches them.
func BenchmarkSendMessage(b *testing.B) { benchSendMessage(b, true, false, false) }

// BenchmarkSendMessageNoAudit is BenchmarkSendMessage without the audit
// entry: the difference is what audit costs the message path.
func BenchmarkSendMessageNoAudit(b *testing.B) { benchSendMessage(b, false, false, false) }

// BenchmarkSendMessageWithJob is BenchmarkSendMessage plus the
// notify_message job the server enqueues for a message to a patient (one
// River row inserted with the batch's InsertManyTx): the difference is
// what durable notifications cost the message path. No runner works the
// jobs here.
func BenchmarkSendMessageWithJob(b *testing.B) { benchSendMessage(b, true, true, false) }

// BenchmarkSendMessagePlaintext is BenchmarkSendMessage with record
// encryption switched off (no sealing, no key reads): the difference is
// what encryption costs the message write path.
func BenchmarkSendMessagePlaintext(b *testing.B) { benchSendMessage(b, true, false, true) }

func benchSendMessage(b *testing.B, withAudit, withJob, plaintext bool) {
	for _, s := range msgBenchStores {
		b.Run(s.name, func(b *testing.B) {
			db := s.open(b, store.Options{})
			f := benchSeedSend(b, db)
			if plaintext {
				store.PlaintextForBenchmark(db)
			}
			ctx := context.Background()
			var seq atomic.Int64
			b.SetParallelism(max(1, msgBenchSenders/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					conv := f.convs[n%int64(len(f.convs))]
					m := &sotto.Message{Body: msgBenchBody, IdempotencyKey: "bench-" + strconv.FormatInt(n, 10),
						SenderID: f.nurse, SenderRole: sotto.RoleNurse}
					err := db.Write(ctx, func(tx *store.Tx) error {
						if _, _, err := tx.InsertMessage(conv, m, []string{f.recipient[conv.ID]}); err != nil {
							return err
						}
						if withJob {
							jobs.EnqueueMessage(tx, f.org, m.ID)
						}
						if !withAudit {
							return nil
						}
						return audit.Append(tx, &sotto.AuditEvent{OrgID: f.org, ActorID: f.nurse, ActorRole: string(sotto.RoleNurse),
							Action: sotto.AuditMessageSend, Outcome: sotto.AuditSuccess, TargetType: "message", TargetID: m.ID,
							PatientID: conv.PatientID, SourceIP: "192.0.2.10", UserAgent: "sotto-bench/1", RequestID: "req-" + strconv.FormatInt(n, 10)})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			// Not a timing assertion: check that every send was stored (and
			// audited, with an intact chain).
			if n := benchCount(b, db, `SELECT COUNT(*) FROM messages WHERE org_id = $1`, f.org); n != b.N {
				b.Fatalf("%d messages stored, want %d", n, b.N)
			}
			if withJob {
				if n := benchCount(b, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_message'`); n != b.N {
					b.Fatalf("%d notification jobs stored, want %d", n, b.N)
				}
			}
			if withAudit {
				rep, err := audit.Verify(ctx, db, f.org, nil)
				if err != nil || !rep.OK || rep.Entries != int64(b.N) {
					b.Fatalf("audit trail after %d sends: %+v, %v", b.N, rep, err)
				}
			}
		})
	}
}

// BenchmarkInbox measures one department inbox page: the newest 50
// conversations of a department, decrypted, as db.Conversations serves
// GET /api/v1/conversations?department_id=…. The department holds
// SOTTO_BENCH_CONVERSATIONS conversations (default 20,000) with
// SOTTO_BENCH_MESSAGES_PER_CONV messages each (default 10), over one
// patient per ten conversations; the target size is 100,000
// conversations and 1,000,000 messages. Seeding goes through the store's
// own inserts (sealed like production rows; on PostgreSQL from several
// writers at once) and is not timed; its duration and the query plan are
// logged by the first "page" sub-benchmark.
//
// Sub-benchmarks: "page" is the whole db.Conversations call; "scan" is
// only its SQL query (same text and LIMIT, 50 rows read, no decryption),
// so page minus scan is the per-row key lookups and decryption;
// "scan-limit50" is the query with LIMIT 50 instead of the store's 1,000.
// On PostgreSQL they run right after the bulk load (every message left a
// dead conversation row version behind) and again under "vacuumed", after
// VACUUM (ANALYZE) — the state autovacuum converges to. p50/p99 are over
// every timed call.
func BenchmarkInbox(b *testing.B) {
	nConv := benchEnvInt(b, "SOTTO_BENCH_CONVERSATIONS", 20_000)
	perConv := benchEnvInt(b, "SOTTO_BENCH_MESSAGES_PER_CONV", 10)
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(fmt.Sprintf("%s/conv=%d/msgs=%d", dialect, nConv, nConv*perConv), func(b *testing.B) {
			db, vacuum := benchOpenInbox(b, dialect)
			ctx := context.Background()
			f := benchSeedInbox(b, db, nConv, perConv)
			filter := store.ConversationFilter{OrgID: f.org, DepartmentID: f.dept, Limit: 50}
			allowAll := func(*sotto.Conversation) bool { return true }
			want := min(50, nConv)
			page, err := db.Conversations(ctx, filter, allowAll)
			if err != nil || len(page.Conversations) != want || page.Conversations[0].ID != f.newest ||
				!strings.HasPrefix(page.Conversations[0].Subject, "Bench question") {
				b.Fatalf("first page: %d conversations, %v", len(page.Conversations), err)
			}
			run := func(b *testing.B, notes ...string) {
				notes = append(notes, benchExplainInbox(b, db, f))
				b.Run("page", func(b *testing.B) {
					for _, n := range notes {
						b.Log(n)
					}
					benchLatencies(b, func() error {
						page, err := db.Conversations(ctx, filter, allowAll)
						if err == nil && len(page.Conversations) != want {
							err = fmt.Errorf("%d conversations, want %d", len(page.Conversations), want)
						}
						return err
					})
				})
				for _, sc := range []struct {
					name  string
					limit int
				}{{"scan", 1000}, {"scan-limit50", want}} {
					b.Run(sc.name, func(b *testing.B) {
						benchLatencies(b, func() error { return benchScanInbox(ctx, db, f, sc.limit, want) })
					})
				}
			}
			run(b, f.seeded)
			if vacuum != nil {
				t0 := time.Now()
				if err := vacuum(); err != nil {
					b.Fatalf("vacuum: %v", err)
				}
				took := fmt.Sprintf("VACUUM (ANALYZE) took %v", time.Since(t0).Round(time.Millisecond))
				b.Run("vacuumed", func(b *testing.B) { run(b, took) })
			}
		})
	}
}

// benchOpenInbox opens a fresh migrated store of dialect. Several writers
// only speed up seeding (PostgreSQL); the benchmarks read through the
// reader pool. On PostgreSQL it also returns a function that runs VACUUM
// (ANALYZE) on the store's database (outside any transaction).
func benchOpenInbox(b *testing.B, dialect string) (*store.DB, func() error) {
	b.Helper()
	if dialect == "sqlite" {
		return storetest.SQLite(b, store.Options{}), nil
	}
	dsn := storetest.PostgresDSN(b)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{Writers: 4, Keys: storetest.Keyring(b)})
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	b.Cleanup(func() { db.Close() }) // before the database drop (cleanups run last-in first-out)
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	return db, func() error {
		c, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.ExecContext(ctx, "VACUUM (ANALYZE)")
		return err
	}
}

// benchScanInbox runs the inbox query of store.Conversations with LIMIT
// limit and reads want rows without decrypting them.
func benchScanInbox(ctx context.Context, db *store.DB, f *benchInboxFixture, limit, want int) error {
	rows, err := db.Query(ctx, `SELECT `+benchConversationColumns+` FROM conversations
		WHERE org_id = $1 AND last_seq < $2 AND department_id = $3 ORDER BY last_seq DESC LIMIT $4`,
		f.org, int64(1<<63-1), f.dept, limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for n < want && rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		n++
	}
	if n != want {
		return fmt.Errorf("%d rows, want %d (%v)", n, want, rows.Err())
	}
	return rows.Close()
}

// benchConversationColumns are the columns store.Conversations reads.
const benchConversationColumns = `id, org_id, patient_id, department_id, category, status, assignee_id, created_by, subject_enc, details_enc, created_at, last_activity_at, last_seq`

// benchLatencies times each call of f in a b.Loop and reports the p50 and
// p99 latencies in microseconds.
func benchLatencies(b *testing.B, f func() error) {
	lat := make([]time.Duration, 0, 4096)
	for b.Loop() {
		t0 := time.Now()
		err := f()
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(benchPercentile(lat, 0.50), "p50-µs")
	b.ReportMetric(benchPercentile(lat, 0.99), "p99-µs")
}

// benchInboxFixture is a seeded department inbox.
type benchInboxFixture struct {
	org, dept string
	newest    string // the conversation with the latest activity
	seeded    string // what seeding took
}

// benchSeedInbox fills one department of a new org with nConv
// conversations of perConv messages each, in Writes of about 500 inserts.
func benchSeedInbox(b *testing.B, db *store.DB, nConv, perConv int) *benchInboxFixture {
	b.Helper()
	ctx := context.Background()
	f := &benchInboxFixture{}
	var nurse string
	err := db.Write(ctx, func(tx *store.Tx) error {
		o := &sotto.Org{Name: "Bench Clinic"}
		if err := tx.InsertOrg(o); err != nil {
			return err
		}
		d := &sotto.Department{OrgID: o.ID, Name: "Bench Nursing"}
		if err := tx.InsertDepartment(d); err != nil {
			return err
		}
		u := &sotto.User{OrgID: o.ID, Role: sotto.RoleNurse, Email: "bench.nurse@example.test", Name: "Bench Nurse"}
		if err := tx.InsertUser(u, store.Credentials{}); err != nil {
			return err
		}
		f.org, f.dept, nurse = o.ID, d.ID, u.ID
		return tx.AddDepartmentMember(d.ID, u.ID)
	})
	if err != nil {
		b.Fatalf("seed org: %v", err)
	}

	t0 := time.Now()
	nPatients := max(min(nConv, 50), nConv/10) // the newest 50 conversations have 50 distinct patients
	patients := make([]string, nPatients)
	benchChunks(b, db, nPatients, 100, func(tx *store.Tx, i int) error {
		p := benchPatient(f.org, i)
		p.DepartmentIDs = []string{f.dept}
		if err := tx.InsertPatient(p); err != nil {
			return err
		}
		patients[i] = p.ID
		return nil
	})
	tPatients := time.Since(t0)

	t1 := time.Now()
	benchChunks(b, db, nConv, max(1, 500/(1+perConv)), func(tx *store.Tx, i int) error {
		c := &sotto.Conversation{OrgID: f.org, PatientID: patients[i%nPatients], DepartmentID: f.dept, Category: sotto.CategoryGeneral,
			Subject: "Bench question " + strconv.Itoa(i), CreatedBy: nurse}
		if _, err := tx.InsertConversation(c); err != nil {
			return err
		}
		for j := range perConv {
			m := &sotto.Message{Body: msgBenchBody, IdempotencyKey: "seed-" + strconv.Itoa(i) + "-" + strconv.Itoa(j),
				SenderID: nurse, SenderRole: sotto.RoleNurse}
			if _, _, err := tx.InsertMessage(c, m, nil); err != nil {
				return err
			}
		}
		return nil
	})
	tConvs := time.Since(t1)
	if err := db.QueryRow(ctx, `SELECT id FROM conversations WHERE org_id = $1 ORDER BY last_seq DESC LIMIT 1`, f.org).Scan(&f.newest); err != nil {
		b.Fatalf("newest conversation: %v", err)
	}
	if n := benchCount(b, db, `SELECT COUNT(*) FROM messages WHERE org_id = $1`, f.org); n != nConv*perConv {
		b.Fatalf("seeded %d messages, want %d", n, nConv*perConv)
	}
	f.seeded = fmt.Sprintf("%s: seeded %d patients in %v; %d conversations and %d messages in %v (%.0f messages/s)",
		db.Dialect(), nPatients, tPatients.Round(time.Millisecond), nConv, nConv*perConv, tConvs.Round(time.Millisecond),
		float64(nConv*perConv)/tConvs.Seconds())
	return f
}

// benchSeeders is how many goroutines seed at once: on PostgreSQL with
// several writers they overlap round trips; SQLite's one writer groups
// them.
const benchSeeders = 4

// benchChunks calls fn for 0 ≤ i < n, in Writes of chunk calls each, from
// benchSeeders goroutines.
func benchChunks(b *testing.B, db *store.DB, n, chunk int, fn func(tx *store.Tx, i int) error) {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range benchSeeders {
		wg.Go(func() {
			for !failed.Load() {
				lo := int(next.Add(1)-1) * chunk
				if lo >= n {
					return
				}
				hi := min(n, lo+chunk)
				err := db.Write(context.Background(), func(tx *store.Tx) error {
					for i := lo; i < hi; i++ {
						if err := fn(tx, i); err != nil {
							return fmt.Errorf("item %d: %w", i, err)
						}
					}
					return nil
				})
				if err != nil {
					failed.Store(true)
					b.Errorf("seed: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		b.FailNow()
	}
}

// benchExplainInbox returns the database's plan for the inbox query (the
// text store.Conversations builds for an org + department filter).
func benchExplainInbox(b *testing.B, db *store.DB, f *benchInboxFixture) string {
	b.Helper()
	const q = `SELECT ` + benchConversationColumns + ` FROM conversations
		WHERE org_id = $1 AND last_seq < $2 AND department_id = $3 ORDER BY last_seq DESC LIMIT $4`
	prefix := "EXPLAIN (ANALYZE, BUFFERS) "
	if db.Dialect() == store.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.Query(context.Background(), prefix+q, f.org, int64(1<<63-1), f.dept, 1000)
	if err != nil {
		b.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatalf("explain: %v", err)
		}
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("explain: %v", err)
	}
	return fmt.Sprintf("%s inbox plan:\n\t%s", db.Dialect(), strings.Join(plan, "\n\t"))
}

// benchPercentile returns the nearest-rank p-quantile of sorted, in µs.
func benchPercentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, max(0, int(math.Ceil(float64(len(sorted))*p))-1))
	return float64(sorted[i].Nanoseconds()) / 1e3
}

// benchEnvInt reads a positive integer from the environment variable name,
// or returns def when it is unset.
func benchEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchCount runs a COUNT(*) query on the reader pool.
func benchCount(b *testing.B, db *store.DB, query string, args ...any) int {
	b.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		b.Fatalf("count %q: %v", query, err)
	}
	return n
}
