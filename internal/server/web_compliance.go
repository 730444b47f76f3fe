package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// The compliance pages: the audit trail for compliance officers and
// administrators (sotto.CanReadAudit). The search, a patient's accounting
// of disclosures, the chain verification and the break-glass review all go
// through the API's cores (newAuditFilter, readAudit, verifyTrail,
// breakGlassGrants, findPatients), so every read is authorized and audited
// exactly as the API's; the exports are the API's own route, which the
// session cookie authorizes.

// compliancePageSize is how many entries one page of the trail shows.
const compliancePageSize = audit.DefaultLimit

// staffHome is where staff member role lands after signing in: the audit
// trail for compliance officers (who read no messages), else the inbox.
func staffHome(role sotto.Role) string {
	if role == sotto.RoleCompliance {
		return "/compliance"
	}
	return "/inbox"
}

// auditForm is the compliance search form as sent: ids, an action and a
// date range (YYYY-MM-DD, days in the viewer's zone, both included).
type auditForm struct {
	PatientID, UserID, Action, From, To string
}

// readAuditForm reads the filter fields of a query string or form body.
func readAuditForm(v url.Values) auditForm {
	return auditForm{PatientID: strings.TrimSpace(v.Get("patient_id")), UserID: strings.TrimSpace(v.Get("user_id")),
		Action: strings.TrimSpace(v.Get("action")), From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to"))}
}

// values encodes the form's non-empty fields, for links that keep it.
func (f auditForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"patient_id": f.PatientID, "user_id": f.UserID, "action": f.Action, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// filter turns the form into the API's filter for c: From at the start of
// the first day and To at the end of the last, in zone. Errors:
// KindInvalid (a malformed id or date, or a range that ends before it
// starts).
func (f auditForm) filter(c *caller, zone *time.Location) (audit.Filter, error) {
	af, err := newAuditFilter(c, f.PatientID, f.UserID, f.Action)
	if err != nil {
		return af, err
	}
	day := func(s string) (time.Time, error) {
		t, err := time.ParseInLocation(time.DateOnly, s, zone)
		if err != nil {
			return t, sotto.Errorf(sotto.KindInvalid, "Dates must be year-month-day.")
		}
		return t, nil
	}
	if f.From != "" {
		if af.From, err = day(f.From); err != nil {
			return af, err
		}
	}
	if f.To != "" {
		last, err := day(f.To)
		if err != nil {
			return af, err
		}
		af.To = last.AddDate(0, 0, 1)
	}
	if !af.From.IsZero() && !af.To.IsZero() && !af.From.Before(af.To) {
		return af, sotto.Errorf(sotto.KindInvalid, "The last day is before the first.")
	}
	return af, nil
}

// exportHref links the API's export of what f selects in format (csv or
// fhir), as many entries as one export holds.
func exportHref(f audit.Filter, format string) string {
	v := url.Values{"format": {format}, "limit": {strconv.Itoa(audit.MaxLimit)}}
	for k, s := range map[string]string{"patient_id": f.PatientID, "user_id": f.ActorID, "action": f.Action} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !f.From.IsZero() {
		v.Set("from", f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		v.Set("to", f.To.UTC().Format(time.RFC3339))
	}
	return "/api/v1/audit?" + v.Encode()
}

// complianceAudit shows the audit search: the filter form and the entries
// it selects, oldest first, a page at a time (audited as the API's read).
func (s *Server) complianceAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	l := s.locale(r)
	form := readAuditForm(r.URL.Query())
	v, err := s.searchView(r, c, l, form)
	if err != nil {
		return err
	}
	f, err := form.filter(c, l.Zone)
	if err == nil {
		f.AfterSeq, err = queryCursor(r, "cursor")
	}
	if sotto.ErrorKind(err) == sotto.KindInvalid {
		v.Error = l.T("compliance.err_filter")
		return s.renderPage(w, http.StatusBadRequest, "compliance-audit", s.staffView(r, c, "compliance.title", "compliance", v))
	}
	if err != nil {
		return err
	}
	f.Limit = compliancePageSize
	events, err := s.readAudit(r, c, f, sotto.AuditLogView)
	if err != nil {
		return err
	}
	if v.Trail, err = s.trailView(r, c, l, events, f, "/compliance", form.values()); err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "compliance-audit", s.staffView(r, c, "compliance.title", "compliance", v))
}

// complianceFindPatient searches patients by name or MRN through the staff
// search's core (audited without the terms, which travel in the body
// only) and offers each match as the patient filter, by id.
func (s *Server) complianceFindPatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditPatientSearch); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	l := s.locale(r)
	form := readAuditForm(r.PostForm)
	form.PatientID = "" // the search chooses a new one
	v, err := s.searchView(r, c, l, form)
	if err != nil {
		return err
	}
	v.PatientQuery = strings.TrimSpace(r.PostForm.Get("patient_query"))
	found, err := s.findPatients(r, c, v.PatientQuery, patientSearchLimit)
	status := http.StatusOK
	switch {
	case sotto.ErrorKind(err) == sotto.KindInvalid:
		v.PickError, status = l.T("compliance.err_query"), http.StatusBadRequest
	case err != nil:
		return err
	default:
		v.Searched = true
		// Compliance officers do not otherwise see patient records: each
		// match shown (name and MRN) is audited as a view of that patient.
		if len(found) > 0 {
			err := s.db.Write(r.Context(), func(tx *store.Tx) error {
				for _, p := range found {
					if err := audit.Append(tx, s.targetEvent(r, c, sotto.AuditPatientView, "patient", p.ID, p.ID)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, p := range found {
			pick := form
			pick.PatientID = p.ID
			v.Picks = append(v.Picks, pickView{Name: patientName(p), MRN: p.MRN, Href: "/compliance?" + pick.values().Encode()})
		}
	}
	return s.renderPage(w, status, "compliance-audit", s.staffView(r, c, "compliance.title", "compliance", v))
}

// compliancePatient shows patient {id}'s accounting of disclosures: every
// entry about them, oldest first, a page at a time, with the exports;
// audited as the API's read with the patient filter. Another practice's
// patient is not found.
func (s *Server) compliancePatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	id := r.PathValue("id")
	pv, err := s.patientLabel(r, c, id)
	if err != nil {
		return err
	}
	f, err := newAuditFilter(c, id, "", "")
	if err != nil {
		return err
	}
	if f.AfterSeq, err = queryCursor(r, "cursor"); err != nil {
		return err
	}
	f.Limit = compliancePageSize
	l := s.locale(r)
	events, err := s.readAudit(r, c, f, sotto.AuditLogView)
	if err != nil {
		return err
	}
	v := &complianceView{Accounting: true, Patient: pv, SearchHref: "/compliance?patient_id=" + url.QueryEscape(id)}
	if v.Trail, err = s.trailView(r, c, l, events, f, "/compliance/patients/"+url.PathEscape(id), url.Values{}); err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "compliance-audit", s.staffView(r, c, "compliance.title_patient", "compliance", v))
}
