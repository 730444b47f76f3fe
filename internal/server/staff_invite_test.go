package server

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

const (
	inviteEmail    = "new.nurse@example.test"
	invitePassword = "juniper lantern cobalt 58"
)

// welcomeForm is a filled welcome-page form.
func welcomeForm(path, password, again string) req {
	return formReq(path, url.Values{"password": {password}, "password_again": {again}}.Encode())
}

// TestStaffInviteAPI: only an administrator adds a staff member (another
// practice's user is not found); the new account has no password; the
// link arrives at the local SMTP peer, opens the welcome page and sets a
// password once; a resend kills the older link; a duplicate address is
// refused without repeating it; an expired link is dead; everything is
// audited and nothing personal is logged. Both databases.
func TestStaffInviteAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		mail := withInviteMail(t, w, testPublicURL)
		otherDept := &sotto.Department{OrgID: w.orgB, Name: "Other Practice Nursing"}
		if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.InsertDepartment(otherDept) }); err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"email": "New.Nurse@Example.TEST", "name": "Test Newnurse", "role": "nurse",
			"department_ids": []string{w.depts["Nursing"], w.depts["Nursing"]}}

		// Who may add staff.
		for _, role := range []string{"nurse", "provider", "front_desk", "compliance", "patient", "proxy"} {
			wantErr(t, role, w.do(role, jsonReq("POST", "/api/v1/users", body)), 403, "forbidden")
		}
		wantErr(t, "anonymous", w.do("anonymous", jsonReq("POST", "/api/v1/users", body)), 401, "unauthenticated")
		// Bad fields.
		for what, b := range map[string]map[string]any{
			"a patient role":             {"email": "x1@example.test", "name": "Test X", "role": "patient"},
			"no role":                    {"email": "x2@example.test", "name": "Test X"},
			"a bad address":              {"email": "not an address", "name": "Test X", "role": "nurse"},
			"no name":                    {"email": "x3@example.test", "role": "nurse"},
			"another practice's dept":    {"email": "x4@example.test", "name": "Test X", "role": "nurse", "department_ids": []string{otherDept.ID}},
			"an unknown department":      {"email": "x6@example.test", "name": "Test X", "role": "nurse", "department_ids": []string{"not-an-id"}},
			"a password (no such field)": {"email": "x5@example.test", "name": "Test X", "role": "nurse", "password": "juniper lantern cobalt 58"},
		} {
			wantErr(t, what, w.do("admin", jsonReq("POST", "/api/v1/users", b)), 400, "invalid")
		}

		// The administrator adds a nurse: no password anywhere.
		res := w.must("admin", jsonReq("POST", "/api/v1/users", body), 201)
		id, _ := res.body["id"].(string)
		if res.body["email"] != inviteEmail || res.body["role"] != "nurse" || res.body["invited"] != true || res.body["mfa_enrolled"] != false ||
			res.body["invite_expires_at"] == nil || strings.Contains(res.raw, "password") || strings.Contains(res.raw, "token") {
			t.Fatalf("created: %s", res.raw)
		}
		if depts, _ := res.body["department_ids"].([]any); len(depts) != 1 || depts[0] != w.depts["Nursing"] {
			t.Fatalf("departments: %s", res.raw)
		}
		var pw string
		if err := db.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&pw); err != nil || pw != "" {
			t.Fatalf("the new account has password hash %q (%v), want none", pw, err)
		}
		wantErr(t, "signing in before the password is set", w.do("anonymous", jsonReq("POST", "/api/v1/auth/login",
			map[string]string{"email": inviteEmail, "password": ""})), 401, "invalid_credentials")

		// The same address again, in any case: refused, not repeated.
		dup := w.do("admin", jsonReq("POST", "/api/v1/users", map[string]any{"email": "NEW.nurse@example.test", "name": "Test Other", "role": "billing"}))
		wantErr(t, "a duplicate address", dup, 409, "email_taken")
		if strings.Contains(strings.ToLower(dup.raw), "new.nurse") {
			t.Fatalf("the conflict repeats the address: %s", dup.raw)
		}
		wantErr(t, "an existing patient's address", w.do("admin", jsonReq("POST", "/api/v1/users",
			map[string]any{"email": "patient@example.test", "name": "Test Other", "role": "billing"})), 409, "email_taken")

		// The listing shows the invitation.
		list := w.must("admin", req{method: "GET", path: "/api/v1/users"}, 200)
		if !strings.Contains(list.raw, `"id":"`+id+`"`) || strings.Count(list.raw, `"invited":true`) != 1 {
			t.Fatalf("listing: %s", list.raw)
		}

		// The e-mail arrives at the local SMTP peer; the link is only there.
		first := mail.next()
		if first.To != inviteEmail || !strings.Contains(first.Subject, "Test Practice A") || !strings.Contains(first.Text, "Test Practice A") ||
			!strings.Contains(first.Text, "7 days") || !strings.HasPrefix(welcomeLink.FindString(first.Text), testPublicURL+"/welcome/") {
			t.Fatalf("e-mail to %s, %q:\n%s", first.To, first.Subject, first.Text)
		}
		oldLink := linkPath(t, first.Text)
		token := strings.TrimPrefix(oldLink, "/welcome/")
		var inJobs int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE CAST(args AS TEXT) LIKE $1`, "%"+token+"%").Scan(&inJobs); err != nil || inJobs != 0 {
			t.Fatalf("the link token is in %d jobs (%v)", inJobs, err)
		}

		// Resending: only administrators of the practice; the old link dies.
		wantErr(t, "a nurse resending", w.do("nurse", req{method: "POST", path: "/api/v1/users/" + id + "/invite"}), 403, "forbidden")
		wantErr(t, "another practice's admin", w.do("other_admin", req{method: "POST", path: "/api/v1/users/" + id + "/invite"}), 404, "not_found")
		wantErr(t, "a patient's account", w.do("admin", req{method: "POST", path: "/api/v1/users/" + w.users["patient"].ID + "/invite"}), 404, "not_found")
		wantErr(t, "an unknown id", w.do("admin", req{method: "POST", path: "/api/v1/users/not-an-id/invite"}), 404, "not_found")
		again := w.must("admin", req{method: "POST", path: "/api/v1/users/" + id + "/invite"}, 200)
		if again.body["user_id"] != id || again.body["invite_expires_at"] == nil {
			t.Fatalf("resend: %s", again.raw)
		}
		second := mail.next()
		newLink := linkPath(t, second.Text)
		if second.To != inviteEmail || newLink == oldLink {
			t.Fatalf("second e-mail to %s with link %s", second.To, newLink)
		}
		w.must("anonymous", req{method: "GET", path: oldLink}, 404)

		// The welcome page: the practice and the sign-in address, in a
		// strict-CSP page; policy violations are refused.
		page := w.must("anonymous", req{method: "GET", path: newLink}, 200)
		mustContain(t, "welcome page", page.raw, "Test Practice A", inviteEmail, `action="`+newLink+`"`)
		if page.header.Get("Content-Security-Policy") != pageCSP || page.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("welcome page headers %v", page.header)
		}
		for what, f := range map[string]struct{ pw, again, msg string }{
			"too short":          {"short pass", "short pass", "at least 12 characters"},
			"not the same twice": {invitePassword, invitePassword + "x", "not the same"},
			"the person's name":  {"newnurse garden 7788", "newnurse garden 7788", "does not contain your name"},
			"common":             {"password1234", "password1234", "too easy to guess"},
		} {
			r := w.do("anonymous", welcomeForm(newLink, f.pw, f.again))
			if r.status != 400 || !strings.Contains(r.raw, f.msg) || strings.Contains(r.raw, f.pw) {
				t.Fatalf("%s: %d\n%s", what, r.status, r.raw)
			}
		}

		// The right form sets the password once and sends them to sign in.
		done := w.must("anonymous", welcomeForm(newLink, invitePassword, invitePassword), 200)
		mustContain(t, "done page", done.raw, `href="/login"`, "Your password is saved")
		w.must("anonymous", welcomeForm(newLink, "another fine phrase 77", "another fine phrase 77"), 404)
		w.must("anonymous", req{method: "GET", path: newLink}, 404)
		wantErr(t, "the first sign-in", w.do("anonymous", jsonReq("POST", "/api/v1/auth/login",
			map[string]string{"email": inviteEmail, "password": invitePassword})), 401, "mfa_enrollment_required")
		list = w.must("admin", req{method: "GET", path: "/api/v1/users"}, 200)
		if strings.Contains(list.raw, `"invited":true`) {
			t.Fatalf("still invited after the password was set: %s", list.raw)
		}
		wantErr(t, "re-inviting an account with a password", w.do("admin", req{method: "POST", path: "/api/v1/users/" + id + "/invite"}), 409, "already_set_up")

		// Audited: the creation, the membership, both invitations by the
		// administrator; the password by its owner.
		for action, want := range map[string]int{sotto.AuditUserCreate: 1, sotto.AuditDepartmentMember: 1, sotto.AuditUserInvite: 2} {
			if n := countAudits(t, db, action, w.users["admin"].ID, id); n != want {
				t.Errorf("%s by the admin of the new user: %d, want %d", action, n, want)
			}
		}
		if n := countAudits(t, db, sotto.AuditPasswordChange, id, id); n != 1 {
			t.Errorf("password set audited %d times, want 1", n)
		}

		// An expired link is dead.
		res = w.must("admin", jsonReq("POST", "/api/v1/users", map[string]any{"email": "late.biller@example.test", "name": "Test Latebiller", "role": "billing"}), 201)
		late := linkPath(t, mail.next().Text)
		w.clock.Add(jobs.InviteDays*24*time.Hour + time.Minute)
		w.must("anonymous", req{method: "GET", path: late}, 404)
		w.must("anonymous", welcomeForm(late, invitePassword, invitePassword), 404)
		var latePw string
		if err := db.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE id = $1`, res.body["id"]).Scan(&latePw); err != nil || latePw != "" {
			t.Fatalf("an expired link set a password (%v)", err)
		}

		w.assertNoPHILogged()
		if log := w.log.String(); strings.Contains(log, inviteEmail) || strings.Contains(log, "Newnurse") || strings.Contains(log, token) {
			t.Fatalf("the server logged the new member's address, name or link:\n%s", log)
		}
	})
}

