package sms

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Outbound message statuses, as a Twilio-compatible provider reports them
// in Send's Result and in status callbacks.
const (
	StatusQueued      = "queued"
	StatusAccepted    = "accepted"  // by a messaging service, before a sender is chosen
	StatusScheduled   = "scheduled" // for a scheduled send
	StatusCanceled    = "canceled"
	StatusSending     = "sending"
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
	StatusFailed      = "failed"
	StatusRead        = "read" // WhatsApp and RCS read receipts
)

// StatusUpdate is one delivery-status callback.
type StatusUpdate struct {
	SID        string // the message's SID, as Send returned it
	Status     string // one of the Status constants
	ErrorCode  int    // the provider's error code for failed and undelivered messages; 0 if none
	AccountSID string // the account the message belongs to; "" if not sent
}

// Final reports whether no further status will follow (delivered, read,
// undelivered, failed, canceled).
func (u StatusUpdate) Final() bool {
	switch u.Status {
	case StatusDelivered, StatusRead, StatusUndelivered, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Inbound is one text message a recipient sent to the practice's number.
// From and Body are personal data and Body may be PHI: never log them.
type Inbound struct {
	SID        string // the provider's message SID
	AccountSID string // "" if not sent
	From       string // the sender, normally E.164 ("whatsapp:+1..." for WhatsApp)
	To         string // the practice's number that received it
	Body       string // the text, possibly empty for a picture message; invalid UTF-8 replaced
	NumMedia   int    // attached media items (not fetched)
}

// ParseStatusCallback reads a status callback's form, after ReadWebhook
// has verified it. The status-callback webhook handler calls it and
// updates the notification whose provider SID matches. It reads
// MessageSid and MessageStatus (or the legacy SmsSid and SmsStatus),
// ErrorCode and AccountSid, and ignores other fields. Errors are
// KindInvalid *sotto.Errors naming the field, never its value: a missing
// or malformed SID, an unknown status, a non-numeric error code, or a
// field given twice.
func ParseStatusCallback(form url.Values) (StatusUpdate, error) {
	const op = "sms.ParseStatusCallback"
	var u StatusUpdate
	var err error
	if u.SID, err = either(op, form, "MessageSid", "SmsSid"); err != nil {
		return StatusUpdate{}, err
	}
	if !isID(u.SID) {
		return StatusUpdate{}, invalid(op, "MessageSid is missing or malformed.")
	}
	if u.Status, err = either(op, form, "MessageStatus", "SmsStatus"); err != nil {
		return StatusUpdate{}, err
	}
	switch u.Status {
	case StatusQueued, StatusAccepted, StatusScheduled, StatusCanceled, StatusSending,
		StatusSent, StatusDelivered, StatusUndelivered, StatusFailed, StatusRead:
	default:
		return StatusUpdate{}, invalid(op, "MessageStatus is missing or unknown.")
	}
	code, err := one(op, form, "ErrorCode")
	if err != nil {
		return StatusUpdate{}, err
	}
	if code != "" {
		if len(code) > 7 || strings.ContainsFunc(code, func(r rune) bool { return r < '0' || r > '9' }) {
			return StatusUpdate{}, invalid(op, "ErrorCode is not a number.")
		}
		u.ErrorCode, _ = strconv.Atoi(code)
	}
	if u.AccountSID, err = one(op, form, "AccountSid"); err != nil {
		return StatusUpdate{}, err
	}
	if u.AccountSID != "" && !isID(u.AccountSID) {
		return StatusUpdate{}, invalid(op, "AccountSid is malformed.")
	}
	return u, nil
}

// ParseInbound reads an inbound message's form, after ReadWebhook has
// verified it. The inbound-message webhook handler calls it. It reads
// MessageSid (or SmsSid), AccountSid, From, To, Body and NumMedia and
// ignores other fields. Errors are KindInvalid *sotto.Errors naming the
// field, never its value: a missing or malformed SID, From or To (1-64
// printable characters), a body over 4096 characters, NumMedia not 0-99,
// or a field given twice. An invalid UTF-8 body is repaired, not refused,
// so that no reply (a STOP, say) is lost.
func ParseInbound(form url.Values) (Inbound, error) {
	const op = "sms.ParseInbound"
	var in Inbound
	var err error
	if in.SID, err = either(op, form, "MessageSid", "SmsSid"); err != nil {
		return Inbound{}, err
	}
	if !isID(in.SID) {
		return Inbound{}, invalid(op, "MessageSid is missing or malformed.")
	}
	if in.AccountSID, err = one(op, form, "AccountSid"); err != nil {
		return Inbound{}, err
	}
	if in.AccountSID != "" && !isID(in.AccountSID) {
		return Inbound{}, invalid(op, "AccountSid is malformed.")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"From", &in.From}, {"To", &in.To}} {
		if *f.dst, err = one(op, form, f.name); err != nil {
			return Inbound{}, err
		}
		if !isAddress(*f.dst) {
			return Inbound{}, invalid(op, f.name+" is missing or malformed.")
		}
	}
	if in.Body, err = one(op, form, "Body"); err != nil {
		return Inbound{}, err
	}
	in.Body = strings.ToValidUTF8(in.Body, "\uFFFD")
	if utf8.RuneCountInString(in.Body) > 4096 {
		return Inbound{}, invalid(op, "Body is too long.")
	}
	n, err := one(op, form, "NumMedia")
	if err != nil {
		return Inbound{}, err
	}
	if n != "" {
		if in.NumMedia, err = strconv.Atoi(n); err != nil || len(n) > 2 || in.NumMedia < 0 {
			return Inbound{}, invalid(op, "NumMedia is not a number from 0 to 99.")
		}
	}
	return in, nil
}

// one returns form's only value for name, "" if absent, and an error if
// the name is given more than once.
func one(op string, form url.Values, name string) (string, error) {
	switch vs := form[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", invalid(op, name+" is given more than once.")
}

// either returns the value of name, or of legacy when name is absent; if
// both are given they must agree.
func either(op string, form url.Values, name, legacy string) (string, error) {
	v, err := one(op, form, name)
	if err != nil {
		return "", err
	}
	old, err := one(op, form, legacy)
	if err != nil {
		return "", err
	}
	if v != "" && old != "" && v != old {
		return "", invalid(op, name+" and "+legacy+" disagree.")
	}
	if v == "" {
		v = old
	}
	return v, nil
}

// isAddress reports whether s looks like a message address: 1-64
// printable characters without spaces at either end.
func isAddress(s string) bool {
	if s == "" || len(s) > 64 || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}
