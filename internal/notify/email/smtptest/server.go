// Package smtptest runs a small but faithful ESMTP server on loopback for
// tests of SMTP clients. It is written on net/textproto and crypto/tls,
// generates a throw-away CA and server certificate at start, records what it
// receives, and can be told to fail in the ways real servers do.
//
// Only tests may use it: [NewServer] takes a testing.TB and registers its
// shutdown with t.Cleanup. Every connection is served in its own goroutine;
// all methods are safe for concurrent use.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
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
type Command struct {
	Verb string // upper-cased, e.g. "EHLO", "STARTTLS", "AUTH", "MAIL"
	TLS  bool   // whether it arrived inside TLS
}

// Server is a running loopback SMTP server.
type Server struct {
	// Addr is the listening address, "127.0.0.1:port".
	Addr string

	opts    Options
	tlsConf *tls.Config
	pool    *x509.CertPool
	ln      net.Listener
	wg      sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
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
	s := &Server{
		Addr:    ln.Addr().String(),
		opts:    opts,
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		pool:    pool,
		ln:      ln,
		conns:   make(map[net.Conn]struct{}),
	}
	s.wg.Add(1)
	go s.acceptLoop()
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

// Commands returns the command verbs received so far on all connections.
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
// and text, e.g. FailRcpt(550, "5.1.1 Mailbox unavailable").
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
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		_ = s.ln.Close()
		for c := range s.conns {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.accepted++
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			newSession(s, c).serve()
		}()
	}
}

func (s *Server) record(verb string, inTLS bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds = append(s.cmds, Command{Verb: verb, TLS: inTLS})
}

func (s *Server) deliver(m Message) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return len(s.msgs)
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
