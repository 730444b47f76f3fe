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
