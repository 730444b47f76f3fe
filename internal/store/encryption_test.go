package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/crypt"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// asciiLower lower-cases ASCII letters only, leaving every other byte (and
// the length) unchanged, so that binary data can be searched without case.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// dumpAllTables returns every value of every row of every table of db,
// concatenated: blobs and text as their bytes, anything else formatted.
func dumpAllTables(t *testing.T, db *store.DB) []byte {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if !slices.Contains(tables, "patients") || !slices.Contains(tables, "attachments") {
		t.Fatalf("table list looks wrong: %v", tables)
	}
	var out []byte
	for _, table := range tables {
		rows, err := db.Query(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out = append(out, v...)
				case string:
					out = append(out, v...)
				case nil:
				default:
					out = fmt.Append(out, v)
				}
				out = append(out, 0)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		rows.Close()
	}
	return out
}

// sqliteFile returns the path of db's main SQLite file.
func sqliteFile(t *testing.T, db *store.DB) string {
	t.Helper()
	rows, err := db.Query(context.Background(), `PRAGMA database_list`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name, file string
		if err := rows.Scan(&seq, &name, &file); err != nil {
			t.Fatal(err)
		}
		if name == "main" {
			return file
		}
	}
	t.Fatal("no main database in PRAGMA database_list")
	return ""
}

func TestEncryptionAtRestCanary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Canary Clinic")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		p := newPatient(t, db, o.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName = "Zqcanarygiven", "Zqcanaryfamily"
			p.Phone, p.Email, p.MRN = "+1 555 555 0199", "ZQCanary.Email@Example.TEST", "zqcanary-mrn-0001"
		})
		conv, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, Category: sotto.CategoryRefill,
			Subject: "Zqcanary subject line", CreatedBy: nurse.ID,
			Refill: &sotto.RefillRequest{Medication: "Zqcanarymedication", Dose: "Zqcanarydose", Pharmacy: "Zqcanarypharmacy"}})
		att := newAttachment(t, db, o.ID, p.ID, nurse.ID, "zqcanary-attachment-name.pdf", []byte("%PDF-1.4 zqcanary attachment bytes"))
		sendMsg(t, db, conv, &sotto.Message{SenderID: nurse.ID, Body: "Zqcanary message body", AttachmentIDs: []string{att.ID}})
		mustWrite(t, db, func(tx *store.Tx) error {
			return tx.InsertBreakGlass(&store.BreakGlass{OrgID: o.ID, UserID: nurse.ID, PatientID: p.ID,
				Reason: "Zqcanary break glass reason", ExpiresAt: time.Now().Add(time.Hour)})
		})
		// The data really is there, readable through the store.
		if got, err := db.Patient(ctx, o.ID, p.ID); err != nil || got.GivenName != "Zqcanarygiven" {
			t.Fatalf("read back: %v, %v", got, err)
		}
		canaries := []string{"zqcanarygiven", "zqcanaryfamily", "5555550199", "zqcanary.email", "zqcanary-mrn",
			"zqcanary subject", "zqcanarymedication", "zqcanarydose", "zqcanarypharmacy", "zqcanary message body",
			"zqcanary-attachment-name", "zqcanary attachment bytes", "zqcanary break glass", "zqcanary"}
		check := func(where string, b []byte) {
			t.Helper()
			if len(b) == 0 {
				t.Fatalf("%s: nothing to scan", where)
			}
			b = asciiLower(b)
			for _, c := range canaries {
				if strings.Contains(string(b), c) {
					t.Errorf("%s holds plaintext %q", where, c)
				}
			}
		}
		dump := dumpAllTables(t, db)
		// Sanity: the dump does contain the non-secret metadata.
		if !strings.Contains(string(dump), p.ID) || !strings.Contains(string(dump), "application/pdf") {
			t.Fatal("table dump misses known plaintext metadata: the scan is broken")
		}
		check("table dump", dump)
		if db.Dialect() != store.SQLite {
			return
		}
		path := sqliteFile(t, db)
		scanFiles := func(when string) {
			var all []byte
			for _, f := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
				b, err := os.ReadFile(f)
				if errors.Is(err, os.ErrNotExist) && f != path {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(b) > 0 || f == path {
					check(when+" "+f, b)
				}
				all = append(all, b...)
			}
			// Sanity: the files do hold the (plaintext) ids.
			if !strings.Contains(string(all), p.ID) || !strings.Contains(string(all), conv.ID) {
				t.Fatalf("%s the database files miss known plaintext ids: the scan is broken", when)
			}
		}
		scanFiles("open:")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		scanFiles("closed:")
	})
}

