package smtptest

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"io"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errNestedMail   = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command"}
	errDropped      = errors.New("smtptest: connection dropped")
)

// backend hands go-smtp a session per greeting (a new one after STARTTLS).
type backend struct{ srv *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ss := &session{srv: b.srv, conn: c, pendingHelo: true}
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		ss.tlsVer = tc.ConnectionState().Version
		nc = tc.NetConn()
	}
	ss.rc, _ = nc.(*recConn)
	return ss, nil
}

// session is go-smtp's per-greeting state. Besides the transaction it
// records commands while the connection is in TLS (see [Command]); in
// clear the recConn records them from the stream.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	rc     *recConn // nil only if go-smtp's connection is not ours
	tlsVer uint16   // 0 outside TLS; fixed for the session's lifetime

	mu          sync.Mutex // Data may run on its own goroutine (BDAT)
	pendingHelo bool       // greeted, but not known yet whether by EHLO
	authUser    string
	inTx        bool
	from        string
	rcpts       []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

// noteLocked records verb if the session runs in TLS; in clear the
// recConn records every command from the stream.
// A pending greeting is recorded first: go-smtp asks for the AUTH
// mechanisms while answering EHLO (when AUTH is allowed, always in TLS),
// so a greeting followed by anything else was HELO.
func (ss *session) noteLocked(verb string) {
	if ss.pendingHelo {
		ss.pendingHelo = false
		if verb != "EHLO" {
			ss.noteLocked("HELO")
		}
	}
	if verb != "" && ss.tlsVer != 0 {
		ss.srv.record(verb, true)
	}
}

func (ss *session) note(verb string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.noteLocked(verb)
}

func (ss *session) AuthMechanisms() []string {
	ss.note("EHLO")
	if ss.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.note("AUTH")
	if ss.srv.opts.User == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error {
			return ss.check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) check(user, pass string) error {
	o := ss.srv.opts
	if subtle.ConstantTimeCompare([]byte(user), []byte(o.User)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(o.Pass)) != 1 {
		return smtp.ErrAuthFailed // 535 5.7.8
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.authUser = o.User
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.noteLocked("MAIL")
	switch {
	case ss.inTx:
		return errNestedMail
	case ss.srv.opts.RequireAuth && ss.authUser == "":
		return errAuthRequired
	case ss.srv.takeDrop():
		// Close the TCP connection under go-smtp: its reply to MAIL
		// cannot be written and it ends the session.
		if ss.rc != nil {
			_ = ss.rc.Close()
		} else {
			_ = ss.conn.Close()
		}
		return errDropped
	}
	ss.inTx, ss.from, ss.rcpts = true, from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.noteLocked("RCPT")
	if r := ss.srv.takeFailRcpt(); r != nil {
		// The text carries its own enhanced code, as it did before.
		return &smtp.SMTPError{Code: r.code, EnhancedCode: smtp.NoEnhancedCode, Message: r.text}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.note("DATA")
	data, err := io.ReadAll(r) // dot-unstuffed by go-smtp, CRLF kept
	if err != nil {
		return err // e.g. smtp.ErrDataTooLarge (552)
	}
	if code := ss.srv.takeFailData(); code != 0 {
		if code < 500 {
			return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected"}
	}
	ss.mu.Lock()
	m := Message{
		From:       ss.from,
		To:         append([]string(nil), ss.rcpts...),
		Data:       data,
		TLS:        ss.tlsVer != 0,
		TLSVersion: ss.tlsVer,
		AuthUser:   ss.authUser,
	}
	ss.mu.Unlock()
	ss.srv.deliver(m)
	return nil
}

// Reset ends the transaction (RSET, a repeated greeting, after DATA).
func (ss *session) Reset() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.noteLocked("")
	ss.inTx, ss.from, ss.rcpts = false, "", nil
}

func (ss *session) Logout() error {
	ss.note("")
	return nil
}

// loginServer is the server side of the (obsolete but common) LOGIN SASL
// mechanism, which go-sasl only implements as a client: prompts
// "Username:" and "Password:", or takes the user name as initial response.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
