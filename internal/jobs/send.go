package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/notify"
	"sotto/internal/notify/email"
	"sotto/internal/notify/push"
	"sotto/internal/notify/sms"
	"sotto/internal/store"
)

// errSuppressed marks a notification that must not be sent (no consent,
// opted out, no address); its code is recorded.
type errSuppressed struct{ code string }

func (e errSuppressed) Error() string { return "jobs: notification suppressed: " + e.code }

// send delivers one notification. It re-checks everything at the moment
// of sending (preferences, consent, opt-out, quiet hours), so a STOP that
// arrives after the job was queued still wins. A temporary failure is
// returned to River, which retries with backoff; a permanent one, or the
// last attempt, records the notification as failed (the dead-letter list).
func (n *Notifier) send(ctx context.Context, args SendArgs) error {
	nn, err := n.db.Notification(ctx, args.OrgID, args.NotificationID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if nn.Status.Final() {
		return nil // already sent (a re-run after the provider accepted it) or settled
	}
	// Attempts are counted on the notification, not taken from River: a
	// Retry-After snooze (below) does not count as a River attempt.
	attempt, maxAttempts := nn.Attempts+1, n.maxTries
	providerID, err := n.deliver(ctx, nn)
	var sup errSuppressed
	var hold *holdError
	switch {
	case err == nil:
		now := n.now()
		return n.finish(ctx, nn, store.NotificationUpdate{Status: sotto.NotifySent, ProviderID: &providerID, SentAt: &now,
			Attempts: &attempt, ErrorCode: ptr(""), HeldUntil: &time.Time{}}, sotto.AuditSuccess)
	case errors.As(err, &sup):
		return n.finish(ctx, nn, store.NotificationUpdate{Status: sotto.NotifySuppressed, ErrorCode: &sup.code, Attempts: &attempt}, sotto.AuditFailure)
	case errors.As(err, &hold):
		if err := n.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.UpdateNotification(nn.OrgID, nn.ID, store.NotificationUpdate{Status: sotto.NotifyHeld, HeldUntil: &hold.until})
			return err
		}); err != nil {
			return err
		}
		return river.JobSnooze(hold.until.Sub(n.now()))
	}
	code := errorCode(err)
	if temporary(err) && attempt < maxAttempts {
		if werr := n.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.UpdateNotification(nn.OrgID, nn.ID, store.NotificationUpdate{Attempts: &attempt, ErrorCode: &code})
			return err
		}); werr != nil {
			return werr
		}
		if d := retryAfter(err); d > 0 {
			// The provider said when to come back: wait that long rather
			// than our backoff. A snooze does not use up an attempt in
			// River, so count it against ours.
			return river.JobSnooze(d)
		}
		return err
	}
	if ferr := n.finish(ctx, nn, store.NotificationUpdate{Status: sotto.NotifyFailed, Attempts: &attempt, ErrorCode: &code}, sotto.AuditFailure); ferr != nil {
		return ferr
	}
	return river.JobCancel(err)
}

// finish records a notification's outcome with its audit entry.
func (n *Notifier) finish(ctx context.Context, nn *sotto.Notification, u store.NotificationUpdate, outcome string) error {
	return n.db.Write(ctx, func(tx *store.Tx) error {
		got, err := tx.UpdateNotification(nn.OrgID, nn.ID, u)
		if err != nil {
			return err
		}
		return audit.Append(tx, n.event(got, outcome))
	})
}

type holdError struct{ until time.Time }

func (h *holdError) Error() string { return "jobs: held for quiet hours" }

