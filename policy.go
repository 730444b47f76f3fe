package sotto

import "slices"

// Action is something an actor does to a conversation of some category;
// the permission matrix grants actions per role and category.
type Action string

// Actions of the permission matrix.
const (
	ActionRead           Action = "read"
	ActionReply          Action = "reply" // also: start a conversation of the category
	ActionAssign         Action = "assign"
	ActionClose          Action = "close" // change status: close, reopen, pending patient
	ActionShareLabResult Action = "share_lab_result"
	ActionExport         Action = "export"
)

// Actions lists every matrix action in a stable order.
var Actions = []Action{ActionRead, ActionReply, ActionAssign, ActionClose, ActionShareLabResult, ActionExport}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { return slices.Contains(Actions, a) }

// Permissions is an organization's permission matrix: for each staff role
// and category, the actions allowed. A missing entry allows nothing.
// Patients and proxies are not in the matrix: they read and reply in their
// own non-internal conversations only.
type Permissions map[Role]map[Category][]Action

// Allows reports whether the matrix grants role r action a on category c.
func (p Permissions) Allows(r Role, c Category, a Action) bool {
	return slices.Contains(p[r][c], a)
}

// DefaultPermissions returns the matrix a new organization starts with:
// providers and nurses handle every category (only providers export);
// front desk and admins handle general, appointment, billing and internal
// threads but not clinical content; billing sees billing only; compliance
// reads the audit trail, not messages.
func DefaultPermissions() Permissions {
	handle := []Action{ActionRead, ActionReply, ActionAssign, ActionClose}
	clinical := func(extra ...Action) map[Category][]Action {
		m := map[Category][]Action{}
		for _, c := range Categories {
			as := slices.Clone(handle)
			as = append(as, extra...)
			if c == CategoryLabResult {
				as = append(as, ActionShareLabResult)
			}
			m[c] = as
		}
		return m
	}
	office := func(extra ...Action) map[Category][]Action {
		m := map[Category][]Action{}
		for _, c := range []Category{CategoryGeneral, CategoryAppointment, CategoryBilling, CategoryInternal} {
			m[c] = append(slices.Clone(handle), extra...)
		}
		return m
	}
	return Permissions{
		RoleProvider:   clinical(ActionExport),
		RoleNurse:      clinical(),
		RoleFrontDesk:  office(),
		RoleAdmin:      office(ActionExport),
		RoleBilling:    {CategoryBilling: slices.Clone(handle), CategoryInternal: slices.Clone(handle)},
		RoleCompliance: {},
	}
}

// Validate checks that p names only staff roles, known categories and
// known actions, and grants share_lab_result only on lab_result.
func (p Permissions) Validate() error {
	for r, cats := range p {
		if !r.IsStaff() {
			return Errorf(KindInvalid, "permissions: role must be a staff role.")
		}
		for c, as := range cats {
			if !c.Valid() {
				return Errorf(KindInvalid, "permissions: unknown category.")
			}
			for _, a := range as {
				if !a.Valid() {
					return Errorf(KindInvalid, "permissions: unknown action.")
				}
				if a == ActionShareLabResult && c != CategoryLabResult {
					return Errorf(KindInvalid, "permissions: share_lab_result applies to lab_result only.")
				}
			}
		}
	}
	return nil
}

// Actor is who asks: a signed-in user and what scopes them. The server
// builds it once per request from the store.
type Actor struct {
	UserID        string
	OrgID         string
	Role          Role
	DepartmentIDs []string // staff: the department queues they belong to
	PatientIDs    []string // patient: their own id; proxy: the patients they act for
	BreakGlass    []string // staff: patients under an active break-glass grant
}

// Subject is the patient data an action touches: a conversation (or a
// message in one), described by ids and kinds only.
type Subject struct {
	OrgID              string
	PatientID          string // empty for a staff-only thread with no patient
	DepartmentID       string // the queue the conversation is addressed to
	Category           Category
	AssigneeID         string
	CreatedBy          string
	CareTeam           []string // the patient's care team (user ids)
	PatientDepartments []string // the patient's departments
}

