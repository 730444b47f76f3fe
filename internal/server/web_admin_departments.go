package server

import (
	"net/http"
	"net/url"
	"slices"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// adminDepartmentsView is the departments page: each department's
// members, and who may be added.
type adminDepartmentsView struct {
	adminBase
	Departments []adminDepartmentRow
}

// adminDepartmentRow is one department.
type adminDepartmentRow struct {
	ID, Name string
	Members  []adminPerson // its members, disabled ones included
	Others   []adminPerson // active staff who are not members
}

// adminPerson is a staff member as the console's lists and pickers name
// them.
type adminPerson struct {
	ID, Name, RoleID string
	Disabled         bool
}

// adminDepartments lists the departments with their members. Departments
// themselves are created with the command-line tool (sotto admin).
func (s *Server) adminDepartments(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	depts, err := s.db.Departments(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	staff, err := s.db.StaffUsers(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	v := &adminDepartmentsView{adminBase: newAdminBase(r, "departments")}
	for _, d := range depts {
		row := adminDepartmentRow{ID: d.ID, Name: d.Name}
		for _, m := range staff {
			p := adminPerson{ID: m.ID, Name: m.Name, RoleID: "role." + string(m.Role), Disabled: m.Disabled}
			switch {
			case slices.Contains(m.DepartmentIDs, d.ID):
				row.Members = append(row.Members, p)
			case !m.Disabled:
				row.Others = append(row.Others, p)
			}
		}
		v.Departments = append(v.Departments, row)
	}
	return s.renderPage(w, http.StatusOK, "admin-departments", s.staffView(r, c, "admin.title_departments", "admin", v))
}

// adminAddDepartment creates a department through the API's core.
func (s *Server) adminAddDepartment(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	d, err := s.addDepartment(r, c, r.PostForm.Get("name"), "")
	if err != nil {
		return err
	}
	return adminDone(w, r, "/admin/departments", "dept_added", "#dept-"+url.PathEscape(d.ID))
}

// adminDepartmentMember adds (op=add) or removes (op=remove) staff member
// user_id in department {id}.
func (s *Server) adminDepartmentMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	op, dept := r.PostForm.Get("op"), r.PathValue("id")
	if op != "add" && op != "remove" {
		return sotto.Errorf(sotto.KindInvalid, "The form asked for an unknown change.")
	}
	if err := s.setDepartmentMember(r, c, dept, r.PostForm.Get("user_id"), op == "add"); err != nil {
		return err
	}
	done := "member_removed"
	if op == "add" {
		done = "member_added"
	}
	return adminDone(w, r, "/admin/departments", done, "#dept-"+url.PathEscape(dept))
}

// setDepartmentMember adds staff member userID to (add) or removes them
// from department deptID of c's organization, audited as a department
// membership change naming both ("department/user"). Another
// organization's department or user is not found.
func (s *Server) setDepartmentMember(r *http.Request, c *caller, deptID, userID string, add bool) error {
	ctx := r.Context()
	d, err := s.db.Department(ctx, deptID)
	if err != nil {
		return err
	}
	if d.OrgID != c.user.OrgID {
		return sotto.Errorf(sotto.KindNotFound, "Department not found.")
	}
	u, err := s.db.User(ctx, c.user.OrgID, userID)
	if err != nil {
		return err
	}
	if !u.Role.IsStaff() {
		return sotto.Errorf(sotto.KindInvalid, "Only staff members belong to departments.")
	}
	target := "department_member_removed"
	if add {
		target = "department_member_added"
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if add {
			err = tx.AddDepartmentMember(d.ID, u.ID)
		} else {
			err = tx.RemoveDepartmentMember(c.user.OrgID, d.ID, u.ID)
		}
		if err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditDepartmentMember, target, d.ID+"/"+u.ID, ""))
	})
}
