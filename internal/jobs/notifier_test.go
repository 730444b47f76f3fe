package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
	"sotto/internal/notify/sms"
	"sotto/internal/notify/sms/smstest"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// All data here is obviously fake.
const (
	practice   = "Lakeside Clinic (TEST)"
	secretText = "CANARY-lab-result-potassium-5.9"
	patPhone   = "+15005550006"
	patEmail   = "testy.mctestface@example.test"
	accountSID = "ACtest0000000000000000000000000000"
	authToken  = "test-auth-token-0000"
)

// fixture is one practice with a nurse and a patient who has a portal
// account, and a conversation between them.
type fixture struct {
	db      *store.DB
	org     *sotto.Org
	nurse   *sotto.User
	patient *sotto.Patient
	puser   *sotto.User
	conv    *sotto.Conversation
}

func write(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func newFixture(t *testing.T, db *store.DB, zone string) *fixture {
	t.Helper()
	f := &fixture{db: db, org: &sotto.Org{Name: practice}}
	write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(f.org) })
	f.nurse = &sotto.User{OrgID: f.org.ID, Role: sotto.RoleNurse, Email: "nurse." + store.NewID() + "@example.test", Name: "Test Nurse"}
	f.puser = &sotto.User{OrgID: f.org.ID, Role: sotto.RolePatient, Email: "portal." + store.NewID() + "@example.test", Name: "Testy McTestface"}
	write(t, db, func(tx *store.Tx) error {
		if err := tx.InsertUser(f.nurse, store.Credentials{}); err != nil {
			return err
		}
		return tx.InsertUser(f.puser, store.Credentials{})
	})
	f.patient = &sotto.Patient{OrgID: f.org.ID, GivenName: "Testy", FamilyName: "McTestface", BirthDate: "1980-01-02",
		Sex: sotto.SexUnknown, MRN: "TEST-" + store.NewID()[:8], Phone: patPhone, Email: patEmail, Language: "en",
		TimeZone: zone, UserID: f.puser.ID}
	write(t, db, func(tx *store.Tx) error { return tx.InsertPatient(f.patient) })
	f.conv = &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patient.ID, Subject: "Test results", Category: sotto.CategoryLabResult, CreatedBy: f.nurse.ID}
	write(t, db, func(tx *store.Tx) error { _, err := tx.InsertConversation(f.conv); return err })
	return f
}

// consentSMS records the patient's SMS consent (from the intake form).
func (f *fixture) consentSMS(t *testing.T) {
	t.Helper()
	p := sotto.NotifyPrefs{SMS: true, Email: true, Push: true, SMSConsentSource: "intake_form"}
	write(t, f.db, func(tx *store.Tx) error { return tx.SetNotifyPrefs(f.org.ID, f.puser.ID, &p) })
}

// send stores a nurse's message to the patient and asks for its
// notifications in the same write, as the send path does.
func (f *fixture) send(t *testing.T) *sotto.Message {
	t.Helper()
	m := &sotto.Message{Body: secretText, IdempotencyKey: "k-" + store.NewID(), SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse}
	write(t, f.db, func(tx *store.Tx) error {
		if _, _, err := tx.InsertMessage(f.conv, m, []string{f.puser.ID}); err != nil {
			return err
		}
		jobs.EnqueueMessage(tx, f.org.ID, m.ID)
		return nil
	})
	return m
}

