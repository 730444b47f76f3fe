package audit

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"sotto"
)

// Syslog constants. SD-ID uses enterprise number 32473, which IANA reserves
// for documentation (RFC 5612); a deployment with its own number changes it
// here.
const (
	syslogSDID     = "sotto@32473"
	syslogFacility = 13 // log audit
	syslogTimeout  = 10 * time.Second
)

// SyslogSink streams audit entries to a SIEM as RFC 5424 messages over TLS
// with RFC 5425 octet-counting framing. It keeps one connection, notices
// when the collector closes it, and reconnects. It is safe for concurrent
// use; Close it when done.
//
// The database is the record; the SIEM gets a copy. Call Send after the
// entry's transaction commits (store.Tx.AfterCommit, or a job that reads
// the trail with Events), never inside a Write function.
type SyslogSink struct {
	addr     string
	tls      *tls.Config
	appName  string
	hostname string

	mu   sync.Mutex
	conn net.Conn
	dead chan struct{} // closed when the collector closes conn
}

// NewSyslogSink returns a sink for the collector at addr ("host:port").
// tlsConfig nil means the system roots and TLS 1.2 or later; the server
// name defaults to addr's host. appName (default "sotto") and hostname
// (default "-") go in every message header, cut to what RFC 5424 allows.
// It does not connect. Callers: serve, when a SIEM is configured.
func NewSyslogSink(addr string, tlsConfig *tls.Config, appName, hostname string) *SyslogSink {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if appName == "" {
		appName = "sotto"
	}
	return &SyslogSink{addr: addr, tls: tlsConfig, appName: headerField(appName, 48), hostname: headerField(hostname, 255)}
}

// Send writes e to the collector, connecting or reconnecting as needed
// (one retry on a fresh connection). It waits at most until ctx's deadline,
// or 10 seconds. Errors: KindInvalid for a nil event, KindUnavailable when
// the collector cannot be reached or written to (the cause is logged by the
// caller; it holds no event data).
func (s *SyslogSink) Send(ctx context.Context, e *sotto.AuditEvent) error {
	return s.send(ctx, e, true)
}

// send is Send; with dial false it writes only on the connection it
// already has, once, and fails (KindUnavailable) rather than open another:
// the Forwarder must learn of a lost connection before anything newer
// goes out on a fresh one, so that what the lost one dropped is sent
// again first.
func (s *SyslogSink) send(ctx context.Context, e *sotto.AuditEvent, dial bool) error {
	const op = "audit.SyslogSink.Send"
	if e == nil {
		return invalid(op, "An audit event is required.")
	}
	msg := syslogMessage(e, s.appName, s.hostname)
	frame := make([]byte, 0, len(msg)+8)
	frame = strconv.AppendInt(frame, int64(len(msg)), 10)
	frame = append(append(frame, ' '), msg...)

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(syslogTimeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if s.conn != nil && !s.alive() {
			s.closeLocked()
		}
		if s.conn == nil {
			if !dial {
				err = errors.New("no live connection")
				break
			}
			d := tls.Dialer{NetDialer: &net.Dialer{Deadline: deadline}, Config: s.tls}
			c, derr := d.DialContext(ctx, "tcp", s.addr)
			if derr != nil {
				err = derr
				continue
			}
			s.conn, s.dead = c, watch(c)
		}
		s.conn.SetWriteDeadline(deadline)
		if _, err = s.conn.Write(frame); err == nil {
			return nil
		}
		s.closeLocked()
		if !dial {
			break
		}
	}
	return &sotto.Error{Kind: sotto.KindUnavailable, Op: op, Msg: "The audit collector is unavailable.", Err: err}
}

// Close closes the connection, if any, and stops its watcher goroutine.
// Send may be called again later. Callers: serve at shutdown.
func (s *SyslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

func (s *SyslogSink) closeLocked() {
	s.conn.Close()
	s.conn = nil
}

// watch reads c until it fails and then closes the returned channel. A
// collector never sends data (RFC 5425), so the read ends only when the
// collector closes or resets the connection, or when Close closes it; the
// goroutine ends with it.
func watch(c net.Conn) chan struct{} {
	dead := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(dead)
	}()
	return dead
}

// alive reports whether the collector has not closed the connection.
func (s *SyslogSink) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

// syslogMessage formats e as an RFC 5424 SYSLOG-MSG:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME - ACTION [sotto@32473 org="..." ...] ACTION OUTCOME
func syslogMessage(e *sotto.AuditEvent, appName, hostname string) []byte {
	sev := 6 // informational
	switch e.Outcome {
	case sotto.AuditFailure:
		sev = 5 // notice
	case sotto.AuditDenied:
		sev = 4 // warning
	}
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(syslogFacility*8+sev) + ">1 ")
	b.WriteString(e.At.UTC().Format("2006-01-02T15:04:05.000000Z") + " ")
	b.WriteString(hostname + " " + appName + " - " + headerField(e.Action, 32) + " [" + syslogSDID)
	for _, p := range [...]struct{ name, value string }{
		{"org", e.OrgID}, {"seq", strconv.FormatInt(e.Seq, 10)}, {"id", e.ID},
		{"actor", e.ActorID}, {"role", e.ActorRole}, {"action", e.Action}, {"outcome", e.Outcome},
		{"target_type", e.TargetType}, {"target", e.TargetID}, {"patient", e.PatientID},
		{"ip", e.SourceIP}, {"ua", e.UserAgent}, {"request", e.RequestID},
		{"prev", hex.EncodeToString(e.PrevHash)}, {"hash", hex.EncodeToString(e.Hash)},
	} {
		if p.value != "" {
			b.WriteString(" " + p.name + `="` + escapeSDValue(p.value) + `"`)
		}
	}
	b.WriteString("] " + headerField(e.Action, 32) + " " + headerField(e.Outcome, 32))
	return []byte(b.String())
}

// escapeSDValue makes s a valid RFC 5424 PARAM-VALUE: UTF-8, with '"',
// '\' and ']' escaped by a backslash.
func escapeSDValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsAny(s, "\"\\]") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerField makes s a header field of RFC 5424: 1 to max printable
// US-ASCII characters, "-" when empty; other bytes become '_'.
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	if len(s) > max {
		s = s[:max]
	}
	return strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
}
