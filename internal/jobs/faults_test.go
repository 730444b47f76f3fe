package jobs_test

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
	"sotto/internal/notify/push"
	"sotto/internal/notify/push/pushtest"
	"sotto/internal/notify/sms"
	"sotto/internal/notify/sms/smstest"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPushRetriedAfterOutages: a push service that answers 503, then
// resets the connection, then accepts, gets exactly one copy, which the
// device decrypts to the PHI-free text; a gone device is forgotten.
func TestPushRetriedAfterOutages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		svc := pushtest.NewServer(t)
		sub, dev := svc.Subscribe()
		gone, goneDev := svc.Subscribe()
		goneDev.Unsubscribe()
		for _, s := range []push.Subscription{sub, gone} {
			raw, _ := json.Marshal(s)
			write(t, db, func(tx *store.Tx) error {
				_, err := tx.AddPushSubscription(f.org.ID, f.puser.ID, s.Endpoint, raw)
				return err
			})
		}
		keys, err := push.GenerateVAPID()
		if err != nil {
			t.Fatal(err)
		}
		client := svc.Client()
		client.Timeout = 500 * time.Millisecond
		sender, err := push.NewSender(keys, "mailto:ops@lakeside.example", client)
		if err != nil {
			t.Fatal(err)
		}
		dev.FailWith(503, 1)
		dev.Reset(1)
		startRunner(t, db, jobs.Channels{Push: sender}, noon, 0)
		m := f.send(t)
		got := f.notifications(t, m, 1, settled)[0]
		if got.Channel != "push" || got.Status != sotto.NotifySent {
			t.Fatalf("notification = %+v; want push sent", got)
		}
		rcv := dev.Received()
		if len(rcv) != 1 {
			t.Fatalf("device received %d pushes; want exactly 1", len(rcv))
		}
		var payload map[string]string
		if err := json.Unmarshal(rcv[0], &payload); err != nil {
			t.Fatal(err)
		}
		checkText(t, payload["body"])
		subs, err := db.PushSubscriptions(context.Background(), f.org.ID, f.puser.ID)
		if err != nil || len(subs) != 1 {
			t.Fatalf("subscriptions after a 410 = %d, %v; want the gone one deleted", len(subs), err)
		}
	})
}

// TestEmailDroppedConnectionIsRetriedOnce: the SMTP server drops the first
// connection mid-session; the retry delivers one message.
func TestEmailDroppedConnectionIsRetriedOnce(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	f := newFixture(t, db, "America/Chicago")
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	es, err := email.New(email.Config{Host: host, Port: p, From: "Lakeside Clinic <no-reply@lakeside.example>", RootCAs: srv.RootCAs(), HelloName: "sotto.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv.DropConnection()
	startRunner(t, db, jobs.Channels{Email: es}, noon, 0)
	m := f.send(t)
	got := f.notifications(t, m, 1, settled)[0]
	if got.Status != sotto.NotifySent || got.Attempts < 2 {
		t.Fatalf("notification = %+v; want sent after a retry", got)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("SMTP server accepted %d messages; want 1", n)
	}
}

// TestSMSProviderDownThenUp: connections to the provider are refused (it
// is down), then it comes back: one text, nothing lost.
func TestSMSProviderDownThenUp(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	f := newFixture(t, db, "America/Chicago")
	f.consentSMS(t)
	// Reserve a port nothing listens on yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := sms.New(sms.Config{BaseURL: "http://" + addr, AccountSID: accountSID, AuthToken: authToken, From: "+15005550001"})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, db, jobs.Channels{SMS: c}, noon, 0)
	m := f.send(t)
	// Wait for at least one failed attempt, then bring the provider up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, _ := db.Notifications(context.Background(), f.org.ID, store.NotificationFilter{MessageID: m.ID})
		if len(list) == 1 && list[0].Attempts >= 1 && strings.HasPrefix(list[0].ErrorCode, "sms_") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded: %+v", list)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fake := smstestOn(t, addr)
	got := f.notifications(t, m, 1, settled)[0]
	if got.Status != sotto.NotifySent {
		t.Fatalf("notification = %+v; want sent once the provider is back", got)
	}
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("provider accepted %d texts; want 1", n)
	}
}

func smstestOn(t *testing.T, addr string) *smstest.Server {
	return smstest.NewServerAt(t, addr, accountSID, authToken)
}
