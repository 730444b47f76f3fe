package server

import (
	"context"
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// caller is the signed-in user of a request with everything access
// decisions need.
type caller struct {
	user  *sotto.User
	sess  *store.Session
	actor sotto.Actor
	perms sotto.Permissions
	idle  time.Duration // the session's idle timeout (the page countdown)
}

// authedFunc is a handler that runs only for a signed-in user.
type authedFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// authed adapts h: it authenticates the request and loads the caller's
// access scope and organization's permission matrix.
func (s *Server) authed(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.caller(r)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return h(w, r, c)
	}
}

// caller authenticates r and builds its caller.
func (s *Server) caller(r *http.Request) (*caller, error) {
	u, sess, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	actor, err := s.db.Actor(ctx, u, s.now())
	if err != nil {
		return nil, err
	}
	perms, err := s.perms.get(ctx, u.OrgID, time.Now(), s.db.Permissions)
	if err != nil {
		return nil, err
	}
	policy, err := s.policyFor(ctx, u.OrgID, u.Role)
	if err != nil {
		return nil, err
	}
	return &caller{user: u, sess: sess, actor: actor, perms: perms, idle: policy.Idle}, nil
}

// errStaffOnly answers patient-portal users on staff routes; errRoleDenied
// answers staff whose role lacks a directory permission.
var (
	errStaffOnly  = &sotto.Error{Kind: sotto.KindForbidden, Code: "forbidden", Msg: "This is available to practice staff only."}
	errRoleDenied = &sotto.Error{Kind: sotto.KindForbidden, Code: "forbidden", Msg: "Your role does not allow this."}
)

// requireRole returns nil when ok(c's role) holds; patients and proxies get
// errStaffOnly, other staff errRoleDenied. A denial is audited.
func (s *Server) requireRole(r *http.Request, c *caller, ok func(sotto.Role) bool, action string) error {
	if ok(c.user.Role) {
		return nil
	}
	ev := s.auditEvent(r, c.user.OrgID, c.user.ID, string(c.user.Role), action, sotto.AuditDenied)
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return err
	}
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	return errRoleDenied
}

// subjectOf describes conversation conv (with its patient's care team) for
// the policy function.
func (s *Server) subjectOf(ctx context.Context, conv *sotto.Conversation) (sotto.Subject, store.PatientScope, error) {
	subj := conv.PolicySubject()
	var scope store.PatientScope
	if conv.PatientID != "" {
		var err error
		if scope, err = s.db.PatientScope(ctx, conv.PatientID); err != nil {
			return subj, scope, err
		}
		subj.CareTeam, subj.PatientDepartments = scope.CareTeam, scope.Departments
	}
	return subj, scope, nil
}

// authorize decides whether c may do act on conv. A denial of a
// conversation the caller may know about is audited (outcome denied) and
// returned as the policy's error; a not-found is returned unaudited, as for
// an id that does not exist. An allowed break-glass access is audited as
// such in the caller's own write (see auditAccess).
func (s *Server) authorize(r *http.Request, c *caller, conv *sotto.Conversation, act sotto.Action) (sotto.Decision, store.PatientScope, error) {
	subj, scope, err := s.subjectOf(r.Context(), conv)
	if err != nil {
		return sotto.Decision{}, scope, err
	}
	d := sotto.Decide(c.perms, c.actor, subj, act)
	if d.Allow {
		return d, scope, nil
	}
	if d.Err.Kind == sotto.KindNotFound {
		return d, scope, d.Err
	}
	ev := s.callerEvent(r, c, actionFor(act), sotto.AuditDenied)
	ev.TargetType, ev.TargetID, ev.PatientID = "conversation", conv.ID, conv.PatientID
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return d, scope, err
	}
	return d, scope, d.Err
}

// actionFor names the audit action of a matrix action.
func actionFor(a sotto.Action) string {
	switch a {
	case sotto.ActionRead:
		return sotto.AuditConversationView
	case sotto.ActionReply:
		return sotto.AuditMessageSend
	case sotto.ActionExport:
		return sotto.AuditExport
	}
	return sotto.AuditConversationUpdate
}

// callerEvent builds an audit event by c about r.
func (s *Server) callerEvent(r *http.Request, c *caller, action, outcome string) *sotto.AuditEvent {
	return s.auditEvent(r, c.user.OrgID, c.user.ID, string(c.user.Role), action, outcome)
}

// targetEvent builds the success audit event of c acting on one target
// (and the patient it concerns, if any).
func (s *Server) targetEvent(r *http.Request, c *caller, action, targetType, targetID, patientID string) *sotto.AuditEvent {
	ev := s.callerEvent(r, c, action, sotto.AuditSuccess)
	ev.TargetType, ev.TargetID, ev.PatientID = targetType, targetID, patientID
	return ev
}

// auditAccess appends, inside tx, the audit entry of a successful access
// (ev), and a break-glass use entry when d was allowed only by break-glass.
func auditAccess(tx *store.Tx, d sotto.Decision, ev *sotto.AuditEvent) error {
	if err := audit.Append(tx, ev); err != nil {
		return err
	}
	if !d.BreakGlass {
		return nil
	}
	bg := *ev
	bg.ID, bg.Seq, bg.PrevHash, bg.Hash = "", 0, nil, nil
	bg.Action = sotto.AuditBreakGlassUse
	return audit.Append(tx, &bg)
}