// copyCell overwrites column col of row toID in table with the value of
// row fromID, as an attacker with database access might.
func copyCell(t *testing.T, db *store.DB, table, idCol, col, fromID, toID string) {
	t.Helper()
	mustWrite(t, db, func(tx *store.Tx) error {
		res, err := tx.Exec(`UPDATE `+table+` SET `+col+` = (SELECT `+col+` FROM `+table+` WHERE `+idCol+` = $1) WHERE `+idCol+` = $2`, fromID, toID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("copy %s.%s: %d rows", table, col, n)
		}
		return nil
	})
}

// wantTampered fails unless err is KindInternal wrapping crypt.ErrTampered.
func wantTampered(t *testing.T, what string, err error) {
	t.Helper()
	if sotto.ErrorKind(err) != sotto.KindInternal || !errors.Is(err, crypt.ErrTampered) {
		t.Fatalf("%s: err = %v, want internal wrapping crypt.ErrTampered", what, err)
	}
}

func TestCiphertextsAreBoundToTheirRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Clinic")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		p1 := newPatient(t, db, o.ID, nil)
		p2 := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.GivenName = "Tessa" })
		p3 := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.GivenName = "Tobias" })

		// Warm the key cache, so that a cached data key cannot mask the
		// tampering.
		for _, p := range []*sotto.Patient{p1, p2, p3} {
			if _, err := db.Patient(ctx, o.ID, p.ID); err != nil {
				t.Fatal(err)
			}
		}

		// Demographics of one patient pasted into another's row.
		copyCell(t, db, "patients", "id", "demographics_enc", p1.ID, p2.ID)
		_, err := db.Patient(ctx, o.ID, p2.ID)
		wantTampered(t, "moved demographics", err)
		if got, err := db.Patient(ctx, o.ID, p1.ID); err != nil || got.GivenName != "Testy" {
			t.Fatalf("source patient: %v, %v", got, err)
		}
		// One patient's wrapped data key pasted into another's key row.
		copyCell(t, db, "patient_keys", "patient_id", "wrapped", p1.ID, p3.ID)
		_, err = db.Patient(ctx, o.ID, p3.ID)
		wantTampered(t, "moved data key", err)

		// Within one patient (same data key), the associated data still
		// binds each cell to its row and column.
		c1, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p1.ID, Subject: "Test subject one", CreatedBy: nurse.ID})
		c2, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p1.ID, Subject: "Test subject two", CreatedBy: nurse.ID,
			Category: sotto.CategoryRefill, Refill: &sotto.RefillRequest{Medication: "Testmedicine"}})
		c3, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p1.ID, Subject: "Test subject three", CreatedBy: nurse.ID})
		copyCell(t, db, "conversations", "id", "subject_enc", c1.ID, c3.ID)
		_, err = db.Conversation(ctx, o.ID, c3.ID)
		wantTampered(t, "moved subject", err)
		mustWrite(t, db, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE conversations SET details_enc = subject_enc WHERE id = $1`, c2.ID)
			return err
		})
		_, err = db.Conversation(ctx, o.ID, c2.ID)
		wantTampered(t, "subject pasted into details", err)
		if got, err := db.Conversation(ctx, o.ID, c1.ID); err != nil || got.Subject != "Test subject one" {
			t.Fatalf("untouched conversation: %v, %v", got, err)
		}
		// The inbox does not silently hide tampered rows.
		_, err = db.Conversations(ctx, store.ConversationFilter{OrgID: o.ID, Limit: 10}, func(*sotto.Conversation) bool { return true })
		wantTampered(t, "inbox with a tampered row", err)

		m1, _ := sendMsg(t, db, c1, &sotto.Message{SenderID: nurse.ID, Body: "Test body one"})
		m2, _ := sendMsg(t, db, c1, &sotto.Message{SenderID: nurse.ID, Body: "Test body two"})
		copyCell(t, db, "messages", "id", "body_enc", m1.ID, m2.ID)
		_, err = db.Message(ctx, o.ID, m2.ID)
		wantTampered(t, "moved message body", err)
		_, err = db.Messages(ctx, o.ID, c1.ID, store.MessagePage{Limit: 10})
		wantTampered(t, "message list with a moved body", err)
		if got, err := db.Message(ctx, o.ID, m1.ID); err != nil || got.Body != "Test body one" {
			t.Fatalf("untouched message: %v, %v", got, err)
		}

		a1 := newAttachment(t, db, o.ID, p1.ID, nurse.ID, "test-one.pdf", []byte("%PDF-1.4 test one"))
		a2 := newAttachment(t, db, o.ID, p1.ID, nurse.ID, "test-two.pdf", []byte("%PDF-1.4 test two"))
		copyCell(t, db, "attachments", "id", "data_enc", a1.ID, a2.ID)
		if got, _, err := db.Attachment(ctx, o.ID, a2.ID, false); err != nil || got.Name != "test-two.pdf" {
			t.Fatalf("attachment metadata without data: %v, %v", got, err)
		}
		_, _, err = db.Attachment(ctx, o.ID, a2.ID, true)
		wantTampered(t, "moved attachment bytes", err)
		copyCell(t, db, "attachments", "id", "name_enc", a1.ID, a2.ID)
		_, _, err = db.Attachment(ctx, o.ID, a2.ID, false)
		wantTampered(t, "moved attachment name", err)

		var grants [2]*store.BreakGlass
		for i := range grants {
			grants[i] = &store.BreakGlass{OrgID: o.ID, UserID: nurse.ID, PatientID: p1.ID, Reason: fmt.Sprintf("Test reason %d", i),
				ExpiresAt: time.Now().Add(time.Hour)}
			mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertBreakGlass(grants[i]) })
		}
		copyCell(t, db, "break_glass", "id", "reason_enc", grants[0].ID, grants[1].ID)
		_, err = db.BreakGlassGrants(ctx, o.ID, time.Time{}, 10)
		wantTampered(t, "moved break-glass reason", err)
	})
}

func TestShredPatient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		dept := newDept(t, db, o.ID, "Test Nursing")
		gone := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.Phone, p.Email = "+15555550123", "testy@example.test" })
		kept := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.Phone, p.Email = "+15555550123", "testy@example.test" })

		type world struct {
			conv  *sotto.Conversation
			msg   *sotto.Message
			att   *sotto.Attachment
			loose *sotto.Attachment // uploaded, never sent
		}
		build := func(p *sotto.Patient) world {
			var w world
			w.conv, _ = newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: dept.ID, CreatedBy: nurse.ID})
			w.att = newAttachment(t, db, o.ID, p.ID, nurse.ID, "test.pdf", []byte("%PDF-1.4 test"))
			w.loose = newAttachment(t, db, o.ID, p.ID, nurse.ID, "test-loose.pdf", []byte("%PDF-1.4 loose"))
			w.msg, _ = sendMsg(t, db, w.conv, &sotto.Message{SenderID: nurse.ID, Body: "Test body", AttachmentIDs: []string{w.att.ID}})
			mustWrite(t, db, func(tx *store.Tx) error {
				return tx.InsertBreakGlass(&store.BreakGlass{OrgID: o.ID, UserID: nurse.ID, PatientID: p.ID, Reason: "Test reason " + p.ID,
					ExpiresAt: time.Now().Add(time.Hour)})
			})
			return w
		}
		g, k := build(gone), build(kept)

		// A shred whose transaction rolls back destroys nothing (and its
		// cache eviction does not matter).
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ShredPatient(o.ID, gone.ID); err != nil {
				return err
			}
			return errors.New("audit failed")
		})
		if err == nil {
			t.Fatal("rolled-back shred reported success")
		}
		if got, err := db.Patient(ctx, o.ID, gone.ID); err != nil || got.GivenName != "Testy" {
			t.Fatalf("after a rolled-back shred: %v, %v", got, err)
		}

		// Another org cannot shred it.
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.ShredPatient(other.ID, gone.ID) })
		wantErr(t, "shred from another org", err, sotto.KindNotFound, "")
		mustWrite(t, db, func(tx *store.Tx) error { return tx.ShredPatient(o.ID, gone.ID) })

		shredded := func(what string, err error) {
			t.Helper()
			wantErr(t, what, err, sotto.KindNotFound, "shredded")
		}
		_, err = db.Patient(ctx, o.ID, gone.ID)
		shredded("Patient", err)
		_, err = db.Conversation(ctx, o.ID, g.conv.ID)
		shredded("Conversation", err)
		_, err = db.Messages(ctx, o.ID, g.conv.ID, store.MessagePage{Limit: 10})
		shredded("Messages", err)
		_, err = db.Message(ctx, o.ID, g.msg.ID)
		shredded("Message", err)
		for _, a := range []*sotto.Attachment{g.att, g.loose} {
			_, _, err = db.Attachment(ctx, o.ID, a.ID, false)
			shredded("Attachment", err)
			_, _, err = db.Attachment(ctx, o.ID, a.ID, true)
			shredded("Attachment data", err)
		}
		// Nothing new can be sealed for it.
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertConversation(&sotto.Conversation{OrgID: o.ID, PatientID: gone.ID, Subject: "Test",
				Category: sotto.CategoryGeneral, CreatedBy: nurse.ID})
			return err
		})
		wantErr(t, "InsertConversation for a shredded patient", err, sotto.KindNotFound, "")
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.InsertMessage(g.conv, &sotto.Message{SenderID: nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test", IdempotencyKey: "k-shred"}, nil)
			return err
		})
		wantErr(t, "InsertMessage for a shredded patient", err, sotto.KindNotFound, "")
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertAttachment(&sotto.Attachment{OrgID: o.ID, PatientID: gone.ID, UploaderID: nurse.ID, Name: "x.pdf", ContentType: "application/pdf"}, []byte("x"))
		})
		wantErr(t, "InsertAttachment for a shredded patient", err, sotto.KindNotFound, "")
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertBreakGlass(&store.BreakGlass{OrgID: o.ID, UserID: nurse.ID, PatientID: gone.ID, Reason: "Test", ExpiresAt: time.Now().Add(time.Hour)})
		})
		wantErr(t, "InsertBreakGlass for a shredded patient", err, sotto.KindNotFound, "")

		// Search no longer finds it, by any key; the other patient is found.
		for _, q := range []string{"testy", "mctestface", "testy mctestface", gone.MRN, "+15555550123", "testy@example.test", "1980-01-02"} {
			found, err := db.FindPatients(ctx, o.ID, q, 10)
			if err != nil {
				t.Fatalf("FindPatients(%q) after shred: %v", q, err)
			}
			ids := patientIDs(found)
			if slices.Contains(ids, gone.ID) {
				t.Fatalf("FindPatients(%q) still finds the shredded patient", q)
			}
			if q != gone.MRN && !slices.Contains(ids, kept.ID) {
				t.Fatalf("FindPatients(%q) lost the other patient: %v", q, ids)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM patient_search WHERE patient_id = $1`, gone.ID); n != 0 {
			t.Fatalf("%d search tokens survive the shred", n)
		}

		// The inbox skips the shredded thread and still shows the other.
		page, err := db.Conversations(ctx, store.ConversationFilter{OrgID: o.ID, Limit: 10}, func(*sotto.Conversation) bool { return true })
		if err != nil || !slices.Equal(convIDs(page.Conversations), []string{k.conv.ID}) {
			t.Fatalf("inbox after shred: %v, %v", page, err)
		}
		// Break-glass history survives, with the erased reason empty.
		grants, err := db.BreakGlassGrants(ctx, o.ID, time.Time{}, 10)
		if err != nil || len(grants) != 2 {
			t.Fatalf("BreakGlassGrants after shred: %v, %v", grants, err)
		}
		for _, gr := range grants {
			switch gr.PatientID {
			case gone.ID:
				if gr.Reason != "" {
					t.Fatal("a shredded patient's break-glass reason is still readable")
				}
			case kept.ID:
				if gr.Reason != "Test reason "+kept.ID {
					t.Fatalf("kept reason = %q", gr.Reason)
				}
			}
		}

		// The other patient is untouched.
		if got, err := db.Patient(ctx, o.ID, kept.ID); err != nil || got.GivenName != "Testy" {
			t.Fatalf("other patient: %v, %v", got, err)
		}
		if got, err := db.Conversation(ctx, o.ID, k.conv.ID); err != nil || got.Subject != "Test subject" {
			t.Fatalf("other conversation: %v, %v", got, err)
		}
		if ms, err := db.Messages(ctx, o.ID, k.conv.ID, store.MessagePage{Limit: 10}); err != nil || len(ms) != 1 || ms[0].Body != "Test body" {
			t.Fatalf("other messages: %v, %v", ms, err)
		}
		if _, data, err := db.Attachment(ctx, o.ID, k.att.ID, true); err != nil || string(data) != "%PDF-1.4 test" {
			t.Fatalf("other attachment: %q, %v", data, err)
		}

		// Shredding again, or an unknown patient, is not found.
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.ShredPatient(o.ID, gone.ID) })
		wantErr(t, "second shred", err, sotto.KindNotFound, "")
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.ShredPatient(o.ID, store.NewID()) })
		wantErr(t, "shred of an unknown patient", err, sotto.KindNotFound, "")
	})
}

