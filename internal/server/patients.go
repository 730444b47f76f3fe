package server

import (
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// patientRequest is the body of POST /api/v1/patients.
type patientRequest struct {
	GivenName       string   `json:"given_name"`
	FamilyName      string   `json:"family_name"`
	BirthDate       string   `json:"birth_date"`
	Sex             string   `json:"sex"`
	MRN             string   `json:"mrn"`
	Phone           string   `json:"phone"`
	Email           string   `json:"email"`
	Language        string   `json:"language"`
	TimeZone        string   `json:"time_zone"`
	CareTeamUserIDs []string `json:"care_team_user_ids"`
	DepartmentIDs   []string `json:"department_ids"`
}

// createPatient registers a patient (staff who manage patients only).
func (s *Server) createPatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanManagePatients, sotto.AuditPatientCreate); err != nil {
		return err
	}
	var req patientRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p := &sotto.Patient{OrgID: c.user.OrgID, GivenName: req.GivenName, FamilyName: req.FamilyName, BirthDate: req.BirthDate,
		Sex: sotto.Sex(req.Sex), MRN: req.MRN, Phone: req.Phone, Email: req.Email, Language: req.Language, TimeZone: req.TimeZone,
		CareTeamUserIDs: req.CareTeamUserIDs, DepartmentIDs: req.DepartmentIDs}
	if p.Phone != "" {
		if _, err := sotto.NormalizePhone(p.Phone); err != nil {
			return err
		}
	}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertPatient(p); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditPatientCreate, "patient", p.ID, p.ID)
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patients/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// patientList is the answer of GET /api/v1/patients.
type patientList struct {
	Patients []*sotto.Patient `json:"patients"`
}

// searchPatients finds patients by name words, MRN, phone, e-mail or
// birth date. The search is audited without its terms.
func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanViewPatients, sotto.AuditPatientSearch); err != nil {
		return err
	}
	q := r.URL.Query().Get("query")
	if err := validPatientQuery(q); err != nil {
		return err
	}
	limit, err := queryLimit(r, 20, 50)
	if err != nil {
		return err
	}
	found, err := s.findPatients(r, c, q, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, patientList{Patients: found})
	return nil
}

// validPatientQuery checks a patient search query, never echoing it.
func validPatientQuery(q string) error {
	if strings.TrimSpace(q) == "" || !utf8.ValidString(q) || len(q) > store.MaxPatientQueryLen {
		return sotto.Errorf(sotto.KindInvalid, "query must be 1 to %d characters: a name, MRN, phone, e-mail or birth date.", store.MaxPatientQueryLen)
	}
	return nil
}

// findPatients is the search core shared by the API and the pages (the
// caller has checked the role): it validates q, searches, and audits the
// search without its terms.
func (s *Server) findPatients(r *http.Request, c *caller, q string, limit int) ([]*sotto.Patient, error) {
	if err := validPatientQuery(q); err != nil {
		return nil, err
	}
	found, err := s.db.FindPatients(r.Context(), c.user.OrgID, q, limit)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		return audit.Append(tx, s.callerEvent(r, c, sotto.AuditPatientSearch, sotto.AuditSuccess))
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// getPatient returns one patient's record: staff who may view patients,
// or the patient and their proxies (their own record only).
func (s *Server) getPatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.viewPatient(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// viewPatient is the patient-record core shared by the API and the
// pages: staff who may view patients, or the patient and their proxies
// (their own record only); the view is audited.
func (s *Server) viewPatient(r *http.Request, c *caller, id string) (*sotto.Patient, error) {
	if !c.user.Role.IsStaff() && !slices.Contains(c.actor.PatientIDs, id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	if err := s.requireRole(r, c, func(ro sotto.Role) bool { return sotto.CanViewPatients(ro) || !ro.IsStaff() }, sotto.AuditPatientView); err != nil {
		return nil, err
	}
	p, err := s.db.Patient(r.Context(), c.user.OrgID, id)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		ev := s.targetEvent(r, c, sotto.AuditPatientView, "patient", p.ID, p.ID)
		return audit.Append(tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// breakGlassRequest is the body of POST /api/v1/patients/{id}/break-glass.
type breakGlassRequest struct {
	Reason string `json:"reason"`
}

// Break-glass limits.
const (
	breakGlassDuration  = 60 * time.Minute
	minBreakGlassReason = 10
	maxBreakGlassReason = 500
)

// breakGlass grants the calling staff member time-limited access to a
// patient outside their scope, with a stated reason; audited as break-glass.
func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, func(ro sotto.Role) bool { return ro.IsStaff() && ro != sotto.RoleCompliance }, sotto.AuditBreakGlass); err != nil {
		return err
	}
	var req breakGlassRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if n := utf8.RuneCountInString(reason); !utf8.ValidString(reason) || n < minBreakGlassReason || n > maxBreakGlassReason {
		return sotto.Errorf(sotto.KindInvalid, "reason must explain the emergency in %d to %d characters.", minBreakGlassReason, maxBreakGlassReason)
	}
	g := &store.BreakGlass{OrgID: c.user.OrgID, UserID: c.user.ID, PatientID: r.PathValue("id"), Reason: reason,
		ExpiresAt: s.now().UTC().Add(breakGlassDuration)}
	if !store.ValidID(g.PatientID) {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertBreakGlass(g); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditBreakGlass, "break_glass", g.ID, g.PatientID)
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// patientPatch is the body of PATCH /api/v1/patients/{id}: the fields to
// change; absent fields stay as they are. care_team_user_ids and
// department_ids replace the lists when present.
type patientPatch struct {
	GivenName       *string   `json:"given_name"`
	FamilyName      *string   `json:"family_name"`
	BirthDate       *string   `json:"birth_date"`
	Sex             *string   `json:"sex"`
	MRN             *string   `json:"mrn"`
	Phone           *string   `json:"phone"`
	Email           *string   `json:"email"`
	Language        *string   `json:"language"`
	TimeZone        *string   `json:"time_zone"`
	CareTeamUserIDs *[]string `json:"care_team_user_ids"`
	DepartmentIDs   *[]string `json:"department_ids"`
}

// apply merges the change into p.
func (pp *patientPatch) apply(p *sotto.Patient) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.GivenName, pp.GivenName)
	set(&p.FamilyName, pp.FamilyName)
	set(&p.BirthDate, pp.BirthDate)
	set(&p.MRN, pp.MRN)
	set(&p.Phone, pp.Phone)
	set(&p.Email, pp.Email)
	set(&p.Language, pp.Language)
	set(&p.TimeZone, pp.TimeZone)
	if pp.Sex != nil {
		p.Sex = sotto.Sex(*pp.Sex)
	}
	if pp.CareTeamUserIDs != nil {
		p.CareTeamUserIDs = *pp.CareTeamUserIDs
	}
	if pp.DepartmentIDs != nil {
		p.DepartmentIDs = *pp.DepartmentIDs
	}
}

// patchPatient corrects a patient's demographics, contact points, care
// team or departments (staff who manage patients only; audited as
// patient.update). A change of care team or departments changes who may
// read the patient's conversations from the next request on.
func (s *Server) patchPatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanManagePatients, sotto.AuditPatientUpdate); err != nil {
		return err
	}
	var req patientPatch
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := s.db.Patient(r.Context(), c.user.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	req.apply(p)
	if p.Phone != "" {
		if _, err := sotto.NormalizePhone(p.Phone); err != nil {
			return err
		}
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.UpdatePatient(p); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPatientUpdate, "patient", p.ID, p.ID))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
