package email_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
)

const (
	testUser = "notifier"
	testPass = "s3cret-pass"
	rcpt     = "paciente@example.org"
	spanish  = "Tiene un nuevo mensaje seguro de Clínica Lakeside. Léalo aquí: https://sotto.example/m/9f2c\n"
)

// testMessage is the notification used across tests.
func testMessage() email.Message {
	return email.Message{
		To:        rcpt,
		Subject:   "Nuevo mensaje seguro de Clínica Lakeside",
		Text:      spanish,
		MessageID: "notif-42",
	}
}

// newSender returns a Sender pointed at srv with its CA trusted; mut may
// adjust the config.
func newSender(t *testing.T, addr string, srv *smtptest.Server, mut func(*email.Config)) *email.Sender {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	cfg := email.Config{
		Host:      host,
		Port:      port,
		From:      "Lakeside Clinic <no-reply@lakeside.example>",
		Timeout:   5 * time.Second,
		HelloName: "sotto.test",
	}
	if srv != nil {
		cfg.RootCAs = srv.RootCAs()
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := email.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func withAuth(user, pass string) func(*email.Config) {
	return func(c *email.Config) { c.Username, c.Password = user, pass }
}

// assertClass checks the classification and that the error text leaks
// neither the recipient nor the body.
func assertClass(t *testing.T, err error, temporary bool, m email.Message) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want error")
	}
	if got := errors.Is(err, email.ErrTemporary); got != temporary {
		t.Errorf("errors.Is(err, ErrTemporary) = %v, want %v (err: %v)", got, temporary, err)
	}
	if got := errors.Is(err, email.ErrPermanent); got == temporary {
		t.Errorf("errors.Is(err, ErrPermanent) = %v, want %v (err: %v)", got, !temporary, err)
	}
	assertNoLeak(t, err, m)
}

func assertNoLeak(t *testing.T, err error, m email.Message) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{m.To, "paciente", m.Text, "Léalo", "Tiene un nuevo", testPass} {
		if secret != "" && strings.Contains(msg, secret) {
			t.Errorf("error text %q contains %q", msg, secret)
		}
	}
}

func smtpErr(t *testing.T, err error) *email.SMTPError {
	t.Helper()
	var se *email.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not *SMTPError", err, err)
	}
	return se
}

// assertNothingSent checks the server never saw a transaction start.
func assertNothingSent(t *testing.T, srv *smtptest.Server) {
	t.Helper()
	for _, verb := range []string{"MAIL", "RCPT", "DATA"} {
		if srv.Saw(verb) {
			t.Errorf("server received %s; commands: %v", verb, srv.Commands())
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d messages, want 0", n)
	}
}

// parsed is a received message decoded for assertions.
type parsed struct {
	header mail.Header
	body   string
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, raw)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{header: m.Header, body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

// hangingListener accepts connections and never says anything.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
