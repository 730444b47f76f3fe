package audit

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sotto"
)

// syslogMsg is an RFC 5424 message with one SD-ELEMENT, as parsed by
// parseSyslog, the test's independent reader of what the sink writes.
type syslogMsg struct {
	pri                                 int
	timestamp, host, app, procID, msgID string
	sdID                                string
	params                              map[string]string
	msg                                 string
}

// readFrame reads one RFC 5425 octet-counted frame: MSG-LEN SP SYSLOG-MSG,
// refusing frames over 64 KiB as a collector would.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var n int
	for digits := 0; ; digits++ {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == ' ' && digits > 0 {
			break
		}
		if c < '0' || c > '9' || digits >= 9 || (digits == 0 && c == '0') {
			return nil, fmt.Errorf("bad MSG-LEN byte %q", c)
		}
		n = n*10 + int(c-'0')
	}
	if n > 64<<10 {
		return nil, fmt.Errorf("frame of %d bytes exceeds 64 KiB", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// parseSyslog parses "<PRI>1 TS HOST APP PROCID MSGID [SDID k="v"...] MSG".
func parseSyslog(b []byte) (*syslogMsg, error) {
	s := string(b)
	bad := func(what string) (*syslogMsg, error) { return nil, fmt.Errorf("malformed %s in %q", what, s) }
	if !strings.HasPrefix(s, "<") {
		return bad("PRI")
	}
	end := strings.Index(s, ">1 ")
	if end < 2 || end > 4 {
		return bad("PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 {
		return bad("PRI")
	}
	m := &syslogMsg{pri: pri, params: map[string]string{}}
	fields := strings.SplitN(s[end+3:], " ", 6)
	if len(fields) != 6 {
		return bad("header")
	}
	m.timestamp, m.host, m.app, m.procID, m.msgID = fields[0], fields[1], fields[2], fields[3], fields[4]
	rest := fields[5]
	if !strings.HasPrefix(rest, "[") {
		return bad("SD")
	}
	i := strings.IndexAny(rest, " ]")
	if i < 0 {
		return bad("SD-ID")
	}
	m.sdID, rest = rest[1:i], rest[i:]
	for strings.HasPrefix(rest, " ") {
		eq := strings.Index(rest, `="`)
		if eq < 2 {
			return bad("SD-PARAM")
		}
		name := rest[1:eq]
		rest = rest[eq+2:]
		var v strings.Builder
		closed := false
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) && strings.IndexByte(`"\]`, rest[j+1]) >= 0 {
				v.WriteByte(rest[j+1])
				j++
				continue
			}
			if c == ']' {
				return bad("unescaped ]")
			}
			if c == '"' {
				rest, closed = rest[j+1:], true
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return bad("PARAM-VALUE")
		}
		if !utf8.ValidString(v.String()) {
			return bad("PARAM-VALUE UTF-8")
		}
		m.params[name] = v.String()
	}
	if !strings.HasPrefix(rest, "]") {
		return bad("SD end")
	}
	m.msg = strings.TrimPrefix(rest[1:], " ")
	return m, nil
}

// tlsServer listens on loopback with a fresh self-signed certificate and
// returns the listener and a client config trusting only that certificate.
func tlsServer(t *testing.T) (net.Listener, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := testTLS(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, clientTLS
}

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config trusting only that certificate.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "siem.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// collect accepts connections and sends every frame read, parsed, on the
// returned channel; a connection is closed after closeAfter frames (0:
// never).
func collect(t *testing.T, ln net.Listener, closeAfter int) <-chan *syslogMsg {
	out := make(chan *syslogMsg, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 1; ; n++ {
					b, err := readFrame(r)
					if err != nil {
						return
					}
					m, err := parseSyslog(b)
					if err != nil {
						t.Errorf("parse: %v", err)
						return
					}
					out <- m
					if n == closeAfter {
						return
					}
				}
			}()
		}
	}()
	return out
}

func receive(t *testing.T, ch <-chan *syslogMsg) *syslogMsg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no syslog message arrived")
		return nil
	}
}

func syslogEvent(i int) *sotto.AuditEvent {
	return &sotto.AuditEvent{
		ID: "0190f3c2-7a1e-7c3d-9d2f-3b1e5a6c7d8e", OrgID: "0190f3c2-0000-7000-8000-000000000001", Seq: int64(i),
		At:      time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC),
		ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "nurse", Action: sotto.AuditMessageRead,
		TargetType: "message", TargetID: "m-1", Outcome: sotto.AuditSuccess, SourceIP: "2001:db8::1",
		UserAgent: `Evil "agent" \ with ] brackets [x] ünïcode`, RequestID: "req-" + strconv.Itoa(i),
		PrevHash: make([]byte, 32), Hash: []byte{0xde, 0xad},
	}
}

