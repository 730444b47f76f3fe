package jobs

import (
	"context"
	"strconv"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/notify/sms"
	"sotto/internal/store"
)

// SMS keywords (CTIA and carrier conventions).
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true, "YES": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
)

// SMSStatus applies a provider's delivery report to the notification it
// names, with an audit entry. An unknown SID is ignored (not ours, or
// long gone). Callers: the status-callback webhook, after its signature
// was verified. Errors: KindInternal.
func (n *Notifier) SMSStatus(ctx context.Context, u sms.StatusUpdate) error {
	var status sotto.NotificationStatus
	switch u.Status {
	case sms.StatusDelivered, sms.StatusRead:
		status = sotto.NotifyDelivered
	case sms.StatusUndelivered:
		status = sotto.NotifyUndelivered
	case sms.StatusFailed:
		status = sotto.NotifyFailed
	default:
		return nil // queued, sending, sent: nothing new for us
	}
	return n.db.Write(ctx, func(tx *store.Tx) error {
		nn, err := tx.NotificationByProvider("sms", u.SID)
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		up := store.NotificationUpdate{Status: status}
		if status == sotto.NotifyDelivered {
			now := n.now()
			up.DeliveredAt = &now
		}
		if u.ErrorCode != 0 {
			code := "sms_" + strconv.Itoa(u.ErrorCode)
			up.ErrorCode = &code
		}
		if _, err := tx.UpdateNotification(nn.OrgID, nn.ID, up); err != nil {
			return err
		}
		outcome := sotto.AuditSuccess
		if status != sotto.NotifyDelivered {
			outcome = sotto.AuditFailure
		}
		return audit.Append(tx, &sotto.AuditEvent{OrgID: nn.OrgID, ActorRole: sotto.AuditRoleSystem, Action: sotto.AuditNotificationStatus,
			TargetType: "notification", TargetID: nn.ID, PatientID: nn.PatientID, Outcome: outcome})
	})
}

// SMSInbound handles a text someone sent to the practice's number and
// returns the one reply to send back ("" for none). STOP and its synonyms
// opt the number out at once, before any queued text goes; START opts it
// back in; HELP answers with the practice, where to reach it and how to
// opt out. Anything else is not kept (it may hold PHI): the sender is told
// to use the secure portal. Every case is audited, without the text.
// Callers: the inbound webhook, after its signature was verified.
// Errors: KindInternal.
func (n *Notifier) SMSInbound(ctx context.Context, in sms.Inbound) (string, error) {
	word := strings.ToUpper(strings.Trim(strings.TrimSpace(in.Body), ".!"))
	from := strings.TrimPrefix(in.From, "whatsapp:")
	action, out := sotto.AuditSMSInbound, false
	switch {
	case stopWords[word]:
		action, out = sotto.AuditSMSOptOut, true
	case startWords[word]:
		action = sotto.AuditSMSOptIn
	case helpWords[word]:
		action = "notification.help"
	}
	var orgs []string
	err := n.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if action == sotto.AuditSMSOptOut || action == sotto.AuditSMSOptIn {
			orgs, err = tx.SetSMSOptOut(from, out, word)
		} else {
			orgs, err = tx.OrgsWithPhone(from)
		}
		if err != nil {
			return err
		}
		targets := orgs
		if len(targets) == 0 {
			targets = []string{sotto.SystemOrgID} // a number no practice knows: still on the record
		}
		for _, org := range targets {
			if err := audit.Append(tx, &sotto.AuditEvent{OrgID: org, ActorRole: sotto.AuditRoleAnonymous, Action: action,
				TargetType: "sms", TargetID: in.SID, Outcome: sotto.AuditSuccess}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	practice := "sotto"
	if len(orgs) == 1 {
		if o, err := n.db.Org(ctx, orgs[0]); err == nil {
			practice = o.Name
		}
	}
	portal := n.publicURL + "/portal"
	switch action {
	case sotto.AuditSMSOptOut:
		return practice + ": you are unsubscribed and will receive no more texts from this number. Reply START to resubscribe.", nil
	case sotto.AuditSMSOptIn:
		return practice + ": you are subscribed again to secure message alerts. Reply STOP to opt out, HELP for help.", nil
	case "notification.help":
		return practice + " secure message alerts. Read and reply at " + portal + " . Msg&data rates may apply. Reply STOP to opt out.", nil
	}
	return practice + ": this number does not accept replies. Please send your message securely at " + portal + " . Reply STOP to opt out.", nil
}