// deliver renders and sends nn through its channel and returns the
// provider's id for it.
func (n *Notifier) deliver(ctx context.Context, nn *sotto.Notification) (string, error) {
	c, prefs, err := n.recipient(ctx, nn)
	if err != nil {
		return "", err
	}
	org, err := n.db.Org(ctx, nn.OrgID)
	if err != nil {
		return "", err
	}
	vars := map[string]string{notify.VarPracticeName: org.Name, notify.VarLink: n.publicURL + "/portal"}
	kind := notify.KindNewMessage
	switch nn.Kind {
	case sotto.NotifyStaffQueue:
		kind, vars[notify.VarLink] = notify.KindStaffItem, n.publicURL+"/inbox/c/"+nn.ConversationID
		if nn.Urgent {
			kind = notify.KindStaffUrgent
		}
	case sotto.NotifyInvitation:
		link, err := n.db.NotificationPayload(ctx, nn.OrgID, nn.ID)
		if err != nil {
			return "", err
		}
		kind, vars[notify.VarLink], vars[notify.VarExpiresDays] = notify.KindInvitation, string(link), strconv.Itoa(InviteDays)
	case sotto.NotifyStaffInvitation:
		link, err := n.db.NotificationPayload(ctx, nn.OrgID, nn.ID)
		if err != nil {
			return "", err
		}
		kind, vars[notify.VarLink], vars[notify.VarExpiresDays] = notify.KindStaffInvitation, string(link), strconv.Itoa(InviteDays)
	case sotto.NotifyOneTimeCode:
		code, err := n.db.NotificationPayload(ctx, nn.OrgID, nn.ID)
		if err != nil {
			return "", err
		}
		delete(vars, notify.VarLink)
		kind, vars[notify.VarCode], vars[notify.VarMinutes] = notify.KindOneTimeCode, string(code), strconv.Itoa(SignInCodeMinutes)
	}
	text, err := n.render(ctx, nn.OrgID, kind, c.Language, vars, nn.Channel)
	if err != nil {
		return "", err
	}
	switch nn.Channel {
	case notify.ChannelLog:
		if n.ch.Log == nil {
			return "", errSuppressed{"channel_off"}
		}
		n.ch.Log.add(OutboxItem{At: n.now(), OrgID: nn.OrgID, UserID: nn.UserID, NotificationID: nn.ID, Text: text})
		return "", nil
	case notify.ChannelSMS:
		switch {
		case n.ch.SMS == nil:
			return "", errSuppressed{"channel_off"}
		case !prefs.SMS || prefs.SMSConsentAt == nil:
			return "", errSuppressed{"no_consent"}
		case c.Phone == "":
			return "", errSuppressed{"no_address"}
		}
		out, err := n.db.SMSOptedOut(ctx, nn.OrgID, c.Phone)
		if err != nil {
			return "", err
		}
		if out {
			return "", errSuppressed{"opted_out"}
		}
		if until, quiet := QuietUntil(n.now(), c.TimeZone); quiet && !nn.Urgent {
			return "", &holdError{until}
		}
		res, err := n.ch.SMS.Send(ctx, c.Phone, text, nn.ID)
		return res.SID, err
	case notify.ChannelEmail:
		switch {
		case n.ch.Email == nil:
			return "", errSuppressed{"channel_off"}
		case !prefs.Email:
			return "", errSuppressed{"no_consent"}
		case c.Email == "":
			return "", errSuppressed{"no_address"}
		}
		return "", n.ch.Email.Send(ctx, email.Message{To: c.Email, Subject: subject(kind, c.Language, org.Name), Text: text, MessageID: nn.ID})
	case notify.ChannelPush:
		if n.ch.Push == nil {
			return "", errSuppressed{"channel_off"}
		}
		if !prefs.Push {
			return "", errSuppressed{"no_consent"}
		}
		return n.push(ctx, nn, org.Name, text, vars[notify.VarLink])
	}
	return "", errSuppressed{"unknown_channel"}
}