func TestSyslogSinkSendsFrames(t *testing.T) {
	ln, clientTLS := tlsServer(t)
	msgs := collect(t, ln, 0)
	sink := NewSyslogSink(ln.Addr().String(), clientTLS, "", "clinic-host")
	defer sink.Close()
	ctx := context.Background()
	for i, outcome := range []string{sotto.AuditSuccess, sotto.AuditFailure, sotto.AuditDenied} {
		e := syslogEvent(i + 1)
		e.Outcome = outcome
		if err := sink.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
		m := receive(t, msgs)
		wantPRI := map[string]int{sotto.AuditSuccess: 110, sotto.AuditFailure: 109, sotto.AuditDenied: 108}[outcome]
		if m.pri != wantPRI || m.host != "clinic-host" || m.app != "sotto" || m.procID != "-" || m.msgID != e.Action || m.sdID != "sotto@32473" {
			t.Fatalf("header %+v", m)
		}
		if ts, err := time.Parse(time.RFC3339Nano, m.timestamp); err != nil || !ts.Equal(e.At) {
			t.Fatalf("timestamp %q: %v", m.timestamp, err)
		}
		want := map[string]string{
			"org": e.OrgID, "seq": strconv.Itoa(i + 1), "id": e.ID, "actor": e.ActorID, "role": "nurse",
			"action": e.Action, "outcome": outcome, "target_type": "message", "target": "m-1", "ip": "2001:db8::1",
			"ua": e.UserAgent, "request": e.RequestID, "prev": strings.Repeat("00", 32), "hash": "dead",
		}
		if fmt.Sprint(m.params) != fmt.Sprint(want) {
			t.Fatalf("params\n got %v\nwant %v", m.params, want)
		}
		if m.msg != e.Action+" "+outcome {
			t.Fatalf("MSG %q", m.msg)
		}
	}
}

func TestSyslogSinkReconnects(t *testing.T) {
	ln, clientTLS := tlsServer(t)
	msgs := collect(t, ln, 1) // the collector drops every connection after one message
	sink := NewSyslogSink(ln.Addr().String(), clientTLS, "sotto-test", "")
	defer sink.Close()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := sink.Send(ctx, syslogEvent(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if m := receive(t, msgs); m.params["seq"] != strconv.Itoa(i) || m.app != "sotto-test" || m.host != "-" {
			t.Fatalf("message %d: %+v", i, m)
		}
		time.Sleep(50 * time.Millisecond) // let the collector's close reach the sink
	}
	ln.Close()
	time.Sleep(50 * time.Millisecond)
	err := sink.Send(ctx, syslogEvent(4))
	if sotto.ErrorKind(err) != sotto.KindUnavailable {
		t.Fatalf("send to a stopped collector: err = %v, want unavailable", err)
	}
}

func TestSyslogSinkVerifiesServer(t *testing.T) {
	ln, _ := tlsServer(t)
	collect(t, ln, 0)
	sink := NewSyslogSink(ln.Addr().String(), &tls.Config{MinVersion: tls.VersionTLS12}, "", "")
	defer sink.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := sink.Send(ctx, syslogEvent(1))
	var certErr *tls.CertificateVerificationError
	if sotto.ErrorKind(err) != sotto.KindUnavailable || !errors.As(err, &certErr) {
		t.Fatalf("send to an untrusted collector: err = %v, want a certificate error", err)
	}
}

// FuzzSyslogMessage: whatever the field values, the message parses back
// (as an RFC 5424 reader would) to the same values.
func FuzzSyslogMessage(f *testing.F) {
	f.Add("actor", `ua "quoted" \ ]`, "req]", "host", "auth.sign_in")
	f.Add("", "\xff\x00]\\", "", "", "")
	f.Add(`\]`, `\\\"`, `"]"`, "h o s t", "a b")
	f.Fuzz(func(t *testing.T, actor, ua, req, host, action string) {
		e := syslogEvent(7)
		e.ActorID, e.UserAgent, e.RequestID, e.Action = actor, ua, req, action
		sink := NewSyslogSink("127.0.0.1:1", nil, "", host)
		msg := syslogMessage(e, sink.appName, sink.hostname)
		frame := append([]byte(strconv.Itoa(len(msg))+" "), msg...)
		b, err := readFrame(bufio.NewReader(strings.NewReader(string(frame))))
		if err != nil {
			t.Fatalf("frame: %v", err)
		}
		m, err := parseSyslog(b)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"actor": actor, "ua": ua, "request": req, "action": action} {
			want := strings.ToValidUTF8(v, "\uFFFD")
			if got, ok := m.params[name]; got != want || ok != (v != "") {
				t.Fatalf("param %s = %q (present %v), want %q", name, got, ok, want)
			}
		}
		if m.host == "" || strings.ContainsAny(m.host+m.msgID, " \x00") || len(m.host) > 255 || len(m.msgID) > 32 {
			t.Fatalf("header field %q %q", m.host, m.msgID)
		}
	})
}

// FuzzReadFrame: the frame reader never panics or over-reads.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("5 hello"))
	f.Add([]byte("999999999 x"))
	f.Add([]byte("0 "))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := readFrame(bufio.NewReader(strings.NewReader(string(in))))
		if err == nil && len(b) > len(in) {
			t.Fatalf("frame of %d bytes from %d input bytes", len(b), len(in))
		}
		if err == nil {
			parseSyslog(b)
		}
	})
}
