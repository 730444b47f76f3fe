package server

import (
	"net/http"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/web"
)

// The compliance review pages: verifying the trail's chain and
// checkpoints, and the break-glass grants with their reasons.

// verifyView is the verification page; Report is nil until it ran.
type verifyView struct {
	Report *reportView
}

// reportView is a verification report in plain words.
type reportView struct {
	OK                 bool
	Entries, BrokenAt  int64
	Reason             string
	BrokenHref         string // the trail from the broken entry on
	HeadSeq            int64
	Checkpoint         *checkpointView
	Checkpoints        int64
	CheckpointVerified bool
}

// checkpointView is the newest signed checkpoint.
type checkpointView struct {
	Seq      int64
	SignedAt time.Time
	When     string
}

// breakGlassView is the break-glass review page.
type breakGlassView struct {
	Since, Error, ZoneName string
	Grants                 []grantView
}

// grantView is one break-glass grant.
type grantView struct {
	Who, Role, MRN, Reason, Granted, Expires string
	CreatedAt, ExpiresAt                     time.Time
	Active                                   bool
	TrailHref                                string // what the grantee did to the patient meanwhile
}

// breakGlassDays is how far back the review looks by default, as the API.
const breakGlassDays = 90

// verifyReasons maps a Report's reason to its message id.
var verifyReasons = map[string]string{
	audit.ReasonHashMismatch:       "compliance.reason.hash",
	audit.ReasonPrevHashMismatch:   "compliance.reason.prev_hash",
	audit.ReasonSequenceGap:        "compliance.reason.gap",
	audit.ReasonHeadMismatch:       "compliance.reason.head",
	audit.ReasonCheckpointMismatch: "compliance.reason.checkpoint",
	audit.ReasonCheckpointSig:      "compliance.reason.checkpoint_sig",
	audit.ReasonMalformed:          "compliance.reason.malformed",
	audit.ReasonPatientIndex:       "compliance.reason.patient_index",
}

// complianceVerifyForm explains the verification and offers to run it.
func (s *Server) complianceVerifyForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogVerify); err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "compliance-verify", s.staffView(r, c, "compliance.title_verify", "compliance", &verifyView{}))
}

// complianceVerify runs the verification through the API's core (audited
// as audit.verify) and shows its report.
func (s *Server) complianceVerify(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogVerify); err != nil {
		return err
	}
	rep, err := s.verifyTrail(r, c)
	if err != nil {
		return err
	}
	l := s.locale(r)
	v := &reportView{OK: rep.OK, Entries: rep.Entries, BrokenAt: rep.BrokenAt, HeadSeq: rep.HeadSeq,
		Checkpoints: rep.Checkpoints, CheckpointVerified: rep.CheckpointVerified}
	if !rep.OK {
		id, ok := verifyReasons[rep.Reason]
		if v.Reason = rep.Reason; ok {
			v.Reason = l.T(id)
		}
		v.BrokenHref = "/compliance?cursor=" + itoa64(max(rep.BrokenAt-1, 0))
	}
	if cp := rep.Checkpoint; cp != nil {
		v.Checkpoint = &checkpointView{Seq: cp.Seq, SignedAt: cp.SignedAt, When: when(l, cp.SignedAt)}
	}
	return s.renderPage(w, http.StatusOK, "compliance-verify", s.staffView(r, c, "compliance.title_verify", "compliance", &verifyView{Report: v}))
}

// complianceBreakGlass lists the break-glass grants since a day (90 days
// back by default) through the API's core (audited), each with a link to
// what the grantee did to the patient while it lasted.
func (s *Server) complianceBreakGlass(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	l := s.locale(r)
	v := &breakGlassView{Since: strings.TrimSpace(r.URL.Query().Get("since")), ZoneName: l.Zone.String()}
	since := s.now().UTC().AddDate(0, 0, -breakGlassDays)
	if v.Since != "" {
		t, err := time.ParseInLocation(time.DateOnly, v.Since, l.Zone)
		if err != nil {
			v.Error = l.T("compliance.err_since")
			return s.renderPage(w, http.StatusBadRequest, "compliance-break-glass", s.staffView(r, c, "compliance.title_break_glass", "compliance", v))
		}
		since = t
	}
	grants, err := s.breakGlassGrants(r, c, since, 100)
	if err != nil {
		return err
	}
	if v.Grants, err = s.grantViews(r, c, l, grants); err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "compliance-break-glass", s.staffView(r, c, "compliance.title_break_glass", "compliance", v))
}

// grantViews describes grants: the grantee by name and role, the patient
// by MRN, and the link to the trail of the grantee's entries about the
// patient over the days the grant lasted.
func (s *Server) grantViews(r *http.Request, c *caller, l *web.Locale, grants []*store.BreakGlass) ([]grantView, error) {
	ppl := s.people(r.Context(), c.user.OrgID)
	now := s.now()
	out := make([]grantView, 0, len(grants))
	for _, g := range grants {
		v := grantView{Reason: g.Reason, CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt,
			Granted: when(l, g.CreatedAt), Expires: when(l, g.ExpiresAt), Active: now.Before(g.ExpiresAt)}
		if u := ppl.get(g.UserID); u != nil {
			v.Who, v.Role = u.Name, l.T("role."+string(u.Role))
		}
		pv, err := s.patientLabel(r, c, g.PatientID)
		switch {
		case sotto.ErrorKind(err) == sotto.KindNotFound:
			v.MRN = l.T("compliance.patient_unknown")
		case err != nil:
			return nil, err
		case pv.Erased:
			v.MRN = l.T("compliance.patient_erased")
		default:
			v.MRN = pv.MRN
		}
		// The grant's times come from two clocks (the store's and the
		// server's): the range spans both, whichever is first.
		first, last := g.CreatedAt, g.ExpiresAt
		if last.Before(first) {
			first, last = last, first
		}
		f := auditForm{UserID: g.UserID, PatientID: g.PatientID,
			From: first.In(l.Zone).Format(time.DateOnly), To: last.In(l.Zone).Format(time.DateOnly)}
		v.TrailHref = "/compliance?" + f.values().Encode()
		out = append(out, v)
	}
	return out, nil
}
