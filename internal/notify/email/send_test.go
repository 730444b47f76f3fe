package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
)

func TestSendSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, withAuth(testUser, testPass))
	m := testMessage()
	before := time.Now().Add(-time.Second)
	if err := s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@lakeside.example" || len(got.To) != 1 || got.To[0] != rcpt {
		t.Errorf("envelope = %q -> %q", got.From, got.To)
	}
	if !got.TLS || got.TLSVersion < tls.VersionTLS12 {
		t.Errorf("TLS = %v version %#x, want TLS 1.2+", got.TLS, got.TLSVersion)
	}
	if got.AuthUser != testUser {
		t.Errorf("AuthUser = %q", got.AuthUser)
	}
	// Only EHLO and STARTTLS may travel in clear.
	for _, c := range srv.Commands() {
		if !c.TLS && c.Verb != "EHLO" && c.Verb != "STARTTLS" {
			t.Errorf("%s was sent in clear", c.Verb)
		}
	}

	p := parse(t, got.Data)
	h := p.header
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 ||
		from[0].Address != "no-reply@lakeside.example" || from[0].Name != "Lakeside Clinic" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != rcpt {
		t.Errorf("To = %v (%v)", to, err)
	}
	if subj := decodeHeader(t, h.Get("Subject")); subj != m.Subject {
		t.Errorf("Subject = %q, want %q", subj, m.Subject)
	}
	if date, err := h.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %v (%v)", date, err)
	}
	if id := h.Get("Message-Id"); id != "<notif-42@lakeside.example>" {
		t.Errorf("Message-ID = %q", id)
	}
	if v := h.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", v)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToUpper(ct), "UTF-8") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, k := range []string{"User-Agent", "X-Mailer", "Bcc"} {
		if v := h.Get(k); v != "" {
			t.Errorf("unexpected header %s: %q", k, v)
		}
	}
	if p.body != spanish {
		t.Errorf("body = %q, want %q", p.body, spanish)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{ImplicitTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, func(c *email.Config) {
		c.TLS = email.ModeImplicit
		withAuth(testUser, testPass)(c)
	})
	if err := s.Send(ctxTimeout(t, 10*time.Second), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].TLSVersion < tls.VersionTLS12 || msgs[0].AuthUser != testUser {
		t.Fatalf("messages = %+v", msgs)
	}
	for _, c := range srv.Commands() {
		if !c.TLS {
			t.Errorf("%s sent outside TLS in implicit mode", c.Verb)
		}
	}
	if p := parse(t, msgs[0].Data); p.body != spanish {
		t.Errorf("body = %q", p.body)
	}
}

func TestSendWithoutAuth(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	s := newSender(t, srv.Addr, srv, nil)
	if err := s.Send(ctxTimeout(t, 10*time.Second), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if srv.Saw("AUTH") || len(srv.Messages()) != 1 {
		t.Fatalf("commands %v, %d messages", srv.Commands(), len(srv.Messages()))
	}
}

func TestRandomMessageIDWhenUnset(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	s := newSender(t, srv.Addr, srv, nil)
	m := testMessage()
	m.MessageID = ""
	for range 2 {
		if err := s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.Messages()
	id0, id1 := parse(t, msgs[0].Data).header.Get("Message-Id"), parse(t, msgs[1].Data).header.Get("Message-Id")
	if id0 == id1 || !strings.HasSuffix(id0, "@lakeside.example>") {
		t.Errorf("Message-IDs %q, %q: want distinct, From domain", id0, id1)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, withAuth(testUser, testPass))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := testMessage()
			m.MessageID = fmt.Sprintf("notif-%d", i)
			errs <- s.Send(ctxTimeout(t, 20*time.Second), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(srv.Messages()); got != n {
		t.Errorf("delivered %d, want %d", got, n)
	}
}

func TestInvalidMessageRefusedBeforeConnecting(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	s := newSender(t, srv.Addr, srv, nil)
	cases := map[string]func(*email.Message){
		"CRLF in subject":      func(m *email.Message) { m.Subject = "Hola\r\nBcc: evil@attacker.example" },
		"LF in subject":        func(m *email.Message) { m.Subject = "Hola\nX-Evil: 1" },
		"CR in subject":        func(m *email.Message) { m.Subject = "Hola\rX-Evil: 1" },
		"CRLF in to":           func(m *email.Message) { m.To = rcpt + "\r\nBcc: evil@attacker.example" },
		"SMTP injection in to": func(m *email.Message) { m.To = rcpt + ">\r\nRCPT TO:<evil@attacker.example" },
		"ESMTP param smuggle":  func(m *email.Message) { m.To = `"paciente@example.org> NOTIFY=NEVER"@example.org` },
		"quoted local part":    func(m *email.Message) { m.To = `"pa ciente"@example.org` },
		"non-ASCII address":    func(m *email.Message) { m.To = "paciente@ejemplo.españa" },
		"two recipients":       func(m *email.Message) { m.To = rcpt + ", otro@example.org" },
		"empty to":             func(m *email.Message) { m.To = "" },
		"empty subject":        func(m *email.Message) { m.Subject = "" },
		"long subject":         func(m *email.Message) { m.Subject = strings.Repeat("a", 251) },
		"empty text":           func(m *email.Message) { m.Text = " \n" },
		"NUL in text":          func(m *email.Message) { m.Text = "a\x00b" },
		"bare CR in text":      func(m *email.Message) { m.Text = "a\rb" },
		"non-UTF-8 text":       func(m *email.Message) { m.Text = "a\xffb" },
		"bad message ID":       func(m *email.Message) { m.MessageID = "a b" },
		"CRLF in message ID":   func(m *email.Message) { m.MessageID = "a\r\nX-Evil: 1" },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			m := testMessage()
			mut(&m)
			err := s.Send(context.Background(), m)
			assertClass(t, err, false, m)
			if !errors.Is(err, email.ErrInvalidMessage) {
				t.Errorf("err = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("invalid messages opened %d connections", n)
	}
}

func TestDisplayNameRecipient(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	s := newSender(t, srv.Addr, srv, nil)
	m := testMessage()
	m.To = "José Pérez <" + rcpt + ">"
	if err := s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0]
	to, err := parse(t, got.Data).header.AddressList("To")
	if err != nil || got.To[0] != rcpt || to[0].Name != "José Pérez" {
		t.Errorf("envelope %v header %v (%v)", got.To, to, err)
	}
}
