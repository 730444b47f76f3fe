package jobs

import (
	"github.com/riverqueue/river"

	"sotto"
	"sotto/internal/notify"
	"sotto/internal/store"
)

// InviteDays is how many days a portal invitation stays usable; the
// invitation text says so.
const InviteDays = 7

// EnqueueInvitation records, inside the Write that creates a patient's
// portal invitation, the notification that carries its link to the
// patient by channel (notify.ChannelSMS or notify.ChannelEmail) and asks
// for it to be sent after the commit. The link (it holds the invitation's
// token) is sealed on the notification, never in the job. Callers: the
// invitation API. Errors: KindInvalid (another channel, or one this
// server has not configured: code channel_not_configured), KindInternal.
func (n *Notifier) EnqueueInvitation(tx *store.Tx, orgID, patientID, channel, link string) (*sotto.Notification, error) {
	switch {
	case channel != notify.ChannelSMS && channel != notify.ChannelEmail:
		return nil, sotto.Errorf(sotto.KindInvalid, "send_via must be sms or email.")
	case n.ch.Log != nil:
		channel = notify.ChannelLog // demos: the outbox page instead
	case channel == notify.ChannelSMS && n.ch.SMS == nil, channel == notify.ChannelEmail && n.ch.Email == nil:
		return nil, &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured", Msg: "That channel is not configured on this server."}
	}
	nn := &sotto.Notification{OrgID: orgID, PatientID: patientID, Kind: sotto.NotifyInvitation, Channel: channel}
	if err := tx.InsertNotification(nn); err != nil {
		return nil, err
	}
	if err := tx.SetNotificationPayload(orgID, nn.ID, []byte(link)); err != nil {
		return nil, err
	}
	tx.Enqueue(SendArgs{OrgID: orgID, NotificationID: nn.ID}, &river.InsertOpts{MaxAttempts: n.maxTries})
	return nn, nil
}

// EnqueueStaffInvitation records, inside the Write that creates staff
// member userID's account (or sends them a new invitation), the e-mail
// that carries their account set-up link to the address of the account,
// and asks for it to be sent after the commit. The link (it holds the
// invitation's token) is sealed on the notification, never in the job;
// it stays usable InviteDays days. With the log channel (demos) it goes
// to the outbox page instead. Callers: the staff invitation API and admin
// console. Errors: KindInvalid code channel_not_configured (no e-mail
// channel), KindInternal.
func (n *Notifier) EnqueueStaffInvitation(tx *store.Tx, orgID, userID, link string) (*sotto.Notification, error) {
	channel := notify.ChannelEmail
	switch {
	case n.ch.Log != nil:
		channel = notify.ChannelLog
	case n.ch.Email == nil:
		return nil, &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured", Msg: "E-mail is not configured on this server, so the invitation cannot be sent."}
	}
	nn := &sotto.Notification{OrgID: orgID, UserID: userID, Kind: sotto.NotifyStaffInvitation, Channel: channel}
	if err := tx.InsertNotification(nn); err != nil {
		return nil, err
	}
	if err := tx.SetNotificationPayload(orgID, nn.ID, []byte(link)); err != nil {
		return nil, err
	}
	tx.Enqueue(SendArgs{OrgID: orgID, NotificationID: nn.ID}, &river.InsertOpts{MaxAttempts: n.maxTries})
	return nn, nil
}

// SignInCodeMinutes is how long a one-time sign-in code stays valid; the
// text says so.
const SignInCodeMinutes = 10

// EnqueueSignInCode records, inside the Write that stores a one-time
// sign-in code for user userID, the notification that carries it by
// channel (notify.ChannelSMS or notify.ChannelEmail) and asks for it to
// be sent at once: never held for quiet hours (the user is waiting), at
// most three tries (the code is dead in ten minutes). The code is sealed
// on the notification. Callers: the passwordless sign-in start. Errors:
// KindInvalid (code channel_not_configured), KindInternal.
func (n *Notifier) EnqueueSignInCode(tx *store.Tx, orgID, userID, channel, code string) error {
	switch {
	case channel != notify.ChannelSMS && channel != notify.ChannelEmail:
		return sotto.Errorf(sotto.KindInvalid, "A sign-in code goes by sms or email.")
	case n.ch.Log != nil:
		channel = notify.ChannelLog
	case channel == notify.ChannelSMS && n.ch.SMS == nil, channel == notify.ChannelEmail && n.ch.Email == nil:
		return &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured", Msg: "That channel is not configured on this server."}
	}
	nn := &sotto.Notification{OrgID: orgID, UserID: userID, Kind: sotto.NotifyOneTimeCode, Channel: channel, Urgent: true}
	if err := tx.InsertNotification(nn); err != nil {
		return err
	}
	if err := tx.SetNotificationPayload(orgID, nn.ID, []byte(code)); err != nil {
		return err
	}
	tx.Enqueue(SendArgs{OrgID: orgID, NotificationID: nn.ID}, &river.InsertOpts{MaxAttempts: 3})
	return nil
}

// Configured reports whether channel (notify.ChannelSMS, ChannelEmail)
// can send, or the log channel stands in for every channel. Callers: the
// sign-in page, to offer only what works.
func (n *Notifier) Configured(channel string) bool {
	switch {
	case n.ch.Log != nil:
		return true
	case channel == notify.ChannelSMS:
		return n.ch.SMS != nil
	case channel == notify.ChannelEmail:
		return n.ch.Email != nil
	}
	return false
}
