package server

import (
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// auditList is one page of GET /api/v1/audit.
type auditList struct {
	Events     []*sotto.AuditEvent `json:"events"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

// auditFilter reads the audit query parameters of r for c's organization.
func auditFilter(r *http.Request, c *caller) (audit.Filter, error) {
	q := r.URL.Query()
	f, err := newAuditFilter(c, q.Get("patient_id"), q.Get("user_id"), q.Get("action"))
	if err != nil {
		return f, err
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, sotto.Errorf(sotto.KindInvalid, "%s must be an RFC 3339 time such as 2026-01-31T00:00:00Z.", name)
			}
			*dst = t
		}
	}
	if f.AfterSeq, err = queryCursor(r, "cursor"); err != nil {
		return f, err
	}
	f.Limit, err = queryLimit(r, audit.DefaultLimit, audit.MaxLimit)
	return f, err
}

// newAuditFilter is the filter core shared by the API and the compliance
// pages: c's organization's trail, by patient, user (actor) and action,
// the ids checked for shape.
func newAuditFilter(c *caller, patientID, userID, action string) (audit.Filter, error) {
	f := audit.Filter{OrgID: c.user.OrgID, PatientID: patientID, ActorID: userID, Action: action}
	for _, id := range []string{f.PatientID, f.ActorID} {
		if id != "" && !store.ValidID(id) {
			return f, sotto.Errorf(sotto.KindInvalid, "patient_id and user_id must be ids.")
		}
	}
	return f, nil
}

// readAudit is the read core shared by the API and the compliance pages
// (the caller has checked the role): it lists the entries f selects and
// audits the read as action (AuditLogView, or AuditExport for an export)
// on the trail, with the patient filter as the entry's patient.
func (s *Server) readAudit(r *http.Request, c *caller, f audit.Filter, action string) ([]*sotto.AuditEvent, error) {
	ctx := r.Context()
	events, err := audit.List(ctx, s.db, f)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		return audit.Append(tx, s.targetEvent(r, c, action, "audit_trail", c.user.OrgID, f.PatientID))
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// listAudit lets compliance officers and admins read their organization's
// trail, filtered by patient (the accounting of disclosures), user, action
// and time; format=csv or format=fhir exports it. The read is itself
// audited (as an export for csv and fhir).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	f, err := auditFilter(r, c)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	action := sotto.AuditLogView
	switch format {
	case "", "json":
	case "csv", "fhir":
		action = sotto.AuditExport
	default:
		return sotto.Errorf(sotto.KindInvalid, "format must be json, csv or fhir.")
	}
	ctx := r.Context()
	events, err := s.readAudit(r, c, f, action)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		return audit.WriteCSV(w, events)
	case "fhir":
		org, err := s.db.Org(ctx, c.user.OrgID)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-bundle.json"`)
		return audit.WriteFHIRBundle(w, events, org.Name)
	}
	out := auditList{Events: events}
	if len(events) == f.Limit {
		out.NextCursor = itoa64(events[len(events)-1].Seq)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// verifyAudit walks the organization's chain and checks the latest signed
// checkpoint against the organization's own public key.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogVerify); err != nil {
		return err
	}
	rep, err := s.verifyTrail(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// verifyTrail is the verification core shared by the API and the
// compliance pages (the caller has checked the role): it verifies c's
// organization's chain and newest checkpoint under the organization's
// own public key, and audits the run (outcome failure when it is broken).
func (s *Server) verifyTrail(r *http.Request, c *caller) (audit.Report, error) {
	ctx := r.Context()
	ok, err := s.db.OrgKey(ctx, c.user.OrgID)
	if err != nil {
		return audit.Report{}, err
	}
	rep, err := audit.Verify(ctx, s.db, c.user.OrgID, ok.PublicKey())
	if err != nil {
		return audit.Report{}, err
	}
	outcome := sotto.AuditSuccess
	if !rep.OK {
		outcome = sotto.AuditFailure
	}
	ev := s.callerEvent(r, c, sotto.AuditLogVerify, outcome)
	ev.TargetType, ev.TargetID = "audit_trail", c.user.OrgID
	if err := s.db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return audit.Report{}, err
	}
	return rep, nil
}

// breakGlassList is the answer of GET /api/v1/break-glass.
type breakGlassList struct {
	Grants []*store.BreakGlass `json:"grants"`
}

// listBreakGlass lists the organization's emergency-access grants with
// their stated reasons (last 90 days by default, or since ?since=), for
// the compliance officer's review. Audited.
func (s *Server) listBreakGlass(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	since := s.now().UTC().AddDate(0, 0, -90)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return sotto.Errorf(sotto.KindInvalid, "since must be an RFC 3339 time such as 2026-01-31T00:00:00Z.")
		}
		since = t
	}
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		return err
	}
	grants, err := s.breakGlassGrants(r, c, since, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, breakGlassList{Grants: grants})
	return nil
}

// breakGlassGrants is the grants core shared by the API and the
// compliance pages (the caller has checked the role): c's organization's
// grants since since, newest first, at most limit; the read is audited.
func (s *Server) breakGlassGrants(r *http.Request, c *caller, since time.Time, limit int) ([]*store.BreakGlass, error) {
	ctx := r.Context()
	grants, err := s.db.BreakGlassGrants(ctx, c.user.OrgID, since, limit)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditLogView, "break_glass", c.user.OrgID, ""))
	})
	if err != nil {
		return nil, err
	}
	return grants, nil
}
