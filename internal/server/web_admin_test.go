package server

import (
	"context"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// matrixForm is the admin console's permission form for matrix p, as a
// browser posts it.
func matrixForm(p sotto.Permissions) url.Values {
	f := url.Values{"matrix": {"1"}}
	for role, cats := range p {
		for cat, acts := range cats {
			for _, a := range acts {
				f.Add("perm", permValue(role, cat, a))
			}
		}
	}
	return f
}

// signInStaff signs sl in through the sign-in page, with password and
// authenticator code.
func (b *browserClient) signInStaff(w *world, sl *staffLogin) {
	b.t.Helper()
	p := b.post("/login", url.Values{"email": {sl.email}, "password": {sl.password}, "code": {auth.TOTPCode(sl.secret, w.clock.Now())}})
	if loc := p.header.Get("Location"); p.status != 303 || !strings.HasPrefix(loc, "/") || loc == "/login" {
		b.t.Fatalf("sign-in of %s: %d %q", sl.email, p.status, p.header.Get("Location"))
	}
}

// serveWorld serves w's server over HTTP until the test ends and returns
// its base URL.
func serveWorld(t *testing.T, w *world) string {
	t.Helper()
	ts := httptest.NewServer(w.srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// adminConsole is a world with an administrator signed in to the console
// in a browser without JavaScript.
func adminConsole(t *testing.T, w *world) (*browserClient, *staffLogin) {
	t.Helper()
	admin := addStaffLogin(t, w, "admin_two", sotto.RoleAdmin, "Front Desk")
	b := newBrowserClient(t, serveWorld(t, w))
	b.signInStaff(w, admin)
	return b, admin
}

// staffIDs lists the ids GET /api/v1/users answers, with each one's
// disabled flag and department ids.
func staffIDs(t *testing.T, w *world) map[string]store.StaffMember {
	t.Helper()
	var list struct {
		Users []store.StaffMember `json:"users"`
	}
	unmarshal(t, w.must("admin", req{method: "GET", path: "/api/v1/users"}, 200), &list)
	out := map[string]store.StaffMember{}
	for _, u := range list.Users {
		out[u.ID] = u
	}
	return out
}

// TestAdminUsersWithoutJavaScript: an administrator sees the practice's
// staff (never its patients), disables a nurse (whose next API call is
// refused at once), enables them again, signs the billing user out
// everywhere; another practice's user is not found, a forged cross-site
// form is refused, and every change is audited.
func TestAdminUsersWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		b, admin := adminConsole(t, w)
		nurse, billing := w.users["nurse"], w.users["billing"]

		p := b.get("/admin")
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("overview: %d %v", p.status, p.header)
		}
		mustContain(t, "overview", p.body, `id="nav-admin" aria-current="page"`, `href="/admin/users"`, "Active: 7",
			"Queues in the inbox: 3", "Nothing failed in the last 7 days.", `data-idle="`)

		p = b.get("/admin/users")
		mustContain(t, "staff page", p.body, `id="user-`+nurse.ID+`"`, "Test nurse", "nurse@example.test", "Nursing",
			`action="/admin/users/`+nurse.ID+`/status"`, `action="/admin/users/`+billing.ID+`/sessions"`, "This is you", "Not set up yet", "Set up")
		mustNotContain(t, "staff page", p.body, w.users["patient"].ID, w.users["proxy"].ID, w.users["other_admin"].ID, `action="/admin/users/`+admin.user.ID)
		list := staffIDs(t, w)
		if len(list) != 7 || !slices.Equal(list[nurse.ID].DepartmentIDs, []string{w.depts["Nursing"]}) || !list[admin.user.ID].MFAEnrolled {
			t.Fatalf("GET /api/v1/users = %+v", list)
		}
		if _, ok := list[w.users["patient"].ID]; ok {
			t.Fatal("the staff list holds a patient")
		}

		// Disable the nurse: their live session ends at once.
		w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 200)
		before := auditActions(t, db, admin.user.ID)
		p = b.post("/admin/users/"+nurse.ID+"/status", url.Values{"disabled": {"1"}})
		if p.status != 303 || p.header.Get("Location") != "/admin/users?done=disabled#user-"+nurse.ID {
			t.Fatalf("disable: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 401)
		if !staffIDs(t, w)[nurse.ID].Disabled {
			t.Fatal("the nurse is not disabled")
		}
		p = b.get("/admin/users?done=disabled")
		mustContain(t, "staff page after disabling", p.body, "is disabled and signed out everywhere", `<tr id="user-`+nurse.ID+`" class="off">`, "Enable again")

		// Enable them again: they can sign in again.
		if p = b.post("/admin/users/"+nurse.ID+"/status", url.Values{"disabled": {"0"}}); p.status != 303 {
			t.Fatalf("enable: %d %s", p.status, p.body)
		}
		w.tokens["nurse"] = w.newToken("nurse")
		w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 200)

		// Sign the billing user out everywhere: sessions end, the account stays.
		w.must("billing", req{method: "GET", path: "/api/v1/me"}, 200)
		if p = b.post("/admin/users/"+billing.ID+"/sessions", nil); p.status != 303 || !strings.Contains(p.header.Get("Location"), "done=signed_out") {
			t.Fatalf("sign out everywhere: %d %q", p.status, p.header.Get("Location"))
		}
		w.must("billing", req{method: "GET", path: "/api/v1/me"}, 401)
		if staffIDs(t, w)[billing.ID].Disabled {
			t.Fatal("signing out everywhere disabled the account")
		}
		after := auditActions(t, db, admin.user.ID)
		for action, n := range map[string]int{sotto.AuditUserDisable: 1, sotto.AuditUserUpdate: 1, sotto.AuditSignOut: 1} {
			if after[action]-before[action] != n {
				t.Errorf("%s entries: %d → %d, want %d more", action, before[action], after[action], n)
			}
		}

		// Another practice's user is not found; one's own account cannot be
		// disabled; a cross-site form changes nothing.
		other := w.users["other_admin"].ID
		for _, path := range []string{"/admin/users/" + other + "/status", "/admin/users/" + other + "/sessions", "/admin/users/not-an-id/status"} {
			if p = b.post(path, url.Values{"disabled": {"1"}}); p.status != 404 || !strings.Contains(p.body, "does not exist") {
				t.Errorf("%s: %d", path, p.status)
			}
		}
		w.must("other_admin", req{method: "GET", path: "/api/v1/me"}, 200)
		if p = b.post("/admin/users/"+admin.user.ID+"/status", url.Values{"disabled": {"1"}}); p.status != 400 {
			t.Fatalf("disabling oneself: %d", p.status)
		}
		p = b.do("POST", "/admin/users/"+nurse.ID+"/status", url.Values{"disabled": {"1"}},
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"})
		if p.status != 403 || staffIDs(t, w)[nurse.ID].Disabled {
			t.Fatalf("cross-site disable: %d", p.status)
		}
		w.assertNoPHILogged()
	})
}

