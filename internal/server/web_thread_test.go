package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestThreadShowsStructuredRequests: the staff conversation page shows a
// refill's and an appointment request's fields as such.
func TestThreadShowsStructuredRequests(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
	var appt, refill sotto.Conversation
	unmarshal(t, w.must("patient", jsonReq("POST", "/api/v1/conversations", map[string]any{"patient_id": w.p1.ID, "subject": "Test visit",
		"category": "appointment", "department_id": w.depts["Nursing"],
		"appointment": map[string]any{"preferred_times": []string{"Test Monday morning", "Test Friday 3 pm"}}}), 201), &appt)
	unmarshal(t, w.must("patient", jsonReq("POST", "/api/v1/conversations", map[string]any{"patient_id": w.p1.ID, "subject": "Test refill",
		"category": "refill", "department_id": w.depts["Nursing"],
		"refill": map[string]any{"medication": "Testamycin", "dose": "10 mg", "pharmacy": "Test Pharmacy"}}), 201), &refill)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	if p := b.post("/login", url.Values{"email": {nurse.email}, "password": {nurse.password}, "code": {auth.TOTPCode(nurse.secret, w.clock.Now())}}); p.status != 303 {
		t.Fatalf("sign-in: %d", p.status)
	}
	for id, want := range map[string][]string{
		appt.ID:   {"<li>Test Monday morning</li>", "<li>Test Friday 3 pm</li>"},
		refill.ID: {"Testamycin", "10 mg", "Test Pharmacy"},
	} {
		p := b.get("/inbox/c/" + id)
		if p.status != 200 {
			t.Fatalf("thread %s: %d", id, p.status)
		}
		for _, s := range want {
			if !strings.Contains(p.body, s) {
				t.Errorf("thread %s lacks %q", id, s)
			}
		}
	}
}
