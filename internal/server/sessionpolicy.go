package server

import (
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// Bounds of an organization's automatic logoff, in minutes. Staff share
// clinical workstations: at most 30 minutes idle. Patients use their own
// devices: up to an hour.
const (
	minIdleMinutes        = 2
	maxStaffIdleMinutes   = 30
	maxPatientIdleMinutes = 60
)

// sessionPolicyBody is the body of GET and PUT /api/v1/session-policy.
type sessionPolicyBody struct {
	StaffIdleMinutes   int `json:"staff_idle_minutes"`
	PatientIdleMinutes int `json:"patient_idle_minutes"`
}

// getSessionPolicy shows the organization's automatic logoff (admins).
func (s *Server) getSessionPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	staff, err := s.policyFor(r.Context(), c.user.OrgID, sotto.RoleNurse)
	if err != nil {
		return err
	}
	patient, err := s.policyFor(r.Context(), c.user.OrgID, sotto.RolePatient)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionPolicyBody{StaffIdleMinutes: int(staff.Idle / time.Minute), PatientIdleMinutes: int(patient.Idle / time.Minute)})
	return nil
}

// putSessionPolicy sets the organization's automatic logoff (admins;
// audited as config.change). It applies to every session, including those
// already open, from their next request.
func (s *Server) putSessionPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	var req sessionPolicyBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.StaffIdleMinutes < minIdleMinutes || req.StaffIdleMinutes > maxStaffIdleMinutes {
		return sotto.Errorf(sotto.KindInvalid, "staff_idle_minutes must be %d to %d.", minIdleMinutes, maxStaffIdleMinutes)
	}
	if req.PatientIdleMinutes < minIdleMinutes || req.PatientIdleMinutes > maxPatientIdleMinutes {
		return sotto.Errorf(sotto.KindInvalid, "patient_idle_minutes must be %d to %d.", minIdleMinutes, maxPatientIdleMinutes)
	}
	it := store.IdleTimeouts{Staff: time.Duration(req.StaffIdleMinutes) * time.Minute, Patient: time.Duration(req.PatientIdleMinutes) * time.Minute}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetIdleTimeouts(c.user.OrgID, it, c.user.ID); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditConfigChange, "session_policy", c.user.OrgID, ""))
	})
	if err != nil {
		return err
	}
	s.idle.forget(c.user.OrgID)
	writeJSON(w, http.StatusOK, req)
	return nil
}
