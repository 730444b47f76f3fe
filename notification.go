package sotto

import (
	"strings"
	"time"
)

// Notification is one attempt to tell one person, through one channel,
// that something waits for them inside sotto ("You have a new secure
// message from Lakeside Clinic"). It holds ids, kinds and statuses only:
// the destination (phone number, e-mail address, push endpoint) is looked
// up, decrypted, when it is sent, and the text is rendered from a PHI-free
// template at that moment.
type Notification struct {
	ID             string             `json:"id"`
	OrgID          string             `json:"org_id"`
	UserID         string             `json:"user_id,omitempty"` // the recipient; "" for an invitation (the patient has no account yet)
	PatientID      string             `json:"patient_id,omitempty"`
	ConversationID string             `json:"conversation_id,omitempty"`
	MessageID      string             `json:"message_id,omitempty"`
	Kind           NotificationKind   `json:"kind"`
	Channel        string             `json:"channel"` // sms, email, push or log
	Status         NotificationStatus `json:"status"`
	Urgent         bool               `json:"urgent,omitempty"` // not held by quiet hours
	ProviderID     string             `json:"provider_id,omitempty"`
	Attempts       int                `json:"attempts"`
	ErrorCode      string             `json:"error_code,omitempty"` // e.g. "sms_21610", "smtp_550", "timeout"
	HeldUntil      *time.Time         `json:"held_until,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	SentAt         *time.Time         `json:"sent_at,omitempty"`
	DeliveredAt    *time.Time         `json:"delivered_at,omitempty"`
}

// NotificationKind says why a notification is sent.
type NotificationKind string

// Notification kinds.
const (
	NotifyNewMessage  NotificationKind = "new_message"   // a patient has a new secure message
	NotifyUnreadNudge NotificationKind = "unread_nudge"  // the message is still unread after the nudge delay
	NotifyStaffQueue  NotificationKind = "staff_queue"   // a new item arrived in a staff member's queue
	NotifyInvitation  NotificationKind = "invitation"    // a portal invitation link, to a patient or proxy
	NotifyOneTimeCode NotificationKind = "one_time_code" // a passwordless sign-in code the user asked for
	// NotifyStaffInvitation carries a new staff member's account set-up link.
	NotifyStaffInvitation NotificationKind = "staff_invitation"
)

// NotificationStatus is where a notification stands.
type NotificationStatus string

// Notification statuses. Queued, held and sending can still change;
// delivered, failed, undelivered, suppressed and cancelled are final
// (delivered and undelivered come from provider callbacks after sent).
const (
	NotifyQueued      NotificationStatus = "queued"      // waiting for its job
	NotifyHeld        NotificationStatus = "held"        // quiet hours: waits until morning
	NotifySent        NotificationStatus = "sent"        // the provider accepted it
	NotifyDelivered   NotificationStatus = "delivered"   // the provider reported delivery
	NotifyFailed      NotificationStatus = "failed"      // permanent failure or retries exhausted (dead letter)
	NotifyUndelivered NotificationStatus = "undelivered" // the provider reported it could not deliver
	NotifySuppressed  NotificationStatus = "suppressed"  // not sent: opted out, no consent, no address
	NotifyCancelled   NotificationStatus = "cancelled"   // not needed any more (the message was read)
)

// Final reports whether s can no longer change through sending (a sent
// notification may still become delivered or undelivered).
func (s NotificationStatus) Final() bool {
	switch s {
	case NotifyQueued, NotifyHeld:
		return false
	}
	return true
}

// NotifyPrefs are one user's notification preferences and, for SMS, the
// record of consent. Without SMS consent no text message is sent.
type NotifyPrefs struct {
	SMS              bool       `json:"sms"`
	Email            bool       `json:"email"`
	Push             bool       `json:"push"`
	SMSConsentAt     *time.Time `json:"sms_consent_at,omitempty"`
	SMSConsentSource string     `json:"sms_consent_source,omitempty"` // e.g. "intake_form", "verbal", "portal"
	UpdatedAt        time.Time  `json:"updated_at"`
}

// DefaultNotifyPrefs are the preferences of a user who never set any:
// e-mail and push allowed, SMS not (no consent recorded).
func DefaultNotifyPrefs() NotifyPrefs { return NotifyPrefs{Email: true, Push: true} }

// MaxConsentSourceLen bounds NotifyPrefs.SMSConsentSource.
const MaxConsentSourceLen = 64

// Validate returns a KindInvalid *Error when the preferences cannot be
// stored: SMS allowed without a consent source, or a source that is not a
// short token of letters, digits, '_' or '-' (it must never carry PHI).
func (p *NotifyPrefs) Validate() error {
	src := p.SMSConsentSource
	if len(src) > MaxConsentSourceLen || strings.IndexFunc(src, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) >= 0 {
		return Errorf(KindInvalid, "sms_consent_source must be a short code such as intake_form, verbal or portal.")
	}
	if p.SMS && src == "" {
		return Errorf(KindInvalid, "Text messages need a record of consent: give sms_consent_source.")
	}
	return nil
}
