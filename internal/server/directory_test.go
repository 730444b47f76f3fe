package server

import (
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestDirectoryAPI: an admin adds a location and a department in it; staff
// list them; another organization sees neither and cannot use the
// location; bad input is a clear 4xx; other roles cannot add.
func TestDirectoryAPI(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	var loc sotto.Location
	unmarshal(t, w.must("admin", jsonReq("POST", "/api/v1/locations", map[string]string{"name": "Test North Clinic"}), 201), &loc)
	var dept sotto.Department
	unmarshal(t, w.must("admin", jsonReq("POST", "/api/v1/departments", map[string]string{"name": "Test Cardiology", "location_id": loc.ID}), 201), &dept)
	if dept.LocationID != loc.ID || dept.OrgID != w.orgA {
		t.Fatalf("department = %+v", dept)
	}
	var list departmentList
	unmarshal(t, w.must("nurse", req{method: "GET", path: "/api/v1/departments"}, 200), &list)
	found := false
	for _, d := range list.Departments {
		found = found || d.ID == dept.ID
	}
	if !found {
		t.Fatal("the new department is not listed")
	}
	var other departmentList
	unmarshal(t, w.must("other_admin", req{method: "GET", path: "/api/v1/departments"}, 200), &other)
	for _, d := range other.Departments {
		if d.ID == dept.ID {
			t.Fatal("another organization lists the department")
		}
	}
	var locs locationList
	unmarshal(t, w.must("other_admin", req{method: "GET", path: "/api/v1/locations"}, 200), &locs)
	if len(locs.Locations) != 0 {
		t.Fatalf("another organization lists %d locations", len(locs.Locations))
	}
	w.must("other_admin", jsonReq("POST", "/api/v1/departments", map[string]string{"name": "Test Elsewhere", "location_id": loc.ID}), 404)
	w.must("admin", jsonReq("POST", "/api/v1/departments", map[string]string{"name": "  "}), 400)
	w.must("admin", jsonReq("POST", "/api/v1/departments", map[string]string{"name": "Test Bad", "location_id": "not-an-id"}), 404)
	w.must("nurse", jsonReq("POST", "/api/v1/departments", map[string]string{"name": "Test Nurse Dept"}), 403)
	w.must("patient", req{method: "GET", path: "/api/v1/departments"}, 403)
	if n := w.countAudit(w.orgA, sotto.AuditDepartmentCreate); n < 1 {
		t.Fatal("department creation not audited")
	}
}
