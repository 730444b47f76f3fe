package server

import (
	"net/http"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// The organization's directory: locations (clinic buildings) and the
// departments (queues) inside them. Names are the practice's, not patient
// data. Staff read them (to route and transfer); admins add them.

// departmentList answers GET /api/v1/departments.
type departmentList struct {
	Departments []*sotto.Department `json:"departments"`
}

// locationList answers GET /api/v1/locations.
type locationList struct {
	Locations []*sotto.Location `json:"locations"`
}

// directoryBody is the body of POST /api/v1/departments and /locations.
type directoryBody struct {
	Name       string `json:"name"`
	LocationID string `json:"location_id,omitempty"`
}

// listDepartments lists the organization's departments (staff).
func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.Role.IsStaff, sotto.AuditDepartmentCreate); err != nil {
		return err
	}
	ds, err := s.db.Departments(r.Context(), c.user.OrgID)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*sotto.Department{}
	}
	writeJSON(w, http.StatusOK, departmentList{Departments: ds})
	return nil
}

// createDepartment adds a department, optionally in a location (admins;
// audited as department.create).
func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditDepartmentCreate); err != nil {
		return err
	}
	var req directoryBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	d, err := s.addDepartment(r, c, req.Name, req.LocationID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// addDepartment is the department-creation core of the API and the admin
// page. Errors: KindInvalid (name), KindNotFound (location), KindConflict
// (name taken), KindInternal.
func (s *Server) addDepartment(r *http.Request, c *caller, name, locationID string) (*sotto.Department, error) {
	if locationID != "" && !store.ValidID(locationID) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Location not found.")
	}
	d := &sotto.Department{OrgID: c.user.OrgID, LocationID: locationID, Name: name}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertDepartment(d); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditDepartmentCreate, "department", d.ID, ""))
	})
	return d, err
}

// listLocations lists the organization's locations (staff).
func (s *Server) listLocations(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.Role.IsStaff, sotto.AuditLocationCreate); err != nil {
		return err
	}
	ls, err := s.db.Locations(r.Context(), c.user.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, locationList{Locations: ls})
	return nil
}

// createLocation adds a location (admins; audited as location.create).
func (s *Server) createLocation(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditLocationCreate); err != nil {
		return err
	}
	var req directoryBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	l := &sotto.Location{OrgID: c.user.OrgID, Name: req.Name}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertLocation(l); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditLocationCreate, "location", l.ID, ""))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}
