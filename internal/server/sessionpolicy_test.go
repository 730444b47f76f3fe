package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestOrganizationIdleTimeout: an admin shortens the staff logoff to 5
// minutes; a nurse idle for 6 is signed out (the default 15 would have
// kept them), the page countdown follows, and bad values are refused.
func TestOrganizationIdleTimeout(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	var got sessionPolicyBody
	unmarshal(t, w.must("admin", req{method: "GET", path: "/api/v1/session-policy"}, 200), &got)
	if got.StaffIdleMinutes != 15 || got.PatientIdleMinutes != 30 {
		t.Fatalf("defaults = %+v", got)
	}
	w.clock.Add(6 * time.Minute)
	w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 200) // 6 minutes idle: fine by default

	before := w.countAudit(w.orgA, sotto.AuditConfigChange)
	for _, bad := range []map[string]int{{"staff_idle_minutes": 45, "patient_idle_minutes": 30}, {"staff_idle_minutes": 5, "patient_idle_minutes": 1}} {
		w.must("admin", jsonReq("PUT", "/api/v1/session-policy", bad), 400)
	}
	w.must("nurse", jsonReq("PUT", "/api/v1/session-policy", map[string]int{"staff_idle_minutes": 5, "patient_idle_minutes": 20}), 403)
	w.must("admin", jsonReq("PUT", "/api/v1/session-policy", map[string]int{"staff_idle_minutes": 5, "patient_idle_minutes": 20}), 200)
	if w.countAudit(w.orgA, sotto.AuditConfigChange) != before+2 { // the nurse's refusal and the change
		t.Fatal("the change was not audited")
	}
	unmarshal(t, w.must("other_admin", req{method: "GET", path: "/api/v1/session-policy"}, 200), &got)
	if got.StaffIdleMinutes != 15 {
		t.Fatal("another organization's logoff changed")
	}

	nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	b.post("/login", url.Values{"email": {nurse.email}, "password": {nurse.password}, "code": {auth.TOTPCode(nurse.secret, w.clock.Now())}})
	if p := b.get("/inbox"); p.status != 200 || !strings.Contains(p.body, `data-idle="300"`) {
		t.Fatalf("inbox countdown: %d", p.status)
	}
	w.clock.Add(6 * time.Minute)
	w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 401)
	if p := b.get("/inbox"); p.status != 303 {
		t.Fatalf("the page after 6 idle minutes: %d, want the sign-in page", p.status)
	}
}
