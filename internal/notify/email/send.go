package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// Send delivers m to m.To over one fresh, TLS-protected SMTP connection.
// It may be called concurrently. ctx cancellation and Config.Timeout are
// honoured at every stage, including mid-reply.
//
// Order of events: m is validated and rendered before dialling (an invalid
// message never opens a connection); in starttls mode nothing but EHLO is
// sent until STARTTLS succeeds; AUTH (if configured) is only attempted once
// TLS is active; then MAIL, RCPT, DATA.
//
// Errors: nil means the server accepted the message (a failing QUIT after
// that is ignored). Otherwise the error matches exactly one of
// [ErrTemporary] or [ErrPermanent]; validation failures also match
// [ErrInvalidMessage]; transport failures are *[SMTPError] (with the reply
// code when there was one, and unwrapping to context.Canceled or
// context.DeadlineExceeded on cancellation or timeout). A connection lost
// after the body was sent but before the server's verdict is temporary: a
// retry may then duplicate the e-mail, which the stable MessageID lets the
// recipient's mail system recognise.
func (s *Sender) Send(ctx context.Context, m Message) error {
	raw, to, err := s.compose(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return &SMTPError{Stage: "dial", Temporary: true, cause: err}
	}

	conn, err := s.dial(ctx)
	if err != nil {
		return classify(ctx, "dial", err)
	}
	defer func() { _ = conn.Close() }()
	// Bound every read and write by ctx: the moment ctx is done (cancelled
	// or timed out) the connection gets a deadline in the past, so ctx.Err()
	// is already set when the blocked call returns. The ctx deadline plus a
	// second is only a backstop.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline.Add(time.Second))
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return classify(ctx, "greeting", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(s.helo); err != nil {
		return classify(ctx, "ehlo", err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			_ = c.Quit() // QUIT carries nothing; then hang up
			return &SMTPError{Stage: "starttls", cause: ErrNoSTARTTLS}
		}
		if err := c.StartTLS(s.tlsConf.Clone()); err != nil {
			return classify(ctx, "starttls", err)
		}
	}
	if st, err := c.GetTLSConnectionState(); err != nil || !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		// Unreachable with the code above; a guard so that nothing below
		// can ever run in clear.
		return &SMTPError{Stage: "starttls", cause: ErrNoSTARTTLS}
	}
	if s.user != "" {
		if err := s.auth(ctx, c); err != nil {
			return err
		}
	}
	if err := c.Mail("<" + s.from.Address + ">"); err != nil {
		return classify(ctx, "mail", err)
	}
	if err := c.Rcpt("<" + to.Address + ">"); err != nil {
		return classify(ctx, "rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(ctx, "data", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return classify(ctx, "data", err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, "data-end", err)
	}
	_ = c.Quit()
	return nil
}

// dial opens the TCP connection, completing the TLS handshake in implicit
// mode.
func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.implicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConf.Clone()}
		return td.DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// auth runs AUTH PLAIN (preferred) or LOGIN. The caller has verified TLS;
// the go-mail mechanisms refuse unencrypted connections as a second line.
func (s *Sender) auth(ctx context.Context, c *smtp.Client) error {
	_, params := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(params))
	var a smtp.Auth
	switch {
	case slices.Contains(mechs, "PLAIN"):
		a = smtp.PlainAuth("", s.user, s.pass, s.host, false)
	case slices.Contains(mechs, "LOGIN"):
		a = smtp.LoginAuth(s.user, s.pass, s.host, false)
	default:
		_ = c.Quit()
		return &SMTPError{Stage: "auth", cause: ErrNoAuthMechanism}
	}
	if err := c.Auth(a); err != nil {
		return classify(ctx, "auth", err)
	}
	return nil
}

// randomID returns 128+ bits of randomness as dot-atom text.
func randomID() string { return rand.Text() }