// countAudits counts successful audit entries of action by actor about
// user target.
func countAudits(t *testing.T, db *store.DB, action, actor, target string) int {
	t.Helper()
	var n int
	err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND actor_id = $2 AND target_type = 'user' AND target_id = $3 AND outcome = 'success'`,
		action, actor, target).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaffInviteNeedsEmail: without an e-mail channel nothing is created
// (channel_not_configured); the demo log channel stands in for it.
func TestStaffInviteNeedsEmail(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	body := map[string]any{"email": inviteEmail, "name": "Test Newnurse", "role": "nurse"}
	wantErr(t, "no notifier", w.do("admin", jsonReq("POST", "/api/v1/users", body)), 400, "channel_not_configured")
	w.withNotifier(jobs.Channels{}, "")
	wantErr(t, "no e-mail channel", w.do("admin", jsonReq("POST", "/api/v1/users", body)), 400, "channel_not_configured")
	wantErr(t, "resending without e-mail", w.do("admin", req{method: "POST", path: "/api/v1/users/" + w.users["billing"].ID + "/invite"}), 400, "channel_not_configured")
	if list := w.must("admin", req{method: "GET", path: "/api/v1/users"}, 200); strings.Contains(list.raw, inviteEmail) {
		t.Fatal("an account was created that nobody can reach")
	}
	w.withNotifier(jobs.Channels{Log: &jobs.Outbox{}}, "")
	res := w.must("admin", jsonReq("POST", "/api/v1/users", body), 201)
	var channel string
	if err := w.db.QueryRow(context.Background(), `SELECT channel FROM notifications WHERE user_id = $1 AND kind = $2`, res.body["id"], string(sotto.NotifyStaffInvitation)).Scan(&channel); err != nil || channel != "log" {
		t.Fatalf("the demo invitation went by %q (%v), want the log channel", channel, err)
	}
}

// TestStaffInviteWelcomeThrottle: unusable links answer one page, and a
// client address that keeps trying them is locked out (429, Retry-After).
func TestStaffInviteWelcomeThrottle(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	for i := 0; ; i++ {
		res := w.do("anonymous", req{method: "GET", path: "/welcome/guess-" + strings.Repeat("x", i%7+1)})
		if res.status == 429 {
			if i < welcomeFreeAttempts || res.header.Get("Retry-After") == "" || !strings.Contains(res.raw, "Too many attempts") {
				t.Fatalf("locked after %d tries, Retry-After %q:\n%s", i, res.header.Get("Retry-After"), res.raw)
			}
			break
		}
		if res.status != 404 || !strings.Contains(res.raw, `id="welcome-invalid"`) {
			t.Fatalf("try %d: %d\n%s", i, res.status, res.raw)
		}
		if i > welcomeFreeAttempts+2 {
			t.Fatal("unusable links are not throttled")
		}
	}
	// A form post from that address is refused too.
	if res := w.do("anonymous", welcomeForm("/welcome/another-guess", invitePassword, invitePassword)); res.status != 429 {
		t.Fatalf("post while locked: %d", res.status)
	}
}
