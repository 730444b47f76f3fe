package smtptest

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"
)

// client is a raw line-level SMTP client for exercising the server.
type client struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t *testing.T, s *Server, implicit bool) *client {
	t.Helper()
	var conn net.Conn
	var err error
	if implicit {
		conn, err = tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: s.RootCAs(), ServerName: "127.0.0.1"})
	} else {
		conn, err = net.Dial("tcp", s.Addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	c.expect(220)
	return c
}

// cmd sends line and checks the reply code; it returns the reply text.
func (c *client) cmd(want int, line string) string {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.expect(want)
}

func (c *client) expect(want int) string {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil || code != want {
		c.t.Fatalf("reply %d %q (%v), want %d", code, msg, err, want)
	}
	return msg
}

func (c *client) startTLS(s *Server) {
	c.t.Helper()
	c.cmd(220, "STARTTLS")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: s.RootCAs(), ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn, c.tp = tc, textproto.NewConn(tc)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSTARTTLSAuthLoginAndDotUnstuffing(t *testing.T) {
	s := NewServer(t, Options{STARTTLS: true, RequireAuth: true, User: "u", Pass: "p"})
	c := dial(t, s, false)
	c.cmd(502, "MAIL FROM:<a@b.example>") // before EHLO
	ext := c.cmd(250, "EHLO client.test")
	if !strings.Contains(ext, "STARTTLS") || strings.Contains(ext, "AUTH") {
		t.Fatalf("plaintext EHLO = %q: want STARTTLS, no AUTH", ext)
	}
	c.cmd(523, "AUTH PLAIN "+b64("\x00u\x00p")) // TLS required
	c.startTLS(s)
	c.cmd(502, "MAIL FROM:<a@b.example>") // EHLO forgotten after STARTTLS
	ext = c.cmd(250, "EHLO client.test")
	if strings.Contains(ext, "STARTTLS") || !strings.Contains(ext, "AUTH PLAIN LOGIN") {
		t.Fatalf("TLS EHLO = %q", ext)
	}
	c.cmd(530, "MAIL FROM:<a@b.example>")
	if got := c.cmd(334, "AUTH LOGIN"); got != "VXNlcm5hbWU6" {
		t.Fatalf("LOGIN prompt %q", got)
	}
	c.cmd(334, b64("u"))
	c.cmd(235, b64("p"))
	c.cmd(503, "AUTH PLAIN "+b64("\x00u\x00p"))
	c.cmd(250, "NOOP")
	c.cmd(502, "RCPT TO:<x@y.example>")
	c.cmd(501, "MAIL FROM:<a@b.example")
	c.cmd(250, "mail from:<a@b.example> BODY=8BITMIME")
	c.cmd(501, "RCPT TO:<x y@z.example>")
	c.cmd(250, "RCPT TO:<x@y.example>")
	c.cmd(250, "RSET")
	c.cmd(502, "DATA")
	c.cmd(250, "MAIL FROM:<>")
	c.cmd(250, "RCPT TO:<x@y.example>")
	c.cmd(250, "RCPT TO:<z@y.example>")
	c.cmd(354, "DATA")
	c.cmd(250, "Subject: t\r\n\r\n..leading dot\r\n..\r\nlast\r\n.")
	c.cmd(501, "BOGUS") // go-smtp: verbs are four letters
	c.cmd(500, "BOGU")
	c.cmd(221, "QUIT")

	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "" || strings.Join(m.To, ",") != "x@y.example,z@y.example" || !m.TLS ||
		m.TLSVersion < tls.VersionTLS12 || m.AuthUser != "u" {
		t.Errorf("message = %+v", m)
	}
	if got, want := string(m.Data), "Subject: t\r\n\r\n.leading dot\r\n.\r\nlast\r\n"; got != want {
		t.Errorf("data = %q, want %q", got, want)
	}
	// In clear every command line is recorded; inside TLS what go-smtp
	// passed to the session (not the refused AUTH, MAIL, RCPT, DATA, nor
	// NOOP, RSET, BOGUS or QUIT).
	checkCommands(t, s, "MAIL EHLO AUTH STARTTLS", "EHLO MAIL AUTH MAIL RCPT MAIL RCPT RCPT DATA")
}

func TestImplicitTLSAuthPlainAndInjectedFailures(t *testing.T) {
	s := NewServer(t, Options{ImplicitTLS: true, User: "u", Pass: "p"})
	c := dial(t, s, true)
	c.cmd(250, "HELO client.test")
	c.cmd(334, "AUTH PLAIN")
	c.cmd(535, b64("\x00u\x00wrong"))
	c.cmd(235, "AUTH PLAIN "+b64("\x00u\x00p"))

	s.FailRcpt(452, "4.2.2 Mailbox full")
	c.cmd(250, "MAIL FROM:<a@b.example>")
	c.cmd(452, "RCPT TO:<x@y.example>")
	c.cmd(502, "DATA") // no valid recipients
	c.cmd(250, "RCPT TO:<x@y.example>")
	s.FailData(451)
	c.cmd(354, "DATA")
	c.cmd(451, "hello\r\n.")
	c.cmd(250, "MAIL FROM:<a@b.example>")
	c.cmd(250, "RCPT TO:<x@y.example>")
	c.cmd(354, "DATA")
	c.cmd(250, "hello\r\n.")
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d messages, want 1 (failed one must not be recorded)", n)
	}

	s.DropConnection()
	if err := c.tp.PrintfLine("MAIL FROM:<a@b.example>"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.tp.ReadResponse(0); err == nil {
		t.Fatal("connection not dropped after MAIL")
	}
	if s.Connections() != 1 || !s.Saw("MAIL") || s.Saw("STARTTLS") {
		t.Errorf("connections %d, commands %v", s.Connections(), s.Commands())
	}
	checkCommands(t, s, "", "HELO AUTH AUTH MAIL RCPT RCPT DATA MAIL RCPT DATA MAIL")
}

func TestClearTextRecordingSkipsDataAndSASL(t *testing.T) {
	s := NewServer(t, Options{User: "u", Pass: "p", AuthWithoutTLS: true})
	c := dial(t, s, false)
	ext := c.cmd(250, "EHLO client.test")
	if strings.Contains(ext, "STARTTLS") || !strings.Contains(ext, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO = %q", ext)
	}
	c.cmd(334, "AUTH LOGIN")
	c.cmd(334, b64("u"))
	c.cmd(235, b64("p"))
	c.cmd(250, "MAIL FROM:<a@b.example>")
	c.cmd(250, "RCPT TO:<x@y.example>")
	c.cmd(354, "DATA")
	c.cmd(250, "RCPT TO:<evil@y.example>\r\nQUIT\r\n.")
	c.cmd(250, "MAIL FROM:<a@b.example>")
	c.cmd(250, "RCPT TO:<x@y.example>")
	body := "NOOP\r\nRSET\r\n"
	c.cmd(250, fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), strings.TrimSuffix(body, "\r\n")))
	c.cmd(250, "rset")
	c.cmd(221, "QUIT")

	checkCommands(t, s, "EHLO AUTH MAIL RCPT DATA MAIL RCPT BDAT RSET QUIT", "")
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].TLS || msgs[0].AuthUser != "u" || string(msgs[1].Data) != body {
		t.Errorf("messages = %+v", msgs)
	}
}

// checkCommands compares the recorded commands with the verbs received in
// clear followed by those received inside TLS.
func checkCommands(t *testing.T, s *Server, clear, inTLS string) {
	t.Helper()
	var want []Command
	for _, v := range strings.Fields(clear) {
		want = append(want, Command{v, false})
	}
	for _, v := range strings.Fields(inTLS) {
		want = append(want, Command{v, true})
	}
	if got := s.Commands(); !slices.Equal(got, want) {
		t.Errorf("commands\n got %v\nwant %v", got, want)
	}
}

func TestCloseEndsIdleConnections(t *testing.T) {
	s := NewServer(t, Options{STARTTLS: true})
	c := dial(t, s, false)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with an idle connection open")
	}
	if _, err := c.tp.ReadLine(); err == nil {
		t.Error("connection still open after Close")
	}
	s.Close() // idempotent
}