// recipient decrypts where nn goes and what the recipient allowed: a
// user's contact and preferences; for an invitation, the patient's record
// (staff chose the channel with the patient); for a staff SMS alert, the
// on-call number (set by an admin: that is the consent).
func (n *Notifier) recipient(ctx context.Context, nn *sotto.Notification) (store.Contact, sotto.NotifyPrefs, error) {
	if nn.Kind == sotto.NotifyInvitation {
		p, err := n.db.Patient(ctx, nn.OrgID, nn.PatientID)
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			return store.Contact{}, sotto.NotifyPrefs{}, errSuppressed{"no_recipient"}
		}
		if err != nil {
			return store.Contact{}, sotto.NotifyPrefs{}, err
		}
		c := store.Contact{Phone: p.Phone, Email: p.Email, Language: p.Language, TimeZone: p.TimeZone}
		return c, sotto.NotifyPrefs{SMS: true, Email: true, SMSConsentAt: &nn.CreatedAt}, nil
	}
	prefs, err := n.db.NotifyPrefs(ctx, nn.OrgID, nn.UserID)
	if err != nil {
		return store.Contact{}, prefs, err
	}
	c, err := n.db.NotifyContact(ctx, nn.OrgID, nn.UserID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return c, prefs, errSuppressed{"no_recipient"}
	}
	if err != nil {
		return c, prefs, err
	}
	if nn.Kind == sotto.NotifyOneTimeCode {
		// The user asked for this code, to this address, just now.
		prefs.SMS, prefs.Email, prefs.SMSConsentAt = true, true, &nn.CreatedAt
	}
	if nn.Kind == sotto.NotifyStaffInvitation {
		// Their administrator sends a new account's set-up link to its
		// sign-in address: the only way in, whatever the preferences say.
		prefs.Email = true
	}
	if nn.Kind == sotto.NotifyStaffQueue && nn.Channel == notify.ChannelSMS {
		if c.Phone, err = n.staffPhone(ctx, nn); err != nil {
			return c, prefs, err
		}
		prefs.SMS, prefs.SMSConsentAt = true, &nn.CreatedAt
	}
	return c, prefs, nil
}

// push sends to every subscription of the recipient; a subscription the
// push service reports gone is deleted. It succeeds when one device got it.
func (n *Notifier) push(ctx context.Context, nn *sotto.Notification, practice, text, link string) (string, error) {
	subs, err := n.db.PushSubscriptions(ctx, nn.OrgID, nn.UserID)
	if err != nil {
		return "", err
	}
	payload, _ := json.Marshal(map[string]string{"title": practice, "body": text, "url": link})
	var firstErr error
	sent := 0
	for _, s := range subs {
		sub, err := push.ParseSubscription(s.JSON, n.ch.PushInsecure)
		if err == nil {
			_, err = n.ch.Push.Send(ctx, sub, payload, push.Options{Urgency: urgency(nn.Urgent), Topic: pushTopic(nn)})
		}
		switch {
		case err == nil:
			sent++
		case errors.Is(err, push.ErrGone) || errors.Is(err, push.ErrInvalidSubscription):
			if derr := n.db.Write(ctx, func(tx *store.Tx) error { return tx.DeletePushSubscription(nn.OrgID, "", s.ID) }); derr != nil {
				return "", derr
			}
		case firstErr == nil:
			firstErr = err
		}
	}
	if sent > 0 {
		return "", nil
	}
	if firstErr == nil {
		return "", errSuppressed{"no_subscription"}
	}
	return "", firstErr
}

// pushTopic collapses a device's unseen notifications of one kind into
// the newest: a patient needs one "new message", staff one "inbox" alert.
func pushTopic(nn *sotto.Notification) string {
	if nn.Kind == sotto.NotifyStaffQueue {
		return "sotto-inbox"
	}
	return "sotto-new-message"
}

func urgency(urgent bool) string {
	if urgent {
		return push.UrgencyHigh
	}
	return push.UrgencyNormal
}

// render fills the organization's own template of kind for lang (or the
// shipped PHI-free default) and checks that the channel may carry it: an
// organization's template that needs a business associate agreement the
// channel lacks gives way to the default.
func (n *Notifier) render(ctx context.Context, orgID string, kind notify.Kind, lang string, vars map[string]string, channel string) (string, error) {
	t, err := notify.Defaults(kind, lang)
	if err != nil {
		return "", err
	}
	ch := notify.Channel{Name: channel, BAAOnFile: n.baa(channel)}
	own, err := n.db.NotifyTemplate(ctx, orgID, string(kind), t.Lang())
	switch {
	case err == nil:
		if ot, perr := notify.ParseTemplate(kind, t.Lang(), own.Text); perr == nil && (channel == "none" || notify.Allowed(ot, ch) == nil) {
			t = ot
		}
	case sotto.ErrorKind(err) != sotto.KindNotFound:
		return "", err
	}
	if channel != "none" {
		if err := notify.Allowed(t, ch); err != nil {
			return "", err
		}
	}
	return t.Render(vars)
}

