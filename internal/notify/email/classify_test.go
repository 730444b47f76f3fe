package email_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
)

func TestNoSTARTTLSIsPermanentAndNothingInClear(t *testing.T) {
	// A server that would even take AUTH in clear: the client must not.
	srv := smtptest.NewServer(t, smtptest.Options{RequireAuth: true, User: testUser, Pass: testPass, AuthWithoutTLS: true})
	s := newSender(t, srv.Addr, srv, withAuth(testUser, testPass))
	m := testMessage()
	err := s.Send(ctxTimeout(t, 10*time.Second), m)
	assertClass(t, err, false, m)
	if !errors.Is(err, email.ErrNoSTARTTLS) {
		t.Errorf("err = %v, want ErrNoSTARTTLS", err)
	}
	if se := smtpErr(t, err); se.Stage != "starttls" || se.Code != 0 {
		t.Errorf("SMTPError = %+v", se)
	}
	assertNothingSent(t, srv)
	for _, c := range srv.Commands() {
		if c.Verb != "EHLO" && c.Verb != "QUIT" {
			t.Errorf("client sent %s in clear", c.Verb)
		}
	}
}

func TestReplyCodesClassified(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, withAuth(testUser, testPass))
	cases := []struct {
		code      int
		enhanced  string
		temporary bool
	}{
		{450, "4.2.1", true}, {451, "4.3.0", true}, {452, "4.2.2", true},
		{550, "5.1.1", false}, {553, "5.1.3", false}, {554, "5.7.1", false},
	}
	for _, tc := range cases {
		t.Run("rcpt", func(t *testing.T) {
			// The reply text echoes the recipient, as real servers do; it
			// must not reach the error string.
			srv.FailRcpt(tc.code, tc.enhanced+" <"+rcpt+">: Recipient address rejected")
			m := testMessage()
			err := s.Send(ctxTimeout(t, 10*time.Second), m)
			assertClass(t, err, tc.temporary, m)
			se := smtpErr(t, err)
			if se.Code != tc.code || se.Stage != "rcpt" || se.Enhanced != tc.enhanced || se.Temporary != tc.temporary {
				t.Errorf("SMTPError = %+v", se)
			}
		})
	}
	for _, tc := range cases {
		t.Run("data", func(t *testing.T) {
			srv.FailData(tc.code)
			m := testMessage()
			err := s.Send(ctxTimeout(t, 10*time.Second), m)
			assertClass(t, err, tc.temporary, m)
			if se := smtpErr(t, err); se.Code != tc.code || se.Stage != "data-end" {
				t.Errorf("SMTPError = %+v", se)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages accepted despite failures", n)
	}
}

func TestDroppedConnectionIsTemporary(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	s := newSender(t, srv.Addr, srv, nil)
	srv.DropConnection()
	m := testMessage()
	err := s.Send(ctxTimeout(t, 10*time.Second), m)
	assertClass(t, err, true, m)
	if se := smtpErr(t, err); se.Stage != "mail" || se.Code != 0 {
		t.Errorf("SMTPError = %+v", se)
	}
	// The next attempt goes through.
	if err := s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestAuthFailureIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, withAuth(testUser, "wrong-password"))
	m := testMessage()
	err := s.Send(ctxTimeout(t, 10*time.Second), m)
	assertClass(t, err, false, m)
	if se := smtpErr(t, err); se.Code != 535 || se.Stage != "auth" || se.Enhanced != "5.7.8" {
		t.Errorf("SMTPError = %+v", se)
	}
	assertNothingSent(t, srv)
}

func TestAuthRequiredWithoutCredentialsIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, RequireAuth: true, User: testUser, Pass: testPass})
	s := newSender(t, srv.Addr, srv, nil)
	err := s.Send(ctxTimeout(t, 10*time.Second), testMessage())
	assertClass(t, err, false, testMessage())
	if se := smtpErr(t, err); se.Code != 530 || se.Stage != "mail" {
		t.Errorf("SMTPError = %+v", se)
	}
}

func TestNoAuthMechanismIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true}) // no AUTH offered
	s := newSender(t, srv.Addr, srv, withAuth(testUser, testPass))
	err := s.Send(ctxTimeout(t, 10*time.Second), testMessage())
	assertClass(t, err, false, testMessage())
	if !errors.Is(err, email.ErrNoAuthMechanism) {
		t.Errorf("err = %v", err)
	}
	assertNothingSent(t, srv)
}

func TestUntrustedCertificateIsTemporary(t *testing.T) {
	for _, mode := range []email.Mode{email.ModeSTARTTLS, email.ModeImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true, ImplicitTLS: mode == email.ModeImplicit,
				User: testUser, Pass: testPass})
			s := newSender(t, srv.Addr, nil, func(c *email.Config) {
				c.TLS = mode
				c.RootCAs = x509.NewCertPool() // trusts nothing
				withAuth(testUser, testPass)(c)
			})
			err := s.Send(ctxTimeout(t, 10*time.Second), testMessage())
			assertClass(t, err, true, testMessage())
			if srv.Saw("AUTH") {
				t.Error("credentials sent to an unverified server")
			}
			assertNothingSent(t, srv)
		})
	}
}

func TestConnectionRefusedIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := newSender(t, addr, nil, nil)
	err = s.Send(ctxTimeout(t, 10*time.Second), testMessage())
	assertClass(t, err, true, testMessage())
	if se := smtpErr(t, err); se.Stage != "dial" {
		t.Errorf("SMTPError = %+v", se)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
		s := newSender(t, srv.Addr, srv, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Send(ctx, testMessage())
		assertClass(t, err, true, testMessage())
		if !errors.Is(err, context.Canceled) || srv.Connections() != 0 {
			t.Errorf("err = %v, connections = %d", err, srv.Connections())
		}
	})
	t.Run("cancelled while waiting for the server", func(t *testing.T) {
		s := newSender(t, hangingListener(t), nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := s.Send(ctx, testMessage())
		assertClass(t, err, true, testMessage())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send returned after %v", d)
		}
	})
	t.Run("config timeout", func(t *testing.T) {
		s := newSender(t, hangingListener(t), nil, func(c *email.Config) { c.Timeout = 200 * time.Millisecond })
		err := s.Send(context.Background(), testMessage())
		assertClass(t, err, true, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if se := smtpErr(t, err); se.Stage != "greeting" {
			t.Errorf("SMTPError = %+v", se)
		}
	})
}
