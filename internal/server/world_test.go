package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// world is a practice with every kind of user, two patients and a
// conversation, plus a second practice, served by a real Server.
//
// Org A: departments Nursing (nurse, provider), Front Desk (front_desk,
// admin) and Billing (billing); compliance in none. Patient 1 (portal user
// "patient", proxy "proxy") has the provider on the care team and is in
// Nursing; patient 2 has no care team and no department. conv1 is a general
// conversation of patient 1 in Nursing with one message from the nurse and
// one internal note. Org B has an admin ("other_admin").
type world struct {
	t      testing.TB
	db     *store.DB
	clock  *fakeClock
	srv    *Server
	orgA   string
	orgB   string
	depts  map[string]string // name → id
	users  map[string]*sotto.User
	tokens map[string]string
	p1, p2 *sotto.Patient
	conv1  *sotto.Conversation
	msg1   *sotto.Message
	note1  *sotto.Message
	att1   *sotto.Attachment
	log    lockedBuffer // everything the server logged
}

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// phiCanaries are personal data of the world that must never be logged.
var phiCanaries = []string{"Testy", "McTestface", "1980-04-02", "+15555550123", "testy@example.test", "TEST-0001",
	"Fakey", "Test subject canary", "Test body canary", "Test question", "Test reply", "internal note", "test.pdf"}

// assertNoPHILogged fails when the server's log holds any canary.
func (w *world) assertNoPHILogged() {
	w.t.Helper()
	log := w.log.String()
	if !strings.Contains(log, `"route"`) {
		w.t.Fatalf("the server logged no requests: the PHI check would prove nothing")
	}
	for _, c := range phiCanaries {
		if strings.Contains(log, c) {
			w.t.Fatalf("the server logged personal data %q:\n%s", c, log)
		}
	}
}

// worldRoles are the callers the route matrix covers, in order.
var worldRoles = []string{"admin", "provider", "nurse", "front_desk", "billing", "compliance", "patient", "proxy", "other_admin", "anonymous"}

func newWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	w := &world{t: t, db: db, clock: &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		depts: map[string]string{}, users: map[string]*sotto.User{}, tokens: map[string]string{}}
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		a, b := &sotto.Org{Name: "Test Practice A"}, &sotto.Org{Name: "Test Practice B"}
		if err := tx.InsertOrg(a); err != nil {
			return err
		}
		if err := tx.InsertOrg(b); err != nil {
			return err
		}
		w.orgA, w.orgB = a.ID, b.ID
		for _, n := range []string{"Nursing", "Front Desk", "Billing"} {
			d := &sotto.Department{OrgID: a.ID, Name: n}
			if err := tx.InsertDepartment(d); err != nil {
				return err
			}
			w.depts[n] = d.ID
		}
		add := func(key string, org string, role sotto.Role, dept string) error {
			u := &sotto.User{OrgID: org, Role: role, Email: strings.ReplaceAll(key, "_", "-") + "@example.test", Name: "Test " + key}
			if err := tx.InsertUser(u, store.Credentials{}); err != nil {
				return err
			}
			w.users[key] = u
			if dept != "" {
				return tx.AddDepartmentMember(w.depts[dept], u.ID)
			}
			return nil
		}
		for _, u := range []struct {
			key  string
			role sotto.Role
			dept string
		}{{"admin", sotto.RoleAdmin, "Front Desk"}, {"provider", sotto.RoleProvider, "Nursing"}, {"nurse", sotto.RoleNurse, "Nursing"},
			{"front_desk", sotto.RoleFrontDesk, "Front Desk"}, {"billing", sotto.RoleBilling, "Billing"}, {"compliance", sotto.RoleCompliance, ""},
			{"patient", sotto.RolePatient, ""}, {"proxy", sotto.RoleProxy, ""}} {
			if err := add(u.key, a.ID, u.role, u.dept); err != nil {
				return err
			}
		}
		if err := add("other_admin", b.ID, sotto.RoleAdmin, ""); err != nil {
			return err
		}
		w.p1 = &sotto.Patient{OrgID: a.ID, GivenName: "Testy", FamilyName: "McTestface", BirthDate: "1980-04-02", Sex: sotto.SexFemale,
			MRN: "TEST-0001", Phone: "+15555550123", Email: "testy@example.test", Language: "en", TimeZone: "America/Chicago",
			CareTeamUserIDs: []string{w.users["provider"].ID}, DepartmentIDs: []string{w.depts["Nursing"]}, UserID: w.users["patient"].ID}
		if err := tx.InsertPatient(w.p1); err != nil {
			return err
		}
		w.p2 = &sotto.Patient{OrgID: a.ID, GivenName: "Fakey", FamilyName: "Doe-Test", BirthDate: "1975-01-31", MRN: "TEST-0002",
			Language: "es", TimeZone: "America/New_York"}
		if err := tx.InsertPatient(w.p2); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO patient_proxies (patient_id, user_id, relationship, created_at) VALUES ($1, $2, 'parent', 0)`,
			w.p1.ID, w.users["proxy"].ID); err != nil {
			return err
		}
		w.conv1 = &sotto.Conversation{OrgID: a.ID, PatientID: w.p1.ID, DepartmentID: w.depts["Nursing"], Subject: "Test subject canary",
			Category: sotto.CategoryGeneral, CreatedBy: w.users["nurse"].ID}
		if _, err := tx.InsertConversation(w.conv1); err != nil {
			return err
		}
		w.msg1 = &sotto.Message{Body: "Test body canary", IdempotencyKey: "seed-1", SenderID: w.users["nurse"].ID, SenderRole: sotto.RoleNurse}
		if _, _, err := tx.InsertMessage(w.conv1, w.msg1, []string{w.users["patient"].ID, w.users["proxy"].ID}); err != nil {
			return err
		}
		w.note1 = &sotto.Message{Body: "Test internal note", IdempotencyKey: "seed-2", Internal: true, SenderID: w.users["nurse"].ID, SenderRole: sotto.RoleNurse}
		if _, _, err := tx.InsertMessage(w.conv1, w.note1, nil); err != nil {
			return err
		}
		w.att1 = &sotto.Attachment{OrgID: a.ID, PatientID: w.p1.ID, UploaderID: w.users["nurse"].ID, Name: "test.pdf", ContentType: "application/pdf"}
		if err := tx.InsertAttachment(w.att1, []byte("%PDF-1.4\n%%EOF\n")); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE attachments SET message_id = $1 WHERE id = $2`, w.msg1.ID, w.att1.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range w.users {
		w.tokens[key] = w.newToken(key)
	}
	w.srv = New(db, slog.New(slog.NewJSONHandler(&w.log, &slog.HandlerOptions{Level: slog.LevelDebug})), Config{Now: w.clock.Now, PasswordParams: auth.TestParams})
	t.Cleanup(w.srv.Close)
	return w
}

