package sotto

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditEvent is one entry of an organization's tamper-evident audit trail
// (HIPAA 164.312(b)): who did what to which object, when, from where, and
// whether it worked.
//
// An AuditEvent holds identifiers and kinds only, never PHI: no names,
// birth dates, contact points, message text or search terms. Ids are opaque
// (UUIDs); Action, ActorRole, TargetType and Outcome are fixed vocabulary;
// SourceIP, UserAgent and RequestID describe the connection. Validate
// enforces the shapes that keep free text out.
//
// ID, Seq, PrevHash and Hash are assigned by the audit package when the
// event is appended (At too, when zero); callers fill in the rest.
type AuditEvent struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"org_id"`
	Seq        int64     `json:"seq"` // per-org sequence, from 1, without gaps
	At         time.Time `json:"at"`
	ActorID    string    `json:"actor_id,omitempty"`
	ActorRole  string    `json:"actor_role"` // a Role, AuditRoleSystem or AuditRoleAnonymous
	Action     string    `json:"action"`     // one of the Audit* action constants
	TargetType string    `json:"target_type,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	PatientID  string    `json:"patient_id,omitempty"` // the patient whose data was touched
	Outcome    string    `json:"outcome"`              // AuditSuccess, AuditFailure or AuditDenied
	SourceIP   string    `json:"source_ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	PrevHash   []byte    `json:"prev_hash"` // Hash of the entry before (32 zero bytes for Seq 1)
	Hash       []byte    `json:"hash"`      // SHA-256 chain hash of this entry
}

// SystemOrgID is the organization id of audit events that belong to no
// organization, such as a failed sign-in for an unknown account. It is the
// nil UUID; its trail is verified like any other.
const SystemOrgID = "00000000-0000-0000-0000-000000000000"

// Actor roles that are not user roles.
const (
	AuditRoleSystem    = "system"    // the server itself (jobs, start-up, rotation)
	AuditRoleAnonymous = "anonymous" // an unauthenticated client
)

// Audit outcomes.
const (
	AuditSuccess = "success"
	AuditFailure = "failure" // the action was attempted and failed
	AuditDenied  = "denied"  // the action was refused by access control
)

// Audit actions: the whole product's vocabulary, dotted lowercase
// "object.verb". Packages append events with these values; new actions are
// added here so that exports and reports know them.
const (
	AuditSignIn             = "auth.sign_in"
	AuditSignInFailed       = "auth.sign_in_failed"
	AuditMFAEnroll          = "auth.mfa_enroll"
	AuditMFAVerify          = "auth.mfa_verify"
	AuditMFAFailed          = "auth.mfa_failed"
	AuditMFAReset           = "auth.mfa_reset"
	AuditPasswordChange     = "auth.password_change"
	AuditLockout            = "auth.lockout"
	AuditSignOut            = "auth.sign_out"
	AuditSignInCode         = "auth.sign_in_code" // a one-time sign-in code was sent
	AuditSessionExpired     = "auth.session_expired"
	AuditOrgCreate          = "org.create"
	AuditOrgUpdate          = "org.update"
	AuditUserCreate         = "user.create"
	AuditUserUpdate         = "user.update"
	AuditUserDisable        = "user.disable"
	AuditUserInvite         = "user.invite" // a staff account set-up link was sent
	AuditDepartmentCreate   = "department.create"
	AuditLocationCreate     = "location.create"
	AuditDepartmentMember   = "department.member"
	AuditPatientCreate      = "patient.create"
	AuditPatientUpdate      = "patient.update"
	AuditPatientView        = "patient.view"
	AuditPatientSearch      = "patient.search"
	AuditPatientInvite      = "patient.invite"
	AuditInviteAccept       = "patient.invite_accept"
	AuditInviteFailed       = "patient.invite_failed" // a wrong birth date on an invitation
	AuditConversationCreate = "conversation.create"
	AuditConversationView   = "conversation.view"
	AuditConversationList   = "conversation.list" // an inbox page (subjects of several patients)
	AuditConversationUpdate = "conversation.update"
	AuditMessageSend        = "message.send"
	AuditMessageRead        = "message.read"
	AuditMessageDeliver     = "message.deliver"
	AuditMessageRetract     = "message.retract"
	AuditAttachmentUpload   = "attachment.upload"
	AuditAttachmentDownload = "attachment.download"
	AuditNotificationSend   = "notification.send"
	AuditNotificationStatus = "notification.status"  // a provider's delivery report
	AuditNotificationRetry  = "notification.retry"   // an admin re-queued a dead letter
	AuditNotifyPrefs        = "notification.prefs"   // preferences or SMS consent changed
	AuditSMSOptOut          = "notification.opt_out" // STOP and its synonyms
	AuditSMSOptIn           = "notification.opt_in"  // START
	AuditSMSInbound         = "notification.inbound" // any other text received (content not kept)
	AuditWebhookRejected    = "webhook.rejected"     // a webhook with a missing or bad signature
	AuditPushSubscribe      = "notification.push_subscribe"
	AuditPermissionChange   = "permission.change"
	AuditBreakGlass         = "access.break_glass"
	AuditBreakGlassUse      = "access.break_glass_use" // a read or write allowed only by a break-glass grant
	AuditAccessDenied       = "access.denied"
	AuditKeyRotate          = "key.rotate"
	AuditKeyShred           = "key.shred"
	AuditExport             = "data.export" // any export of records or of the audit trail
	AuditLogView            = "audit.view"
	AuditLogVerify          = "audit.verify"
	AuditCheckpoint         = "audit.checkpoint"
	AuditConfigChange       = "config.change"
	AuditSetup              = "system.setup"
)

// Size limits of AuditEvent fields, in bytes.
const (
	MaxAuditIDLen        = 128 // ActorID, TargetID, PatientID, RequestID
	MaxAuditTokenLen     = 32  // Action, ActorRole, TargetType
	MaxAuditUserAgentLen = 512 // longer user agents are truncated, not refused
	MaxAuditIPLen        = 64
)

// Validate checks e before it is appended and returns a KindInvalid *Error
// naming the first bad field. The message never repeats the value.
//
// Rules: OrgID is a canonical lowercase UUID (SystemOrgID for events of no
// org); Action is dotted lowercase ("auth.sign_in"), at most 32 bytes;
// ActorRole and TargetType are lowercase tokens [a-z0-9_] of at most 32
// bytes (ActorRole is required, TargetType optional); Outcome is one of the
// three outcomes; ActorID, TargetID, PatientID and RequestID are at most
// 128 bytes of visible ASCII (no spaces, so no free text); SourceIP, when
// set, is an IP address.
//
// UserAgent comes unfiltered from clients, so Validate repairs it instead
// of refusing the action: invalid UTF-8 and control characters become
// U+FFFD and it is cut to MaxAuditUserAgentLen bytes at a character
// boundary. Validate is the only place that changes e. Callers: the audit
// package (on every append); anyone may call it earlier.
func (e *AuditEvent) Validate() error {
	if !isCanonicalUUID(e.OrgID) {
		return Errorf(KindInvalid, "audit org_id must be a lowercase UUID.")
	}
	if !isDottedAction(e.Action) {
		return Errorf(KindInvalid, "audit action must be dotted lowercase words of at most %d bytes.", MaxAuditTokenLen)
	}
	if e.ActorRole == "" || !isToken(e.ActorRole) {
		return Errorf(KindInvalid, "audit actor_role must be a lowercase word of at most %d bytes.", MaxAuditTokenLen)
	}
	if e.TargetType != "" && !isToken(e.TargetType) {
		return Errorf(KindInvalid, "audit target_type must be a lowercase word of at most %d bytes.", MaxAuditTokenLen)
	}
	switch e.Outcome {
	case AuditSuccess, AuditFailure, AuditDenied:
	default:
		return Errorf(KindInvalid, "audit outcome must be success, failure or denied.")
	}
	for _, f := range [...]struct{ name, v string }{
		{"actor_id", e.ActorID}, {"target_id", e.TargetID},
		{"patient_id", e.PatientID}, {"request_id", e.RequestID},
	} {
		if !isVisibleASCII(f.v, MaxAuditIDLen) {
			return Errorf(KindInvalid, "audit %s must be at most %d visible ASCII characters.", f.name, MaxAuditIDLen)
		}
	}
	if e.TargetID != "" && e.TargetType == "" {
		return Errorf(KindInvalid, "audit target_type is required with target_id.")
	}
	if e.SourceIP != "" {
		if len(e.SourceIP) > MaxAuditIPLen {
			return Errorf(KindInvalid, "audit source_ip must be an IP address.")
		}
		if _, err := netip.ParseAddr(e.SourceIP); err != nil {
			return Errorf(KindInvalid, "audit source_ip must be an IP address.")
		}
	}
	e.UserAgent = CleanUserAgent(e.UserAgent)
	return nil
}

// CleanUserAgent returns ua as Validate stores it: valid UTF-8 without
// control characters, at most MaxAuditUserAgentLen bytes.
func CleanUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	ua = strings.Map(func(r rune) rune {
		if isControl(r) || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, ua)
	if len(ua) <= MaxAuditUserAgentLen {
		return ua
	}
	cut := MaxAuditUserAgentLen
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return ua[:cut]
}

// isCanonicalUUID reports whether s is a UUID in lowercase 8-4-4-4-12 form.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// isToken reports whether s is 1..MaxAuditTokenLen bytes of [a-z0-9_]
// starting with a letter.
func isToken(s string) bool {
	if s == "" || len(s) > MaxAuditTokenLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isDottedAction reports whether s is two or more tokens joined by dots,
// at most MaxAuditTokenLen bytes in all.
func isDottedAction(s string) bool {
	if len(s) > MaxAuditTokenLen {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !isToken(p) {
			return false
		}
	}
	return true
}

// isVisibleASCII reports whether s is at most max bytes of 0x21..0x7e.
func isVisibleASCII(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