// notifications waits until message m has n notifications all in a
// final state, and returns them.
func (f *fixture) notifications(t *testing.T, m *sotto.Message, n int, done func(*sotto.Notification) bool) []*sotto.Notification {
	t.Helper()
	var list []*sotto.Notification
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		list, err = f.db.Notifications(context.Background(), f.org.ID, store.NotificationFilter{MessageID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		ok := len(list) == n
		for _, x := range list {
			ok = ok && done(x)
		}
		if ok {
			return list
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, x := range list {
		t.Logf("notification %s: channel %s status %s attempts %d error %q", x.ID, x.Channel, x.Status, x.Attempts, x.ErrorCode)
	}
	t.Fatalf("message %s: want %d settled notifications, have %d", m.ID, n, len(list))
	return nil
}

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func settled(n *sotto.Notification) bool { return n.Status != sotto.NotifyQueued }

func startRunner(t *testing.T, db *store.DB, ch jobs.Channels, now func() time.Time, nudge time.Duration) *jobs.Notifier {
	t.Helper()
	n := jobs.NewNotifier(db, ch, "https://msg.lakeside.example", nudge, now)
	// River logs job failures with their errors: none may carry PHI.
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := jobs.Start(context.Background(), db, n, jobs.Options{RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatalf("jobs.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		out := logs.String()
		for _, phi := range []string{patPhone, patEmail, secretText, "Testy", "McTestface", "Test results"} {
			if strings.Contains(out, phi) {
				t.Errorf("the job log holds PHI %q:\n%s", phi, out)
			}
		}
	})
	return n
}

func smsChannel(t *testing.T) (*smstest.Server, jobs.Channels) {
	t.Helper()
	fake := smstest.NewServer(t, accountSID, authToken)
	c, err := sms.New(sms.Config{BaseURL: fake.URL, AccountSID: accountSID, AuthToken: authToken, From: "+15005550001"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, jobs.Channels{SMS: c}
}

// middayZone names an IANA zone (Etc/GMT±N) where the local time at now
// is between 11:00 and 13:00, far from any quiet hours.
func middayZone(now time.Time) string {
	k := 12 - now.UTC().Hour() // hours east of UTC
	switch {
	case k > 0:
		return fmt.Sprintf("Etc/GMT-%d", k)
	case k < 0:
		return fmt.Sprintf("Etc/GMT+%d", -k)
	}
	return "Etc/UTC"
}

// noon is a daytime clock for America/Chicago (no quiet hours).
func noon() time.Time { return time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC) }

func checkText(t *testing.T, text string) {
	t.Helper()
	if strings.Contains(text, secretText) || strings.Contains(text, "Testy") || strings.Contains(text, "Test results") {
		t.Fatalf("notification text discloses PHI: %q", text)
	}
	if !strings.Contains(text, practice) || !strings.Contains(text, "https://msg.lakeside.example/portal") {
		t.Fatalf("notification text %q lacks the practice name or the link", text)
	}
}

func TestSMSNotificationSentOnceAndDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		f.consentSMS(t)
		fake, ch := smsChannel(t)
		fake.FailNext(2, 503, 0) // two temporary failures first
		n := startRunner(t, db, ch, noon, 0)
		m := f.send(t)
		got := f.notifications(t, m, 1, settled)[0]
		if got.Channel != "sms" || got.Status != sotto.NotifySent || got.ProviderID == "" || got.Attempts != 3 {
			t.Fatalf("notification = %+v; want sms sent on attempt 3 with a provider id", got)
		}
		msgs := fake.Messages()
		if len(msgs) != 1 || msgs[0].To != patPhone || msgs[0].Idempotency != got.ID {
			t.Fatalf("provider accepted %d messages (%+v); want exactly one to the patient keyed by the notification", len(msgs), msgs)
		}
		checkText(t, msgs[0].Body)

		// The provider reports delivery.
		if err := n.SMSStatus(context.Background(), sms.StatusUpdate{SID: got.ProviderID, Status: sms.StatusDelivered}); err != nil {
			t.Fatal(err)
		}
		got = f.notifications(t, m, 1, func(x *sotto.Notification) bool { return x.Status == sotto.NotifyDelivered })[0]
		if got.DeliveredAt == nil {
			t.Fatal("delivered notification has no delivered_at")
		}
		counts, err := db.NotificationCounts(context.Background(), f.org.ID, time.Now().Add(-time.Hour))
		if err != nil || counts["sms"][sotto.NotifyDelivered] != 1 {
			t.Fatalf("counts = %v, %v; want one delivered sms", counts, err)
		}
	})
}

func TestPermanentFailureIsADeadLetterAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		f.consentSMS(t)
		fake, ch := smsChannel(t)
		fake.FailNext(1, 400, sms.CodeInvalidTo)
		startRunner(t, db, ch, noon, 0)
		m := f.send(t)
		got := f.notifications(t, m, 1, settled)[0]
		if got.Status != sotto.NotifyFailed || got.ErrorCode != "sms_21211" || got.Attempts != 1 {
			t.Fatalf("notification = %+v; want failed at once with sms_21211", got)
		}
		if fake.Requests() != 1 {
			t.Fatalf("provider saw %d requests; a permanent failure must not be retried", fake.Requests())
		}
		dead, err := db.Notifications(context.Background(), f.org.ID, store.NotificationFilter{Status: sotto.NotifyFailed})
		if err != nil || len(dead) != 1 || dead[0].ID != got.ID {
			t.Fatalf("dead letters = %v, %v; want the failed notification", dead, err)
		}
	})
}

func TestOptOutWinsOverAQueuedSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		f.consentSMS(t)
		fake, ch := smsChannel(t)
		n := jobs.NewNotifier(db, ch, "https://msg.lakeside.example", 0, noon)
		m := f.send(t) // queued while no worker runs
		reply, err := n.SMSInbound(context.Background(), sms.Inbound{SID: "SM" + strings.Repeat("a", 32), From: patPhone, To: "+15005550001", Body: " stop "})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reply, "unsubscribed") || !strings.Contains(reply, practice) {
			t.Fatalf("STOP reply = %q; want one confirmation naming the practice", reply)
		}
		startRunner(t, db, ch, noon, 0)
		got := f.notifications(t, m, 1, settled)[0]
		if got.Status != sotto.NotifySuppressed || got.ErrorCode != "opted_out" {
			t.Fatalf("notification = %+v; want suppressed (opted_out)", got)
		}
		if fake.Requests() != 0 {
			t.Fatalf("provider saw %d requests after STOP", fake.Requests())
		}
		// START re-subscribes; HELP answers with the practice and opt-out words.
		if r, err := n.SMSInbound(context.Background(), sms.Inbound{SID: "SM" + strings.Repeat("b", 32), From: patPhone, Body: "START"}); err != nil || !strings.Contains(r, "subscribed again") {
			t.Fatalf("START reply = %q, %v", r, err)
		}
		if out, err := db.SMSOptedOut(context.Background(), f.org.ID, patPhone); err != nil || out {
			t.Fatalf("after START opted out = %v, %v", out, err)
		}
		if r, err := n.SMSInbound(context.Background(), sms.Inbound{SID: "SM" + strings.Repeat("c", 32), From: patPhone, Body: "help"}); err != nil ||
			!strings.Contains(r, practice) || !strings.Contains(r, "STOP") || !strings.Contains(r, "https://msg.lakeside.example/portal") {
			t.Fatalf("HELP reply = %q, %v", r, err)
		}
	})
}

func TestQuietHoursHoldTextsUntilMorning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		f.consentSMS(t)
		fake, ch := smsChannel(t)
		// 23:30 in Chicago (05:30 UTC next day).
		late := func() time.Time { return time.Date(2026, 11, 25, 5, 30, 0, 0, time.UTC) }
		startRunner(t, db, ch, late, 0)
		m := f.send(t)
		got := f.notifications(t, m, 1, settled)[0]
		chicago, _ := time.LoadLocation("America/Chicago")
		want := time.Date(2026, 11, 25, 8, 0, 0, 0, chicago)
		if got.Status != sotto.NotifyHeld || got.HeldUntil == nil || !got.HeldUntil.Equal(want) {
			t.Fatalf("notification = %+v; want held until %v", got, want)
		}
		if fake.Requests() != 0 {
			t.Fatal("a text was sent during quiet hours")
		}
	})
}

func TestEmailWithoutSMSConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
		host, port, _ := net.SplitHostPort(srv.Addr)
		p, _ := strconv.Atoi(port)
		es, err := email.New(email.Config{Host: host, Port: p, From: "Lakeside Clinic <no-reply@lakeside.example>", RootCAs: srv.RootCAs(), HelloName: "sotto.test"})
		if err != nil {
			t.Fatal(err)
		}
		smsFake, ch := smsChannel(t)
		ch.Email = es
		startRunner(t, db, ch, noon, 0)
		m := f.send(t)
		got := f.notifications(t, m, 1, settled)[0]
		if got.Channel != "email" || got.Status != sotto.NotifySent {
			t.Fatalf("notification = %+v; want an e-mail (no SMS consent)", got)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != patEmail || !msgs[0].TLS {
			t.Fatalf("SMTP server got %+v; want one message to the patient over TLS", msgs)
		}
		_, body, _ := strings.Cut(string(msgs[0].Data), "\r\n\r\n")
		text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		checkText(t, string(text))
		if smsFake.Requests() != 0 {
			t.Fatal("a text went to a patient without SMS consent")
		}
	})
}

func TestUnreadNudgeOnceOnlyWhenUnread(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// The nudge is scheduled on the real clock, so the patient lives
		// where it is midday now: no quiet hours whenever the test runs.
		f := newFixture(t, db, middayZone(time.Now()))
		f.consentSMS(t)
		fake, ch := smsChannel(t)
		startRunner(t, db, ch, time.Now, time.Second)
		unread := f.send(t)
		read := f.send(t)
		write(t, db, func(tx *store.Tx) error {
			_, err := tx.MarkReceipt(f.conv, read, f.puser.ID, true)
			return err
		})
		f.notifications(t, unread, 2, settled) // new_message + one unread_nudge
		f.notifications(t, read, 1, settled)   // new_message only
		list, _ := db.Notifications(context.Background(), f.org.ID, store.NotificationFilter{MessageID: unread.ID})
		kinds := map[sotto.NotificationKind]int{}
		for _, x := range list {
			kinds[x.Kind]++
		}
		if kinds[sotto.NotifyNewMessage] != 1 || kinds[sotto.NotifyUnreadNudge] != 1 {
			t.Fatalf("kinds = %v; want one new_message and one unread_nudge", kinds)
		}
		if got := len(fake.Messages()); got != 3 {
			t.Fatalf("provider accepted %d texts; want 3 (two messages, one nudge)", got)
		}
	})
}

func TestMiddayZone(t *testing.T) {
	for h := range 24 {
		now := time.Date(2026, 11, 24, h, 30, 0, 0, time.UTC)
		loc, err := time.LoadLocation(middayZone(now))
		if err != nil {
			t.Fatalf("%02d:30 UTC: %v", h, err)
		}
		if got := now.In(loc).Hour(); got != 12 {
			t.Errorf("%02d:30 UTC in %s is %02d h, want 12", h, loc, got)
		}
	}
}