// newToken signs user key in (directly in the store) and returns a token.
func (w *world) newToken(key string) string {
	w.t.Helper()
	tok, hash, err := auth.NewToken()
	if err != nil {
		w.t.Fatal(err)
	}
	u := w.users[key]
	now := w.clock.Now()
	err = w.db.Write(context.Background(), func(tx *store.Tx) error {
		return tx.InsertSession(hash, u.ID, u.OrgID, now, now.Add(12*time.Hour))
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// req is one request of a test.
type req struct {
	method, path string
	body         string
	contentType  string
	token        string
}

// jsonReq builds a JSON request.
func jsonReq(method, path string, body any) req {
	r := req{method: method, path: path}
	if body != nil {
		b, _ := json.Marshal(body)
		r.body, r.contentType = string(b), "application/json"
	}
	return r
}

// multipartReq builds an attachment upload.
func multipartReq(convID, name string, data []byte) req {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("conversation_id", convID)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return req{method: "POST", path: "/api/v1/attachments", body: buf.String(), contentType: mw.FormDataContentType()}
}

// do serves r through the server as role (a world user key, or
// "anonymous").
func (w *world) do(role string, r req) result {
	w.t.Helper()
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	tok := r.token
	if tok == "" {
		tok = w.tokens[role]
	}
	if tok != "" {
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, hr)
	res := result{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			w.t.Fatalf("%s %s: body is not JSON: %q", r.method, r.path, rec.Body.String())
		}
	}
	return res
}

// must serves r as role and fails the test unless the status is want.
func (w *world) must(role string, r req, want int) result {
	w.t.Helper()
	res := w.do(role, r)
	if res.status != want {
		w.t.Fatalf("%s %s as %s: %d %s, want %d", r.method, r.path, role, res.status, res.raw, want)
	}
	return res
}

// seedMessage stores a message in conv1 written by userID (directly in the
// store, bypassing access control) and returns it.
func (w *world) seedMessage(userID string, role sotto.Role, key string) *sotto.Message {
	w.t.Helper()
	m := &sotto.Message{Body: "Seeded test message", IdempotencyKey: key, SenderID: userID, SenderRole: role}
	err := w.db.Write(context.Background(), func(tx *store.Tx) error {
		_, _, err := tx.InsertMessage(w.conv1, m, nil)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}
