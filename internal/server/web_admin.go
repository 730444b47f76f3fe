package server

import (
	"net/http"
	"net/url"

	"sotto"
)

// The admin console: staff pages under /admin, for administrators only,
// over the organization's staff accounts, departments, permission matrix
// and notifications. Like the inbox, every action is a plain form post
// (it works without JavaScript) through the same core as the JSON API
// (setUserDisabled, endSessionsOf, savePermissions, saveTemplate,
// restoreTemplate, setOnCall, clearOnCall, retryDeadLetter), so checks and
// audit entries are exactly the API's; it is answered with a redirect back
// to the page (post/redirect/get) that says what was done.

// adminRoutes registers the admin console's pages (called by webRoutes).
// Each names the audit action a refused visit is recorded under, as the
// API route it mirrors does.
func (s *Server) adminRoutes() {
	s.page("GET /admin", s.adminPage(sotto.AuditConfigChange, s.adminHome))
	s.page("GET /admin/users", s.adminPage(sotto.AuditUserUpdate, s.adminUsers))
	s.page("POST /admin/users/{id}/status", s.adminPage(sotto.AuditUserDisable, s.adminUserStatus))
	s.page("POST /admin/users/{id}/sessions", s.adminPage(sotto.AuditSignOut, s.adminUserSessions))
	s.page("GET /admin/departments", s.adminPage(sotto.AuditDepartmentMember, s.adminDepartments))
	s.page("POST /admin/departments", s.adminPage(sotto.AuditDepartmentCreate, s.adminAddDepartment))
	s.page("POST /admin/departments/{id}/members", s.adminPage(sotto.AuditDepartmentMember, s.adminDepartmentMember))
	s.page("GET /admin/permissions", s.adminPage(sotto.AuditPermissionChange, s.adminPermissions))
	s.page("POST /admin/permissions", s.adminPage(sotto.AuditPermissionChange, s.adminPermissionsSave))
	s.page("GET /admin/notifications", s.adminPage(sotto.AuditConfigChange, s.adminNotifications))
	s.page("POST /admin/notifications/templates", s.adminPage(sotto.AuditConfigChange, s.adminTemplateForm))
	s.page("POST /admin/notifications/on-call", s.adminPage(sotto.AuditConfigChange, s.adminOnCallForm))
	s.page("POST /admin/notifications/{id}/retry", s.adminPage(sotto.AuditNotificationRetry, s.adminRetryForm))
}

// adminPage adapts h to run only for administrators: signed-out visitors
// go to the sign-in page and patients get the staff-only page (staffPage);
// other staff get the 403 page, their refusal audited under action.
func (s *Server) adminPage(action string, h authedFunc) handlerFunc {
	return s.staffPage(func(w http.ResponseWriter, r *http.Request, c *caller) error {
		if err := s.requireRole(r, c, isAdmin, action); err != nil {
			return err
		}
		return h(w, r, c)
	})
}

// adminSection is one entry of the console's own navigation.
type adminSection struct {
	Href, LabelID string
	Active        bool
}

// adminBase is what every console page shows above its own content: the
// console's navigation and, after an action, what it did.
type adminBase struct {
	Sections []adminSection
	Notice   string // message id of what the last action did, or ""
}

// adminSections are the console's pages, by key.
var adminSections = []struct{ key, href string }{
	{"home", "/admin"}, {"users", "/admin/users"}, {"departments", "/admin/departments"},
	{"permissions", "/admin/permissions"}, {"notifications", "/admin/notifications"}, {"sso", "/admin/sso"},
}

// adminNotices are the outcomes a redirect may announce (?done=key); any
// other value is ignored, so nothing from the URL reaches the page.
var adminNotices = map[string]bool{
	"disabled": true, "enabled": true, "signed_out": true, "member_added": true, "member_removed": true,
	"permissions_saved": true, "template_saved": true, "template_restored": true,
	"on_call_set": true, "on_call_cleared": true, "retried": true, "dept_added": true,
}

// newAdminBase builds the top of console page active for request r.
func newAdminBase(r *http.Request, active string) adminBase {
	var b adminBase
	for _, sec := range adminSections {
		b.Sections = append(b.Sections, adminSection{Href: sec.href, LabelID: "admin.nav." + sec.key, Active: sec.key == active})
	}
	if done := r.URL.Query().Get("done"); adminNotices[done] {
		b.Notice = "admin.done." + done
	}
	return b
}

// adminDone redirects to console page path, announcing what was done
// (a key of adminNotices) and scrolling to fragment ("" for the top).
func adminDone(w http.ResponseWriter, r *http.Request, path, done, fragment string) error {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(done)+fragment, http.StatusSeeOther)
	return nil
}

// adminHomeView is the console's overview.
type adminHomeView struct {
	adminBase
	ActiveUsers, DisabledUsers, Departments int
	Failed, Days                            int // failed notifications in the last Days days
}

// adminFailedDays is the period of the overview's failed-notification count.
const adminFailedDays = 7

// adminHome shows the overview: active and disabled staff, departments,
// and failed notifications of the last week, counted by the delivery
// report's core (audited as a view of the notification records).
func (s *Server) adminHome(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	v := &adminHomeView{adminBase: newAdminBase(r, "home"), Days: adminFailedDays}
	staff, err := s.db.StaffUsers(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	for _, m := range staff {
		if m.Disabled {
			v.DisabledUsers++
		} else {
			v.ActiveUsers++
		}
	}
	depts, err := s.db.Departments(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	v.Departments = len(depts)
	_, counts, err := s.deliveryCounts(r, c, adminFailedDays)
	if err != nil {
		return err
	}
	for _, byStatus := range counts {
		v.Failed += byStatus[sotto.NotifyFailed]
	}
	return s.renderPage(w, http.StatusOK, "admin-home", s.staffView(r, c, "admin.title_home", "admin", v))
}
