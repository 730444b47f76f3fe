package server

import (
	"net/http"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// patientsView is the patient search page. The query travels in the POST
// body only: never in a URL, so never in an access log or history.
type patientsView struct {
	Query, Error string
	Searched     bool
	Results      []*patientView
}

// patientSearchLimit bounds the results of one search page.
const patientSearchLimit = 50

// patientsPage shows the empty search form.
func (s *Server) patientsPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanViewPatients, sotto.AuditPatientSearch); err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "patients", s.staffView(r, c, "title.patients", "patients", &patientsView{}))
}

// patientsSearch searches through the API's core (audited without the
// terms) and renders the results in the answer to the POST.
func (s *Server) patientsSearch(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanViewPatients, sotto.AuditPatientSearch); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	v := &patientsView{Query: strings.TrimSpace(r.PostForm.Get("query"))}
	found, err := s.findPatients(r, c, v.Query, patientSearchLimit)
	status := http.StatusOK
	switch {
	case sotto.ErrorKind(err) == sotto.KindInvalid:
		v.Error, status = sotto.ErrorMessage(err), http.StatusBadRequest
	case err != nil:
		return err
	default:
		v.Searched = true
		ppl := s.people(r.Context(), c.user.OrgID)
		for _, p := range found {
			v.Results = append(v.Results, s.patientView(ppl, p))
		}
	}
	return s.renderPage(w, status, "patients", s.staffView(r, c, "title.patients", "patients", v))
}

// patientPage shows one patient's record (audited as the API's patient
// view) and the conversations with them the viewer may read (audited as
// the API's conversation list).
func (s *Server) patientPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	p, err := s.viewPatient(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	before, err := queryCursor(r, "cursor")
	if err != nil {
		return err
	}
	page, err := s.db.Conversations(ctx, store.ConversationFilter{OrgID: c.user.OrgID, PatientID: p.ID, Before: before, Limit: inboxPageSize},
		s.readable(ctx, c))
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		ev := s.callerEvent(r, c, sotto.AuditConversationList, sotto.AuditSuccess)
		ev.PatientID = p.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	v := s.patientView(s.people(ctx, c.user.OrgID), p)
	if v.Convs, err = s.convViews(r, c, page.Conversations, "all", ""); err != nil {
		return err
	}
	if page.Next > 0 {
		v.NextHref = "/patients/" + p.ID + "?cursor=" + itoa64(page.Next)
	}
	return s.renderPage(w, http.StatusOK, "patient", s.staffView(r, c, "title.patient", "patients", v))
}
