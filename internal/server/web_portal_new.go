package server

import (
	"net/http"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// portalSubjectLen bounds the subject the portal makes for a new
// conversation.
const portalSubjectLen = 80

// portalReasons are the reasons a patient may write for, in the order the
// picker shows them.
var portalReasons = []sotto.Category{sotto.CategoryGeneral, sotto.CategoryRefill, sotto.CategoryAppointment, sotto.CategoryBilling}

// portalNewView is the new-message form, refilled after a refusal. Error
// is worded in the viewer's language.
type portalNewView struct {
	IdemKey, Error, Reason, PatientID string
	Medication, Dose, Pharmacy, Body  string
	Times                             [3]string
	Reasons                           []reasonView
	Patients                          []patientChoice // only for a proxy of several patients
}

// reasonView is one choice of the reason picker.
type reasonView struct {
	Value, LabelID, HintID string
	Checked                bool
}

// patientChoice is one patient a proxy may write about.
type patientChoice struct {
	ID, Name string
	Selected bool
}

// portalNew shows the new-message form; ?reason= preselects a reason.
func (s *Server) portalNew(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	v := &portalNewView{IdemKey: newFormKey(), Reason: r.URL.Query().Get("reason")}
	return s.renderNewForm(w, r, pu, http.StatusOK, v)
}

// renderNewForm renders v with its choices filled in. A proxy of several
// patients chooses among their names, and the view of each is audited.
func (s *Server) renderNewForm(w http.ResponseWriter, r *http.Request, pu *portalUser, status int, v *portalNewView) error {
	if !sotto.PatientCanStart(sotto.Category(v.Reason)) {
		v.Reason = string(sotto.CategoryGeneral)
	}
	v.Reasons = v.Reasons[:0]
	for _, c := range portalReasons {
		v.Reasons = append(v.Reasons, reasonView{Value: string(c), LabelID: "portal.reason_" + string(c), HintID: "portal.hint_" + string(c),
			Checked: string(c) == v.Reason})
	}
	v.Patients = nil
	if len(pu.patients) > 1 {
		err := s.db.Write(r.Context(), func(tx *store.Tx) error {
			for _, p := range pu.patients {
				if err := audit.Append(tx, s.targetEvent(r, pu.caller, sotto.AuditPatientView, "patient", p.ID, p.ID)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range pu.patients {
			v.Patients = append(v.Patients, patientChoice{ID: p.ID, Name: patientName(p), Selected: p.ID == v.PatientID})
		}
	}
	return s.renderPage(w, status, "portal-new", s.portalView(pu, "portal.title_new", "messages", v))
}

// portalNewSubmit opens a conversation and sends its first message
// through the API's cores: openConversation (the category and the
// structured request its reason needs, routed to the patient's
// department), storeAttachment and postMessage. The form is checked
// first, the photo included, so that a refusal creates nothing.
func (s *Server) portalNewSubmit(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	f, err := readPortalForm(w, r)
	if err != nil {
		return s.newFormRefused(w, r, pu, &portalNewView{IdemKey: newFormKey()}, err)
	}
	v := newViewOf(f)
	req, problem := portalRequest(pu, v, f.file != nil)
	if problem != "" {
		v.Error = pu.l.T(problem)
		return s.renderNewForm(w, r, pu, http.StatusBadRequest, v)
	}
	m := portalMessage(pu, v.Body, f)
	send := strings.TrimSpace(v.Body) != "" || f.file != nil
	if send {
		if err := m.Validate(); err != nil {
			return s.newFormRefused(w, r, pu, v, err)
		}
	}
	if f.file != nil {
		if _, _, err := cleanUpload(f.file.data); err != nil {
			return s.newFormRefused(w, r, pu, v, err)
		}
	}
	req.Subject = portalSubject(pu, v)
	req.IdempotencyKey = m.IdempotencyKey // a second tap finds the first conversation
	conv, existing, err := s.openConversation(r, pu.caller, req)
	if err != nil {
		return s.newFormRefused(w, r, pu, v, err)
	}
	if existing && s.alreadySent(r, pu, m.IdempotencyKey) != "" {
		http.Redirect(w, r, "/portal/c/"+conv.ID, http.StatusSeeOther)
		return nil
	}
	if f.file != nil {
		a, err := s.storeAttachment(r, pu.caller, conv.ID, f.file.name, f.file.data)
		if err != nil {
			return err
		}
		m.AttachmentIDs = []string{a.ID}
	}
	if send {
		if _, err := s.postMessage(r, pu.caller, conv.ID, m); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/portal/c/"+conv.ID, http.StatusSeeOther)
	return nil
}

// newViewOf reads the posted new-message form back into its view.
func newViewOf(f *portalForm) *portalNewView {
	g := func(k string) string { return strings.TrimSpace(f.values.Get(k)) }
	v := &portalNewView{IdemKey: g("idempotency_key"), Reason: g("reason"), PatientID: g("patient_id"),
		Medication: g("medication"), Dose: g("dose"), Pharmacy: g("pharmacy"), Body: f.values.Get("body")}
	if v.IdemKey == "" {
		v.IdemKey = newFormKey()
	}
	for i, t := range f.values["preferred_time"] {
		if i < len(v.Times) {
			v.Times[i] = strings.TrimSpace(t)
		}
	}
	return v
}

// portalRequest turns the form into the API's conversation request,
// asking only what its reason needs; problem is the message id of what is
// missing ("" when nothing is).
func portalRequest(pu *portalUser, v *portalNewView, withFile bool) (req conversationRequest, problem string) {
	reason := sotto.Category(v.Reason)
	if !sotto.PatientCanStart(reason) {
		return req, "portal.err_reason"
	}
	req.Category = v.Reason
	switch {
	case len(pu.patients) == 1:
		req.PatientID = pu.patients[0].ID
	case pu.actsFor(v.PatientID):
		req.PatientID = v.PatientID
	default:
		return req, "portal.err_patient"
	}
	switch reason {
	case sotto.CategoryRefill:
		if v.Medication == "" {
			return req, "portal.err_medication"
		}
		req.Refill = &sotto.RefillRequest{Medication: v.Medication, Dose: v.Dose, Pharmacy: v.Pharmacy}
	case sotto.CategoryAppointment:
		var times []string
		for _, t := range v.Times {
			if t != "" {
				times = append(times, t)
			}
		}
		if len(times) == 0 {
			return req, "portal.err_times"
		}
		req.Appointment = &sotto.AppointmentRequest{PreferredTimes: times}
	default:
		if strings.TrimSpace(v.Body) == "" && !withFile {
			return req, "portal.err_body"
		}
	}
	return req, ""
}

// portalSubject names a new conversation for the practice's lists: the
// first words of the message, else what the request is.
func portalSubject(pu *portalUser, v *portalNewView) string {
	if s := firstWords(v.Body, portalSubjectLen); s != "" {
		return s
	}
	if v.Reason == string(sotto.CategoryRefill) {
		return firstWords(pu.l.T("portal.subject_refill", v.Medication), portalSubjectLen)
	}
	return pu.l.T("portal.subject_" + v.Reason)
}

// newFormRefused answers a refused new-message form on the form, when the
// refusal is about the form; other errors are returned.
func (s *Server) newFormRefused(w http.ResponseWriter, r *http.Request, pu *portalUser, v *portalNewView, err error) error {
	msg, status, ok := formProblem(pu.l, err)
	if !ok {
		return err
	}
	v.Error = msg
	return s.renderNewForm(w, r, pu, status, v)
}
