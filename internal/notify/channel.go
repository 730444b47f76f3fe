package notify

import "sotto"

// Channel names.
const (
	ChannelSMS   = "sms"   // text message through an SMS provider (notify/sms)
	ChannelEmail = "email" // e-mail through an SMTP relay or e-mail API
	ChannelPush  = "push"  // mobile or web push through a push service
	ChannelLog   = "log"   // the server log, for development and demos
)

// Channel describes one way an organization's notifications leave the
// server, as far as the PHI rules care: which kind of channel it is and
// whether the organization has a business associate agreement (BAA) with
// the vendor that carries it. The store keeps it with the channel's
// configuration; an administrator sets BAAOnFile only once the signed
// agreement exists.
type Channel struct {
	Name      string // ChannelSMS, ChannelEmail, ChannelPush or ChannelLog
	BAAOnFile bool   // a BAA covers the vendor that carries this channel
}

// Validate returns a KindInvalid *sotto.Error unless ch.Name is one of the
// channel names. The admin API calls it before storing a channel.
func (ch Channel) Validate() error {
	switch ch.Name {
	case ChannelSMS, ChannelEmail, ChannelPush, ChannelLog:
		return nil
	}
	return invalid("notify.Channel.Validate", "Unknown notification channel; use sms, email, push or log.")
}

// Allowed reports whether template t may be sent through ch. The notifier
// calls it before every render and send, and the admin API when a template
// or channel changes, so that a practice learns of a refusal when it
// configures rather than when a patient goes without a reminder.
//
// It returns nil when it may; a KindInvalid *sotto.Error for a nil
// template or an unknown channel; and a KindForbidden *sotto.Error with
// Code "baa_required" when t NeedsBAA and ch has no BAA on file: without
// one a channel may carry only the PHI-free templates. The log channel is
// no exception: without a BAA it must not hold PHI either.
func Allowed(t *Template, ch Channel) error {
	const op = "notify.Allowed"
	if t == nil {
		return invalid(op, "A template is required.")
	}
	if err := ch.Validate(); err != nil {
		return err
	}
	if t.NeedsBAA() && !ch.BAAOnFile {
		return &sotto.Error{Kind: sotto.KindForbidden, Code: "baa_required", Op: op,
			Msg: "This template uses the appointment date or time, which may only be sent through a channel with a business associate agreement on file."}
	}
	return nil
}