// TestShredEvictsKeyRecachedBeforeCommit: ShredPatient must leave no
// unwrapped copy of the destroyed data key in the keyring cache once the
// shred has committed. A read that runs between ShredPatient and the
// commit (any concurrent request: the row is still visible to readers)
// re-caches the key. This test builds its stores directly, because it needs
// its own keyring to observe the cache; it covers both dialects like
// storetest.Each.
func TestShredEvictsKeyRecachedBeforeCommit(t *testing.T) {
	for _, d := range []struct {
		name string
		open func(testing.TB, store.Options) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			kr := storetest.Keyring(t)
			db := d.open(t, store.Options{Keys: kr})
			o := mustOrg(t, db, "Test Clinic")
			p := newPatient(t, db, o.ID, nil)
			if _, err := db.Patient(ctx, o.ID, p.ID); err != nil {
				t.Fatal(err)
			}
			cached := kr.Len() // the org key and p's data key

			// A shred with no concurrent reader evicts the data key.
			q := newPatient(t, db, o.ID, nil)
			if _, err := db.Patient(ctx, o.ID, q.ID); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, db, func(tx *store.Tx) error { return tx.ShredPatient(o.ID, q.ID) })
			if n := kr.Len(); n != cached {
				t.Fatalf("after a plain shred the cache holds %d keys, want %d", n, cached)
			}

			// A reader between ShredPatient and the commit.
			var readErr error
			mustWrite(t, db, func(tx *store.Tx) error {
				if err := tx.ShredPatient(o.ID, p.ID); err != nil {
					return err
				}
				_, readErr = db.Patient(ctx, o.ID, p.ID) // still sees the key row
				return nil
			})
			if readErr != nil {
				t.Fatalf("read before the shred committed: %v", readErr)
			}
			_, err := db.Patient(ctx, o.ID, p.ID)
			wantErr(t, "read after the shred", err, sotto.KindNotFound, "shredded")
			// Regression: ShredPatient once forgot the key only before its
			// commit, so a read in between re-cached the destroyed key.
			if n := kr.Len(); n != cached-1 {
				t.Fatalf("after the shred committed the keyring caches %d keys, want %d: the destroyed data key is still cached", n, cached-1)
			}
		})
	}
}