// TestAdminPagesRefuseOtherRoles: a nurse signed in through the pages has
// no Admin entry and gets the 403 page (audited) on every console page and
// form; a patient gets the staff-only page.
func TestAdminPagesRefuseOtherRoles(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
	b := newBrowserClient(t, serveWorld(t, w))
	b.signInStaff(w, nurse)
	if p := b.get("/inbox"); p.status != 200 || strings.Contains(p.body, `href="/admin"`) {
		t.Fatalf("the nurse's inbox offers the admin console (%d)", p.status)
	}
	before := auditActions(t, w.db, nurse.user.ID)
	for _, path := range []string{"/admin", "/admin/users", "/admin/departments", "/admin/permissions", "/admin/notifications"} {
		p := b.get(path)
		if p.status != 403 || p.header.Get("Cache-Control") != "no-store" || !strings.Contains(p.body, "Not allowed") {
			t.Errorf("GET %s as a nurse: %d", path, p.status)
		}
	}
	perms := matrixForm(sotto.Permissions{sotto.RoleNurse: {sotto.CategoryGeneral: {sotto.ActionExport}}})
	if p := b.post("/admin/permissions", perms); p.status != 403 {
		t.Fatalf("POST /admin/permissions as a nurse: %d", p.status)
	}
	if p := b.post("/admin/users/"+w.users["provider"].ID+"/status", url.Values{"disabled": {"1"}}); p.status != 403 {
		t.Fatalf("disable as a nurse: %d", p.status)
	}
	w.must("provider", req{method: "GET", path: "/api/v1/me"}, 200)
	var denied int
	if err := w.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE actor_id = $1 AND outcome = 'denied'`, nurse.user.ID).Scan(&denied); err != nil {
		t.Fatal(err)
	}
	if after := auditActions(t, w.db, nurse.user.ID); denied != 7 || after[sotto.AuditPermissionChange] != before[sotto.AuditPermissionChange]+2 {
		t.Fatalf("denied entries = %d, want 7 (%v)", denied, after)
	}
	pb := newBrowserClient(t, b.base)
	pb.signInAs(w, "patient")
	if p := pb.get("/admin"); p.status != 403 || !strings.Contains(p.body, "practice staff only") {
		t.Fatalf("a patient on /admin: %d", p.status)
	}
}

// permBoxes reads the permission checkboxes of the page: value → checked.
func permBoxes(t *testing.T, body string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`name="perm" value="([a-z_.]+)"( checked)?`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2] != ""
	}
	if len(out) == 0 {
		t.Fatalf("no permission checkboxes in:\n%s", body)
	}
	return out
}

// TestAdminPermissionsPage: the matrix saved from the page (as a browser
// posts it: the boxes ticked) is what GET /api/v1/permissions answers and
// what access decisions use; the change is audited; a form that does not
// hold a whole, valid matrix changes nothing.
func TestAdminPermissionsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		b, admin := adminConsole(t, w)
		p := b.get("/admin/permissions")
		boxes := permBoxes(t, p.body)
		// 6 roles x 8 categories x 5 actions, and share_lab_result on lab results.
		if len(boxes) != 6*8*5+6 || !boxes["nurse.general.read"] || boxes["front_desk.lab_result.read"] || boxes["nurse.general.share_lab_result"] {
			t.Fatalf("%d checkboxes: %v", len(boxes), boxes)
		}
		mustContain(t, "permissions page", p.body, `<label class="cell" for="p-nurse-general-read">`, "Nurse, Question: Read", "<caption>Lab result</caption>")

		// The front desk may read lab results, the nurse may no longer reply to questions.
		boxes["front_desk.lab_result.read"], boxes["nurse.general.reply"] = true, false
		form := url.Values{"matrix": {"1"}}
		for v, on := range boxes {
			if on {
				form.Add("perm", v)
			}
		}
		before := auditActions(t, db, admin.user.ID)[sotto.AuditPermissionChange]
		if p = b.post("/admin/permissions", form); p.status != 303 || p.header.Get("Location") != "/admin/permissions?done=permissions_saved" {
			t.Fatalf("save: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		if after := auditActions(t, db, admin.user.ID)[sotto.AuditPermissionChange]; after != before+1 {
			t.Fatalf("permission.change entries %d → %d", before, after)
		}
		var got permissionsBody
		unmarshal(t, w.must("compliance", req{method: "GET", path: "/api/v1/permissions"}, 200), &got)
		if !got.Permissions.Allows(sotto.RoleFrontDesk, sotto.CategoryLabResult, sotto.ActionRead) ||
			got.Permissions.Allows(sotto.RoleNurse, sotto.CategoryGeneral, sotto.ActionReply) ||
			!got.Permissions.Allows(sotto.RoleNurse, sotto.CategoryGeneral, sotto.ActionRead) {
			t.Fatalf("GET /api/v1/permissions after the page saved = %v", got.Permissions)
		}
		w.must("nurse", jsonReq("POST", "/api/v1/conversations/"+w.conv1.ID+"/messages",
			map[string]string{"body": "Test reply refused", "idempotency_key": "perm-page-1"}), 403)
		p = b.get("/admin/permissions?done=permissions_saved")
		if boxes := permBoxes(t, p.body); !boxes["front_desk.lab_result.read"] || boxes["nurse.general.reply"] {
			t.Fatal("the page does not show the saved matrix")
		}
		mustContain(t, "permissions page", p.body, "The permissions are saved.")

		// A partial or invalid form changes nothing.
		for _, bad := range []url.Values{{"perm": {"nurse.general.read"}}, {"matrix": {"1"}, "perm": {"nurse.general.fly"}},
			{"matrix": {"1"}, "perm": {"patient.general.read"}}, {"matrix": {"1"}, "perm": {"nurse.general.share_lab_result"}}} {
			if p = b.post("/admin/permissions", bad); p.status != 400 {
				t.Errorf("form %v: %d", bad, p.status)
			}
		}
		unmarshal(t, w.must("admin", req{method: "GET", path: "/api/v1/permissions"}, 200), &got)
		if !got.Permissions.Allows(sotto.RoleFrontDesk, sotto.CategoryLabResult, sotto.ActionRead) {
			t.Fatal("a refused form changed the matrix")
		}
	})
}

// TestAdminDepartmentsPage: members are listed, added and removed
// (audited, effective at once in the user's scope); another practice's
// department or user is not found and a patient cannot be a member.
func TestAdminDepartmentsPage(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	b, admin := adminConsole(t, w)
	nursing, comp := w.depts["Nursing"], w.users["compliance"]
	p := b.get("/admin/departments")
	mustContain(t, "departments page", p.body, `id="dept-`+nursing+`"`, "Test nurse", "Test provider", `<option value="`+comp.ID+`">Test compliance (Compliance)</option>`)
	before := auditActions(t, w.db, admin.user.ID)[sotto.AuditDepartmentMember]
	member := func(op, dept, user string) pageAnswer {
		return b.post("/admin/departments/"+dept+"/members", url.Values{"op": {op}, "user_id": {user}})
	}
	if p = member("add", nursing, comp.ID); p.status != 303 || p.header.Get("Location") != "/admin/departments?done=member_added#dept-"+nursing {
		t.Fatalf("add: %d %q", p.status, p.header.Get("Location"))
	}
	if !slices.Contains(staffIDs(t, w)[comp.ID].DepartmentIDs, nursing) {
		t.Fatal("the member was not added")
	}
	if p = member("remove", nursing, w.users["nurse"].ID); p.status != 303 {
		t.Fatalf("remove: %d %s", p.status, p.body)
	}
	if ids, _ := w.db.DepartmentMembers(context.Background(), nursing); slices.Contains(ids, w.users["nurse"].ID) {
		t.Fatal("the member was not removed")
	}
	// Leaving the department takes the nurse out of its queue at once.
	w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 403)
	if after := auditActions(t, w.db, admin.user.ID)[sotto.AuditDepartmentMember]; after != before+2 {
		t.Fatalf("department.member entries %d → %d", before, after)
	}
	var other string
	if err := w.db.Write(context.Background(), func(tx *store.Tx) error {
		d := &sotto.Department{OrgID: w.orgB, Name: "Test Other Dept"}
		err := tx.InsertDepartment(d)
		other = d.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dept, user string
		want       int
	}{{other, comp.ID, 404}, {nursing, w.users["other_admin"].ID, 404}, {store.NewID(), comp.ID, 404}, {nursing, w.users["patient"].ID, 400}} {
		if p = member("add", c.dept, c.user); p.status != c.want {
			t.Errorf("add %s to %s: %d, want %d", c.user, c.dept, p.status, c.want)
		}
	}
	if p = member("rename", nursing, comp.ID); p.status != 400 {
		t.Fatalf("unknown op: %d", p.status)
	}

	// A new department, from the page's own form.
	if p = b.post("/admin/departments", url.Values{"name": {"Test Cardiology"}}); p.status != 303 ||
		!strings.HasPrefix(p.header.Get("Location"), "/admin/departments?done=dept_added#dept-") {
		t.Fatalf("add department: %d %q", p.status, p.header.Get("Location"))
	}
	loc, _, _ := strings.Cut(p.header.Get("Location"), "#")
	mustContain(t, "departments page after adding", b.get(loc).body, "Test Cardiology", "The department is added")
	if p = b.post("/admin/departments", url.Values{"name": {" "}}); p.status != 400 {
		t.Fatalf("a blank department name: %d", p.status)
	}
}
