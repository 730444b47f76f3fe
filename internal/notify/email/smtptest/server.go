// Package smtptest runs an ESMTP server on loopback for tests of SMTP
// clients. The protocol is spoken by github.com/emersion/go-smtp (with
// go-sasl for AUTH PLAIN and LOGIN); this package adds a throw-away CA and
// server certificate generated at start, records what the server receives,
// and can be told to fail in the ways real servers do.
//
// Only tests may use it: [NewServer] takes a testing.TB and registers its
// shutdown with t.Cleanup. Every connection is served in its own goroutine;
// all methods are safe for concurrent use.
package smtptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	idleTimeout = 10 * time.Second // per command; a stuck client cannot hang Cleanup long
	maxSize     = 10 << 20         // advertised SIZE
)

// Options configure a [Server].
type Options struct {
	// STARTTLS advertises and accepts STARTTLS on a plaintext connection.
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS).
	ImplicitTLS bool
	// RequireAuth refuses MAIL with 530 until AUTH succeeded.
	RequireAuth bool
	// User and Pass are the credentials AUTH PLAIN and LOGIN accept. AUTH
	// is advertised only when User is set and TLS is active, unless
	// AuthWithoutTLS is set.
	User, Pass string
	// AuthWithoutTLS also advertises and accepts AUTH in clear, like a
	// badly configured server; for tests that a client refuses it.
	AuthWithoutTLS bool
}

// Message is one message the server accepted (250 after the final dot).
type Message struct {
	From       string   // envelope sender, without angle brackets
	To         []string // envelope recipients, without angle brackets
	Data       []byte   // message after dot-unstuffing, CRLF line endings
	TLS        bool     // whether the transaction ran inside TLS
	TLSVersion uint16   // tls.VersionTLS12, tls.VersionTLS13, or 0
	AuthUser   string   // authenticated user, or ""
}

// Command is one command verb the server received, in order. Arguments
// are not kept (AUTH carries secrets).
//
// Outside TLS every command line is recorded as read from the connection,
// whether or not the server accepted it. Inside TLS the bytes are only
// visible to go-smtp, so commands are recorded from its session callbacks:
// EHLO and HELO (the greeting), AUTH (with a mechanism), MAIL and RCPT
// (when syntactically valid, after a greeting) and DATA (when the server
// answered 354). RSET, NOOP, VRFY, QUIT and commands go-smtp rejects
// itself are not recorded inside TLS, nor anything after a failed STARTTLS
// handshake.
type Command struct {
	Verb string // upper-cased, e.g. "EHLO", "STARTTLS", "AUTH", "MAIL"
	TLS  bool   // whether it arrived inside TLS
}

// Server is a running loopback SMTP server.
type Server struct {
	// Addr is the listening address, "127.0.0.1:port".
	Addr string

	opts      Options
	pool      *x509.CertPool
	ln        net.Listener // the TCP listener
	smtp      *smtp.Server
	served    chan struct{} // closed when smtp.Serve returned
	closeOnce sync.Once

	mu       sync.Mutex
	conns    map[*recConn]struct{}
	accepted int
	msgs     []Message
	cmds     []Command
	failRcpt *reply
	failData int
	drop     bool
	closed   bool
}

type reply struct {
	code int
	text string
}

// NewServer starts a server on 127.0.0.1 with a fresh certificate and
// stops it (closing every connection) at t.Cleanup. It calls t.Fatal if it
// cannot start.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	cert, pool, err := newPKI()
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s := &Server{
		Addr:   ln.Addr().String(),
		opts:   opts,
		pool:   pool,
		ln:     ln,
		served: make(chan struct{}),
		conns:  make(map[*recConn]struct{}),
	}

	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout = idleTimeout
	srv.WriteTimeout = idleTimeout
	srv.MaxMessageBytes = maxSize
	srv.AllowInsecureAuth = opts.AuthWithoutTLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if opts.STARTTLS {
		srv.TLSConfig = tlsConf
	}
	s.smtp = srv

	var l net.Listener = &listener{Listener: ln, srv: s}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, tlsConf)
	}
	go func() {
		defer close(s.served)
		_ = srv.Serve(l) // returns when Close closes ln
	}()
	t.Cleanup(s.Close)
	return s
}

// RootCAs returns a pool holding the server's CA, for the client's
// tls.Config.
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Messages returns a copy of the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Commands returns the command verbs received so far on all connections
// (see [Command] for what is recorded inside TLS).
func (s *Server) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Command(nil), s.cmds...)
}

// Saw reports whether any connection sent the command verb (e.g. "MAIL").
func (s *Server) Saw(verb string) bool {
	for _, c := range s.Commands() {
		if c.Verb == verb {
			return true
		}
	}
	return false
}

// Connections returns how many connections were accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// FailRcpt makes the next RCPT command (on any connection) fail with code
// and text, e.g. FailRcpt(550, "5.1.1 Mailbox unavailable"). The text is
// sent as given, so it carries its own enhanced status code.
func (s *Server) FailRcpt(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRcpt = &reply{code, text}
}

// FailData makes the next message fail with code in reply to the final
// dot, after the whole message was received (it is then not recorded).
func (s *Server) FailData(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = code
}

// DropConnection makes the server close the connection, without replying,
// as soon as it receives the next MAIL command.
func (s *Server) DropConnection() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = true
}

// Close stops the listener, closes every connection and waits for all
// goroutines. It is idempotent and registered with t.Cleanup.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true // listener.Accept refuses from now on
		conns := make([]*recConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		_ = s.ln.Close()
		<-s.served // no connection can be handed to go-smtp any more
		for _, c := range conns {
			_ = c.Close()
		}
		// Every connection is closed, so this only waits for go-smtp's
		// per-connection goroutines to notice and return.
		_ = s.smtp.Shutdown(context.Background())
	})
}

// listener counts and tracks the connections it hands to go-smtp, wrapped
// in a recConn.
type listener struct {
	net.Listener
	srv *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := newRecConn(c, l.srv, !l.srv.opts.ImplicitTLS)
	l.srv.mu.Lock()
	defer l.srv.mu.Unlock()
	if l.srv.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.srv.conns[rc] = struct{}{}
	l.srv.accepted++
	return rc, nil
}

func (s *Server) forget(c *recConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Server) record(verb string, inTLS bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds = append(s.cmds, Command{Verb: verb, TLS: inTLS})
}

func (s *Server) deliver(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (s *Server) takeFailRcpt() *reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.failRcpt
	s.failRcpt = nil
	return r
}

func (s *Server) takeFailData() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.failData
	s.failData = 0
	return c
}

func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drop
	s.drop = false
	return d
}