// Decision is the outcome of Decide.
type Decision struct {
	Allow      bool
	BreakGlass bool   // allowed only through an active break-glass grant: audit it as such
	Err        *Error // why not, when !Allow: KindNotFound or KindForbidden
}

// Decision errors. A subject the actor may not know exists (another
// organization's, another patient's) is not found, never forbidden.
var (
	errPolicyNotFound   = &Error{Kind: KindNotFound, Code: "not_found", Msg: "Not found."}
	errPolicyRole       = &Error{Kind: KindForbidden, Code: "forbidden", Msg: "Your role does not allow this action on this kind of conversation."}
	errPolicyOutOfScope = &Error{Kind: KindForbidden, Code: "out_of_scope", Msg: "This patient is outside your care team and departments. Use emergency access (break-glass) with a reason if you need it."}
)

// Decide is the one access decision for patient conversations and messages:
// may actor a do act on subject s, under matrix p? It is pure: everything
// it needs is in its arguments. Every handler that touches a conversation
// calls it.
//
// Rules, in order: another organization's subject is not found. Patients
// and proxies may read and reply in their own patients' non-internal
// conversations; anything else is not found. Staff need the matrix to grant
// the action on the category (else forbidden), and the subject in scope: on
// the patient's care team, in one of the patient's departments or the
// conversation's queue, the assignee, or (for a thread with no patient) its
// creator. Out of scope, an active break-glass grant for the patient allows
// it flagged BreakGlass; otherwise forbidden with code out_of_scope.
func Decide(p Permissions, a Actor, s Subject, act Action) Decision {
	if a.OrgID == "" || a.OrgID != s.OrgID {
		return Decision{Err: errPolicyNotFound}
	}
	switch {
	case a.Role == RolePatient || a.Role == RoleProxy:
		if s.PatientID == "" || s.Category == CategoryInternal || !slices.Contains(a.PatientIDs, s.PatientID) {
			return Decision{Err: errPolicyNotFound}
		}
		if act != ActionRead && act != ActionReply {
			return Decision{Err: errPolicyRole}
		}
		return Decision{Allow: true}
	case !a.Role.IsStaff():
		return Decision{Err: errPolicyNotFound}
	}
	if !p.Allows(a.Role, s.Category, act) {
		return Decision{Err: errPolicyRole}
	}
	if inScope(a, s) {
		return Decision{Allow: true}
	}
	if s.PatientID != "" && slices.Contains(a.BreakGlass, s.PatientID) {
		return Decision{Allow: true, BreakGlass: true}
	}
	return Decision{Err: errPolicyOutOfScope}
}

// inScope reports whether staff actor a reaches s without break-glass.
func inScope(a Actor, s Subject) bool {
	if s.AssigneeID != "" && s.AssigneeID == a.UserID {
		return true
	}
	if s.DepartmentID != "" && slices.Contains(a.DepartmentIDs, s.DepartmentID) {
		return true
	}
	if s.PatientID == "" {
		return s.CreatedBy == a.UserID
	}
	if slices.Contains(s.CareTeam, a.UserID) {
		return true
	}
	for _, d := range s.PatientDepartments {
		if slices.Contains(a.DepartmentIDs, d) {
			return true
		}
	}
	return false
}

// CanManagePatients reports whether role r may create and edit patient
// records and invite patients: every staff role except billing and
// compliance.
func CanManagePatients(r Role) bool {
	return r.IsStaff() && r != RoleBilling && r != RoleCompliance
}

// CanViewPatients reports whether role r may search the organization's
// patients and read their demographics (needed to start a conversation or
// bill): every staff role except compliance, which reads the audit trail.
func CanViewPatients(r Role) bool { return r.IsStaff() && r != RoleCompliance }

// CanReadAudit reports whether role r may read the audit trail and reports.
func CanReadAudit(r Role) bool { return r == RoleCompliance || r == RoleAdmin }

// PatientCanStart reports whether a patient or proxy may open a new
// conversation of category c: a question, a refill, an appointment or a
// billing question.
func PatientCanStart(c Category) bool {
	switch c {
	case CategoryGeneral, CategoryRefill, CategoryAppointment, CategoryBilling:
		return true
	}
	return false
}
