package server

import (
	"net/http"
	"net/url"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/web"
)

// The view models of the compliance pages. Patients are shown by MRN
// only; a patient or proxy who acted is shown by role, not by name.

// complianceView is the audit search page, or (Accounting) a patient's
// accounting of disclosures.
type complianceView struct {
	Accounting bool
	Form       auditForm
	Patient    *patientLabelView // the chosen patient filter
	// ClearPatientHref is the search without its patient filter.
	ClearPatientHref, SearchHref string
	Staff, Actions               []optionView
	ZoneName                     string
	// The patient search: what was typed, whether it ran, its matches.
	PatientQuery, PickError string
	Searched                bool
	Picks                   []pickView
	Error                   string
	Trail                   *trailView
}

// patientLabelView names a patient on the compliance pages: by MRN, or
// as erased when their data key was destroyed.
type patientLabelView struct {
	ID, MRN string
	Erased  bool
}

// optionView is one option of a select.
type optionView struct {
	Value, Label string
	Selected     bool
}

// pickView is one match of the patient search, a link choosing it.
type pickView struct {
	Name, MRN, Href string
}

// trailView is one page of the trail with its links.
type trailView struct {
	Rows                        []auditRowView
	NextHref, CSVHref, FHIRHref string
}

// auditRowView is one audit entry in plain words.
type auditRowView struct {
	Seq                                                  int64
	At                                                   time.Time
	When, Actor, Role, Action, Target, MRN, Outcome, Src string
	OutcomeClass                                         string // success, failure or denied
}

// complianceActions is the audit vocabulary the action filter offers, in
// the order of its declaration (TestComplianceActionsComplete keeps it
// whole).
var complianceActions = []string{
	sotto.AuditSignIn, sotto.AuditSignInFailed, sotto.AuditMFAEnroll, sotto.AuditMFAVerify, sotto.AuditMFAFailed,
	sotto.AuditMFAReset, sotto.AuditPasswordChange, sotto.AuditLockout, sotto.AuditSignOut, sotto.AuditSignInCode,
	sotto.AuditSessionExpired, sotto.AuditOrgCreate, sotto.AuditOrgUpdate, sotto.AuditUserCreate, sotto.AuditUserUpdate,
	sotto.AuditUserDisable, sotto.AuditUserInvite, sotto.AuditDepartmentCreate, sotto.AuditLocationCreate, sotto.AuditDepartmentMember, sotto.AuditPatientCreate,
	sotto.AuditPatientUpdate, sotto.AuditPatientView, sotto.AuditPatientSearch, sotto.AuditPatientInvite,
	sotto.AuditInviteAccept, sotto.AuditInviteFailed, sotto.AuditConversationCreate, sotto.AuditConversationView,
	sotto.AuditConversationList, sotto.AuditConversationUpdate, sotto.AuditMessageSend, sotto.AuditMessageRead,
	sotto.AuditMessageDeliver, sotto.AuditMessageRetract, sotto.AuditAttachmentUpload, sotto.AuditAttachmentDownload,
	sotto.AuditNotificationSend, sotto.AuditNotificationStatus, sotto.AuditNotificationRetry, sotto.AuditNotifyPrefs,
	sotto.AuditSMSOptOut, sotto.AuditSMSOptIn, sotto.AuditSMSInbound, sotto.AuditWebhookRejected, sotto.AuditPushSubscribe,
	sotto.AuditPermissionChange, sotto.AuditBreakGlass, sotto.AuditBreakGlassUse, sotto.AuditAccessDenied,
	sotto.AuditKeyRotate, sotto.AuditKeyShred, sotto.AuditExport, sotto.AuditLogView, sotto.AuditLogVerify,
	sotto.AuditCheckpoint, sotto.AuditConfigChange, sotto.AuditSetup,
}

// label returns message prefix+token in l's language, or the token itself
// when the catalog has no such message (a vocabulary newer than the
// catalog still reads).
func label(l *web.Locale, prefix, token string) string {
	if msg := l.T(prefix + token); msg != prefix+token {
		return msg
	}
	return token
}

// when formats t for the trail: the date and the time to the second, in
// the viewer's zone.
func when(l *web.Locale, t time.Time) string {
	return l.Date(t) + ", " + t.In(l.Zone).Format("15:04:05 MST")
}

