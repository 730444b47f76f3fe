package email_test

import (
	"errors"
	"strings"
	"testing"

	"sotto/internal/notify/email"
)

func TestNewValidation(t *testing.T) {
	ok := email.Config{Host: "smtp.example.org", From: "Lakeside Clinic <no-reply@lakeside.example>"}
	if _, err := email.New(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	cases := map[string]func(*email.Config){
		"empty host":          func(c *email.Config) { c.Host = "" },
		"host with port":      func(c *email.Config) { c.Host = "smtp.example.org:25" },
		"host with CRLF":      func(c *email.Config) { c.Host = "smtp.example.org\r\nX" },
		"plaintext mode":      func(c *email.Config) { c.TLS = "none" },
		"unknown mode":        func(c *email.Config) { c.TLS = "ssl" },
		"negative port":       func(c *email.Config) { c.Port = -1 },
		"port too big":        func(c *email.Config) { c.Port = 70000 },
		"user without pass":   func(c *email.Config) { c.Username = "u" },
		"pass without user":   func(c *email.Config) { c.Password = "pw-7781" },
		"CRLF in credentials": func(c *email.Config) { c.Username, c.Password = "u\r\n", "pw-7781" },
		"empty from":          func(c *email.Config) { c.From = "" },
		"bad from":            func(c *email.Config) { c.From = "not an address" },
		"quoted from":         func(c *email.Config) { c.From = `"a b"@lakeside.example` },
		"negative timeout":    func(c *email.Config) { c.Timeout = -1 },
		"bad hello":           func(c *email.Config) { c.HelloName = "a b" },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			c := ok
			mut(&c)
			_, err := email.New(c)
			if !errors.Is(err, email.ErrInvalidConfig) || !errors.Is(err, email.ErrPermanent) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
			if c.Password != "" && strings.Contains(err.Error(), c.Password) {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

func TestNewAcceptsModesAndIPHosts(t *testing.T) {
	for _, c := range []email.Config{
		{Host: "127.0.0.1", From: "a@b.example", TLS: email.ModeImplicit},
		{Host: "::1", From: "a@b.example", TLS: email.ModeSTARTTLS, Port: 2525},
		{Host: "smtp.example.org", From: "a@b.example", Username: "u", Password: "p"},
	} {
		if _, err := email.New(c); err != nil {
			t.Errorf("New(%+v) = %v", c, err)
		}
	}
}

func TestSMTPErrorText(t *testing.T) {
	e := &email.SMTPError{Stage: "rcpt", Code: 550, Enhanced: "5.1.1"}
	if got, want := e.Error(), "email: smtp rcpt failed (permanent): reply 550 5.1.1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, email.ErrPermanent) || errors.Is(e, email.ErrTemporary) {
		t.Error("permanent SMTPError misclassified")
	}
	e.Temporary = true
	if errors.Is(e, email.ErrPermanent) || !errors.Is(e, email.ErrTemporary) {
		t.Error("temporary SMTPError misclassified")
	}
}
