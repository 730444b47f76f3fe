package store_test

// Shared fixtures for the messaging tests (patients, conversations,
// messages, access, events). All data is obviously fake.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"sotto"
	"sotto/internal/store"
)

// mrnSeq makes default MRNs unique within a test binary.
var mrnSeq atomic.Int64

// mustWrite runs fn in a write and fails the test on error.
func mustWrite(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// newUser inserts a user of role in orgID with a unique fake e-mail.
func newUser(t *testing.T, db *store.DB, orgID string, role sotto.Role) *sotto.User {
	t.Helper()
	return newUserWith(t, db, &sotto.User{OrgID: orgID, Role: role})
}

// newUserWith inserts u, filling in a unique e-mail and a name if unset.
func newUserWith(t *testing.T, db *store.DB, u *sotto.User) *sotto.User {
	t.Helper()
	if u.Email == "" {
		u.Email = "test.user." + store.NewID() + "@example.test"
	}
	if u.Name == "" {
		u.Name = "Test " + strings.ReplaceAll(string(u.Role), "_", " ")
	}
	mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertUser(u, store.Credentials{}) })
	return u
}

// newDept inserts a department of orgID.
func newDept(t *testing.T, db *store.DB, orgID, name string) *sotto.Department {
	t.Helper()
	d := &sotto.Department{OrgID: orgID, Name: name}
	mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertDepartment(d) })
	return d
}

// addMember makes userID a member of deptID.
func addMember(t *testing.T, db *store.DB, deptID, userID string) {
	t.Helper()
	mustWrite(t, db, func(tx *store.Tx) error { return tx.AddDepartmentMember(deptID, userID) })
}

// testPatient returns a valid, not yet inserted patient of orgID with a
// unique MRN.
func testPatient(orgID string) *sotto.Patient {
	return &sotto.Patient{
		OrgID:      orgID,
		GivenName:  "Testy",
		FamilyName: "McTestface",
		BirthDate:  "1980-01-02",
		Sex:        sotto.SexUnknown,
		MRN:        fmt.Sprintf("TEST-%06d", mrnSeq.Add(1)),
		Language:   "en",
		TimeZone:   "America/Chicago",
	}
}

// newPatient inserts testPatient(orgID) after edit (which may be nil).
func newPatient(t *testing.T, db *store.DB, orgID string, edit func(*sotto.Patient)) *sotto.Patient {
	t.Helper()
	p := testPatient(orgID)
	if edit != nil {
		edit(p)
	}
	mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertPatient(p) })
	return p
}

// newConv inserts c (defaults: general category, a test subject) and
// returns the created event.
func newConv(t *testing.T, db *store.DB, c *sotto.Conversation) (*sotto.Conversation, *sotto.Event) {
	t.Helper()
	if c.Category == "" {
		c.Category = sotto.CategoryGeneral
	}
	if c.Subject == "" {
		c.Subject = "Test subject"
	}
	var ev *sotto.Event
	mustWrite(t, db, func(tx *store.Tx) (err error) { ev, err = tx.InsertConversation(c); return err })
	return c, ev
}

// sendMsg inserts m into conv for recipients (a fresh idempotency key when
// unset) and returns the message and its event.
func sendMsg(t *testing.T, db *store.DB, conv *sotto.Conversation, m *sotto.Message, recipients ...string) (*sotto.Message, *sotto.Event) {
	t.Helper()
	if m.IdempotencyKey == "" {
		m.IdempotencyKey = "key-" + store.NewID()
	}
	if m.SenderRole == "" {
		m.SenderRole = sotto.RoleNurse
	}
	var ev *sotto.Event
	var existing bool
	mustWrite(t, db, func(tx *store.Tx) (err error) {
		existing, ev, err = tx.InsertMessage(conv, m, recipients)
		return err
	})
	if existing || ev == nil {
		t.Fatalf("InsertMessage: existing = %v, event = %v; want a new message", existing, ev)
	}
	return m, ev
}

// newAttachment inserts an unlinked attachment.
func newAttachment(t *testing.T, db *store.DB, orgID, patientID, uploaderID, name string, data []byte) *sotto.Attachment {
	t.Helper()
	a := &sotto.Attachment{OrgID: orgID, PatientID: patientID, UploaderID: uploaderID, Name: name, ContentType: "application/pdf"}
	mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertAttachment(a, data) })
	return a
}

// wantErr fails unless err has kind (and code, when code is not empty).
func wantErr(t *testing.T, what string, err error, kind sotto.Kind, code string) {
	t.Helper()
	if sotto.ErrorKind(err) != kind {
		t.Fatalf("%s: err = %v, want kind %s", what, err, kind)
	}
	if code != "" && sotto.ErrorCode(err) != code {
		t.Fatalf("%s: err = %v (code %q), want code %q", what, err, sotto.ErrorCode(err), code)
	}
}

// count runs a COUNT(*) query on the reader pool.
func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

// sorted returns a sorted copy of ids.
func sorted(ids []string) []string {
	out := slices.Clone(ids)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return out
}

// sameIDs reports whether a and b hold the same ids, in any order.
func sameIDs(a, b []string) bool { return slices.Equal(sorted(a), sorted(b)) }

// patientIDs returns the ids of ps.
func patientIDs(ps []*sotto.Patient) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// convIDs returns the ids of cs.
func convIDs(cs []*sotto.Conversation) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
