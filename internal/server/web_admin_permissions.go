package server

import (
	"net/http"
	"strings"

	"sotto"
)

// The permission matrix page: one table per category, a row per staff
// role and a checkbox per action. Each checkbox posts
// "role.category.action"; the form posts the whole matrix, which replaces
// the stored one through the API's core.

// adminPermissionsView is the permission matrix page.
type adminPermissionsView struct {
	adminBase
	Actions []permAction // the columns of every table
	Tables  []permTable
}

// permAction is one column: an action of the matrix.
type permAction struct {
	Action, LabelID string
}

// permTable is one category's table.
type permTable struct {
	Category, LabelID string
	Rows              []permRow
}

// permRow is one staff role's row of a table.
type permRow struct {
	RoleID string
	Cells  []permCell
}

// permCell is one checkbox; NA marks an action that does not apply to the
// category (share_lab_result outside lab results).
type permCell struct {
	ID, Value, ActionID string
	Checked, NA         bool
}

// actionApplies reports whether action a can be granted on category c.
func actionApplies(c sotto.Category, a sotto.Action) bool {
	return a != sotto.ActionShareLabResult || c == sotto.CategoryLabResult
}

// permValue is the form value of one grant.
func permValue(r sotto.Role, c sotto.Category, a sotto.Action) string {
	return string(r) + "." + string(c) + "." + string(a)
}

// adminPermissions shows the organization's matrix (the one callers are
// decided by: c.perms, as GET /api/v1/permissions answers).
func (s *Server) adminPermissions(w http.ResponseWriter, r *http.Request, c *caller) error {
	v := &adminPermissionsView{adminBase: newAdminBase(r, "permissions")}
	for _, a := range sotto.Actions {
		v.Actions = append(v.Actions, permAction{Action: string(a), LabelID: "admin.action." + string(a)})
	}
	for _, cat := range sotto.Categories {
		tbl := permTable{Category: string(cat), LabelID: "cat." + string(cat)}
		for _, role := range sotto.StaffRoles {
			row := permRow{RoleID: "role." + string(role)}
			for _, a := range sotto.Actions {
				val := permValue(role, cat, a)
				row.Cells = append(row.Cells, permCell{ID: "p-" + strings.ReplaceAll(val, ".", "-"), Value: val,
					ActionID: "admin.action." + string(a), Checked: c.perms.Allows(role, cat, a), NA: !actionApplies(cat, a)})
			}
			tbl.Rows = append(tbl.Rows, row)
		}
		v.Tables = append(v.Tables, tbl)
	}
	return s.renderPage(w, http.StatusOK, "admin-permissions", s.staffView(r, c, "admin.title_permissions", "admin", v))
}

// adminPermissionsSave replaces the matrix with the one the form posts
// (matrix=1 marks a whole matrix: a post without it changes nothing)
// through the API's core, audited as a permission change.
func (s *Server) adminPermissionsSave(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if r.PostForm.Get("matrix") != "1" {
		return sotto.Errorf(sotto.KindInvalid, "The form did not hold the permission matrix. Reload the page and try again.")
	}
	p, err := parseMatrix(r.PostForm["perm"])
	if err != nil {
		return err
	}
	if err := s.savePermissions(r, c, p); err != nil {
		return err
	}
	return adminDone(w, r, "/admin/permissions", "permissions_saved", "")
}

// parseMatrix builds a matrix from "role.category.action" grants: every
// staff role is present, with the grants posted for it and no others.
func parseMatrix(grants []string) (sotto.Permissions, error) {
	p := sotto.Permissions{}
	for _, role := range sotto.StaffRoles {
		p[role] = map[sotto.Category][]sotto.Action{}
	}
	for _, g := range grants {
		parts := strings.Split(g, ".")
		if len(parts) != 3 {
			return nil, sotto.Errorf(sotto.KindInvalid, "The form held an unknown permission.")
		}
		role, cat, a := sotto.Role(parts[0]), sotto.Category(parts[1]), sotto.Action(parts[2])
		if !role.IsStaff() || !cat.Valid() || !a.Valid() {
			return nil, sotto.Errorf(sotto.KindInvalid, "The form held an unknown permission.")
		}
		if !p.Allows(role, cat, a) {
			p[role][cat] = append(p[role][cat], a)
		}
	}
	return p, nil
}