// searchView builds the search page around form: the staff and action
// choices, and the chosen patient (another practice's is not found).
func (s *Server) searchView(r *http.Request, c *caller, l *web.Locale, form auditForm) (*complianceView, error) {
	v := &complianceView{Form: form, ZoneName: l.Zone.String()}
	if form.PatientID != "" {
		pv, err := s.patientLabel(r, c, form.PatientID)
		if err != nil {
			return nil, err
		}
		v.Patient = pv
		anyone := form
		anyone.PatientID = ""
		v.ClearPatientHref = "/compliance?" + anyone.values().Encode()
	}
	staff, err := s.db.StaffUsers(r.Context(), c.user.OrgID)
	if err != nil {
		return nil, err
	}
	for _, u := range staff {
		name := u.Name + " (" + l.T("role."+string(u.Role)) + ")"
		if u.Disabled {
			name += " - " + l.T("compliance.disabled")
		}
		v.Staff = append(v.Staff, optionView{Value: u.ID, Label: name, Selected: u.ID == form.UserID})
	}
	for _, a := range complianceActions {
		v.Actions = append(v.Actions, optionView{Value: a, Label: label(l, "compliance.action.", a), Selected: a == form.Action})
	}
	return v, nil
}

// patientLabel names patient id of c's practice by MRN (an erased
// patient's record is gone: only that they were erased). Errors:
// KindNotFound for an id that is not a patient of c's practice.
func (s *Server) patientLabel(r *http.Request, c *caller, id string) (*patientLabelView, error) {
	ctx := r.Context()
	ok, err := s.db.PatientExists(ctx, c.user.OrgID, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	p, err := s.db.Patient(ctx, c.user.OrgID, id)
	switch {
	case sotto.ErrorCode(err) == "shredded":
		return &patientLabelView{ID: id, Erased: true}, nil
	case err != nil:
		return nil, err
	}
	return &patientLabelView{ID: id, MRN: p.MRN}, nil
}

// trailView describes one page of entries (selected by f) in plain words,
// with the next page's link (base plus keep plus the cursor) and the
// exports of everything f selects.
func (s *Server) trailView(r *http.Request, c *caller, l *web.Locale, events []*sotto.AuditEvent, f audit.Filter, base string, keep url.Values) (*trailView, error) {
	v := &trailView{CSVHref: exportHref(f, "csv"), FHIRHref: exportHref(f, "fhir")}
	ppl := s.people(r.Context(), c.user.OrgID)
	mrns := map[string]string{}
	for _, e := range events {
		row := auditRowView{Seq: e.Seq, At: e.At, When: when(l, e.At), Action: label(l, "compliance.action.", e.Action),
			Outcome: label(l, "compliance.outcome.", e.Outcome), OutcomeClass: e.Outcome, Src: e.SourceIP}
		if e.TargetType != "" {
			row.Target = label(l, "compliance.target.", e.TargetType)
		}
		row.Actor, row.Role = actorLabel(l, ppl, e)
		if e.PatientID != "" {
			mrn, ok := mrns[e.PatientID]
			if !ok {
				pv, err := s.patientLabel(r, c, e.PatientID)
				switch {
				case sotto.ErrorKind(err) == sotto.KindNotFound:
					mrn = l.T("compliance.patient_unknown")
				case err != nil:
					return nil, err
				case pv.Erased:
					mrn = l.T("compliance.patient_erased")
				default:
					mrn = pv.MRN
				}
				mrns[e.PatientID] = mrn
			}
			row.MRN = mrn
		}
		v.Rows = append(v.Rows, row)
	}
	if len(events) == f.Limit && len(events) > 0 {
		next := url.Values{}
		for k, vs := range keep {
			next[k] = vs
		}
		next.Set("cursor", itoa64(events[len(events)-1].Seq))
		v.NextHref = base + "?" + next.Encode()
	}
	return v, nil
}

// actorLabel names who acted: a staff member by name, with their role;
// a patient or proxy by role only (the patient column shows whom it was
// about); the system and anonymous callers as such.
func actorLabel(l *web.Locale, ppl *people, e *sotto.AuditEvent) (name, role string) {
	switch e.ActorRole {
	case sotto.AuditRoleSystem, sotto.AuditRoleAnonymous:
		return "", l.T("compliance.actor." + e.ActorRole)
	}
	role = label(l, "role.", e.ActorRole)
	if e.ActorID != "" && sotto.Role(e.ActorRole).IsStaff() {
		name = ppl.name(e.ActorID)
	}
	return name, role
}