// baa reports whether a business associate agreement covers channel.
func (n *Notifier) baa(channel string) bool {
	switch channel {
	case notify.ChannelSMS:
		return n.ch.SMSBAA
	case notify.ChannelEmail:
		return n.ch.EmailBAA
	case notify.ChannelPush:
		return n.ch.PushBAA
	}
	return false
}

// subject is an e-mail's subject line for kind, as PHI-free as its text.
func subject(kind notify.Kind, lang, practice string) string {
	es := strings.HasPrefix(strings.ToLower(lang), "es")
	switch {
	case kind == notify.KindInvitation && es:
		return "Invitación a los mensajes seguros de " + practice
	case kind == notify.KindInvitation:
		return "Your invitation to secure messaging with " + practice
	case kind == notify.KindStaffInvitation && es:
		return "Su cuenta de personal de " + practice + " en sotto"
	case kind == notify.KindStaffInvitation:
		return "Your " + practice + " staff account on sotto"
	case kind == notify.KindOneTimeCode && es:
		return "Su clave de acceso de " + practice
	case kind == notify.KindOneTimeCode:
		return "Your " + practice + " sign-in code"
	case es:
		return "Nuevo mensaje seguro de " + practice
	}
	return "New secure message from " + practice
}

// retryAfter is the wait a provider asked for with a temporary failure
// (Retry-After), at most an hour; 0 when it asked for none.
func retryAfter(err error) time.Duration {
	var pe *sms.ProviderError
	d := push.RetryAfter(err)
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		d = pe.RetryAfter
	}
	return min(d, time.Hour)
}

// temporary reports whether err may succeed on a later attempt.
func temporary(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, sms.ErrTemporary), errors.Is(err, email.ErrTemporary), push.IsTemporary(err):
		return true
	case errors.Is(err, sms.ErrPermanent), errors.Is(err, email.ErrPermanent), push.IsPermanent(err):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return true
	}
	// Store and other internal failures: worth another try.
	return sotto.ErrorKind(err) == sotto.KindInternal || sotto.ErrorKind(err) == sotto.KindUnavailable
}

// errorCode is a short, PHI-free code for a failure, kept on the
// notification for admins and reports.
func errorCode(err error) string {
	var pe *sms.ProviderError
	var se *email.SMTPError
	var pu *push.Error
	switch {
	case errors.As(err, &pe) && pe.Code != 0:
		return "sms_" + strconv.Itoa(pe.Code)
	case errors.As(err, &pe) && pe.HTTPStatus != 0:
		return "sms_http_" + strconv.Itoa(pe.HTTPStatus)
	case errors.As(err, &pe):
		return "sms_network"
	case errors.As(err, &se) && se.Code != 0:
		return "smtp_" + strconv.Itoa(se.Code)
	case errors.As(err, &se):
		return "smtp_" + se.Stage
	case errors.As(err, &pu) && pu.Status != 0:
		return "push_" + strconv.Itoa(pu.Status)
	case errors.As(err, &pu):
		return "push_network"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	if k := sotto.ErrorKind(err); k != "" {
		return fmt.Sprintf("internal_%s", k)
	}
	return "error"
}

func ptr[T any](v T) *T { return &v }

// QuietUntil reports whether now falls in SMS quiet hours (21:00 to 08:00)
// in zone (an IANA name; unknown or empty means UTC), and if so when they
// end. Callers: the sender, for non-urgent texts.
func QuietUntil(now time.Time, zone string) (time.Time, bool) {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	t := now.In(loc)
	h := t.Hour()
	if h >= 8 && h < 21 {
		return time.Time{}, false
	}
	day := t
	if h >= 21 {
		day = t.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, loc), true
}
