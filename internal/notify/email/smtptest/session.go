package smtptest

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"
)

const (
	idleTimeout = 10 * time.Second // per command; a stuck client cannot hang Cleanup long
	maxSize     = 10 << 20         // advertised SIZE
)

// session is the per-connection SMTP state machine (RFC 5321, 3207, 4954).
type session struct {
	srv      *Server
	conn     net.Conn // the raw connection, or the *tls.Conn wrapping it
	tp       *textproto.Conn
	tlsVer   uint16 // 0 until TLS is up
	greeted  bool
	authUser string
	inTx     bool
	from     string
	rcpts    []string
}

func newSession(s *Server, c net.Conn) *session { return &session{srv: s, conn: c} }

func (ss *session) serve() {
	if ss.srv.opts.ImplicitTLS && !ss.startTLS() {
		return
	}
	ss.tp = textproto.NewConn(ss.conn)
	if ss.reply(220, "localhost ESMTP smtptest ready") != nil {
		return
	}
	for {
		_ = ss.conn.SetDeadline(time.Now().Add(idleTimeout))
		line, err := ss.tp.ReadLine()
		if err != nil || !ss.handle(line) {
			return
		}
	}
}

// reply writes a (possibly multi-line) reply: "code-line" ... "code line".
func (ss *session) reply(code int, lines ...string) error {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if err := ss.tp.PrintfLine("%d%s%s", code, sep, l); err != nil {
			return err
		}
	}
	return nil
}

// startTLS runs the server side of the handshake on the current connection.
func (ss *session) startTLS() bool {
	tc := tls.Server(ss.conn, ss.srv.tlsConf)
	_ = tc.SetDeadline(time.Now().Add(idleTimeout))
	if err := tc.Handshake(); err != nil {
		return false
	}
	ss.conn, ss.tlsVer = tc, tc.ConnectionState().Version
	return true
}

func (ss *session) resetTx() { ss.inTx, ss.from, ss.rcpts = false, "", nil }

func (ss *session) authOffered() bool {
	return ss.srv.opts.User != "" && (ss.tlsVer != 0 || ss.srv.opts.AuthWithoutTLS)
}

// handle runs one command line; false means close the connection.
func (ss *session) handle(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	ss.srv.record(verb, ss.tlsVer != 0)
	var err error
	switch verb {
	case "EHLO", "HELO":
		if arg == "" {
			err = ss.reply(501, "5.5.4 Syntax: "+verb+" hostname")
			break
		}
		ss.greeted = true
		ss.resetTx()
		if verb == "HELO" {
			err = ss.reply(250, "localhost")
			break
		}
		lines := []string{"localhost greets " + arg, "8BITMIME", "ENHANCEDSTATUSCODES", fmt.Sprintf("SIZE %d", maxSize)}
		if ss.srv.opts.STARTTLS && ss.tlsVer == 0 {
			lines = append(lines, "STARTTLS")
		}
		if ss.authOffered() {
			lines = append(lines, "AUTH PLAIN LOGIN")
		}
		err = ss.reply(250, lines...)
	case "STARTTLS":
		switch {
		case ss.tlsVer != 0:
			err = ss.reply(503, "5.5.1 TLS already active")
		case !ss.srv.opts.STARTTLS:
			err = ss.reply(502, "5.5.1 STARTTLS not supported")
		case arg != "":
			err = ss.reply(501, "5.5.4 Syntax: STARTTLS")
		default:
			if ss.reply(220, "2.0.0 Ready to start TLS") != nil || !ss.startTLS() {
				return false
			}
			// RFC 3207: forget everything learned before TLS.
			ss.tp = textproto.NewConn(ss.conn)
			ss.greeted, ss.authUser = false, ""
			ss.resetTx()
		}
	case "AUTH":
		return ss.auth(arg)
	case "MAIL":
		addr, ok := parsePath(arg, "FROM:")
		switch {
		case !ss.greeted:
			err = ss.reply(503, "5.5.1 Send EHLO first")
		case ss.inTx:
			err = ss.reply(503, "5.5.1 Nested MAIL command")
		case ss.srv.opts.RequireAuth && ss.authUser == "":
			err = ss.reply(530, "5.7.0 Authentication required")
		case !ok:
			err = ss.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
		case ss.srv.takeDrop():
			return false
		default:
			ss.inTx, ss.from = true, addr
			err = ss.reply(250, "2.1.0 Sender OK")
		}
	case "RCPT":
		addr, ok := parsePath(arg, "TO:")
		switch {
		case !ss.inTx:
			err = ss.reply(503, "5.5.1 Need MAIL before RCPT")
		case !ok || addr == "":
			err = ss.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
		default:
			if r := ss.srv.takeFailRcpt(); r != nil {
				err = ss.reply(r.code, r.text)
				break
			}
			ss.rcpts = append(ss.rcpts, addr)
			err = ss.reply(250, "2.1.5 Recipient OK")
		}
	case "DATA":
		return ss.data()
	case "RSET":
		ss.resetTx()
		err = ss.reply(250, "2.0.0 OK")
	case "NOOP":
		err = ss.reply(250, "2.0.0 OK")
	case "VRFY":
		err = ss.reply(252, "2.5.2 Cannot VRFY user")
	case "QUIT":
		_ = ss.reply(221, "2.0.0 Bye")
		return false
	default:
		err = ss.reply(500, "5.5.2 Command not recognized")
	}
	return err == nil
}

// data handles DATA: 354, the dot-stuffed body, then the verdict.
func (ss *session) data() bool {
	switch {
	case !ss.inTx:
		return ss.reply(503, "5.5.1 Need MAIL before DATA") == nil
	case len(ss.rcpts) == 0:
		return ss.reply(554, "5.5.1 No valid recipients") == nil
	}
	if ss.reply(354, "End data with <CR><LF>.<CR><LF>") != nil {
		return false
	}
	var buf bytes.Buffer
	tooBig := false
	for {
		_ = ss.conn.SetDeadline(time.Now().Add(idleTimeout))
		line, err := ss.tp.ReadLine()
		if err != nil {
			return false
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".") // dot-unstuffing (RFC 5321 4.5.2)
		if buf.Len()+len(line)+2 > maxSize {
			tooBig = true
			continue
		}
		buf.WriteString(line)
		buf.WriteString("\r\n")
	}
	m := Message{From: ss.from, To: ss.rcpts, Data: buf.Bytes(), TLS: ss.tlsVer != 0, TLSVersion: ss.tlsVer, AuthUser: ss.authUser}
	ss.resetTx()
	if tooBig {
		return ss.reply(552, "5.3.4 Message too big") == nil
	}
	if code := ss.srv.takeFailData(); code != 0 {
		text := "5.6.0 Message rejected"
		if code < 500 {
			text = "4.3.0 Temporary failure, try again later"
		}
		return ss.reply(code, text) == nil
	}
	n := ss.srv.deliver(m)
	return ss.reply(250, fmt.Sprintf("2.0.0 OK queued as %d", n)) == nil
}

// auth handles AUTH PLAIN and AUTH LOGIN, with or without initial response.
func (ss *session) auth(arg string) bool {
	if !ss.authOffered() {
		if ss.tlsVer == 0 && ss.srv.opts.User != "" {
			return ss.reply(538, "5.7.11 Encryption required for requested authentication mechanism") == nil
		}
		return ss.reply(502, "5.5.1 AUTH not supported") == nil
	}
	if !ss.greeted || ss.authUser != "" || ss.inTx {
		return ss.reply(503, "5.5.1 Bad sequence of commands") == nil
	}
	mech, initial, hasInitial := strings.Cut(arg, " ")
	var user, pass []byte
	switch strings.ToUpper(mech) {
	case "PLAIN":
		b, ok, keep := ss.authLine("", hasInitial, initial)
		if !ok {
			return keep
		}
		parts := bytes.Split(b, []byte{0})
		if len(parts) != 3 {
			return ss.reply(501, "5.5.2 Malformed PLAIN response") == nil
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		var ok, keep bool
		if user, ok, keep = ss.authLine("VXNlcm5hbWU6", hasInitial, initial); !ok {
			return keep
		}
		if pass, ok, keep = ss.authLine("UGFzc3dvcmQ6", false, ""); !ok {
			return keep
		}
	default:
		return ss.reply(504, "5.5.4 Unrecognized authentication type") == nil
	}
	o := ss.srv.opts
	if subtle.ConstantTimeCompare(user, []byte(o.User)) == 1 && subtle.ConstantTimeCompare(pass, []byte(o.Pass)) == 1 {
		ss.authUser = o.User
		return ss.reply(235, "2.7.0 Authentication successful") == nil
	}
	return ss.reply(535, "5.7.8 Authentication credentials invalid") == nil
}

// authLine returns the client's next decoded AUTH line, prompting with 334
// unless it came as the initial response. On failure it has already replied;
// keep reports whether the connection lives on.
func (ss *session) authLine(prompt string, have bool, v string) (b []byte, ok, keep bool) {
	if !have {
		if ss.reply(334, prompt) != nil {
			return nil, false, false
		}
		line, err := ss.tp.ReadLine()
		if err != nil {
			return nil, false, false
		}
		v = line
	}
	if v == "*" {
		return nil, false, ss.reply(501, "5.0.0 Authentication cancelled") == nil
	}
	if v == "=" { // RFC 4954: an empty initial response
		return []byte{}, true, true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, false, ss.reply(501, "5.5.2 Cannot decode response") == nil
	}
	return b, true, true
}

// parsePath parses "FROM:<addr> [params]" / "TO:<addr> [params]". The
// address may be empty (null sender) but may not contain spaces or brackets.
func parsePath(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	addr, params := rest[1:end], rest[end+1:]
	if strings.ContainsAny(addr, "<> \t") || (params != "" && params[0] != ' ') {
		return "", false
	}
	return addr, true
}
