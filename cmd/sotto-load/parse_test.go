package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sotto/internal/auth"
)

func TestParseSourceAddrs(t *testing.T) {
	got, err := parseSourceAddrs("127.0.0.2-127.0.0.50")
	if err != nil || len(got) != 49 || got[0] != netip.MustParseAddr("127.0.0.2") || got[48] != netip.MustParseAddr("127.0.0.50") {
		t.Fatalf("range: %v %v", got, err)
	}
	got, err = parseSourceAddrs(" 127.0.0.1 , 127.0.0.255-127.0.1.1, ::1")
	want := []string{"127.0.0.1", "127.0.0.255", "127.0.1.0", "127.0.1.1", "::1"}
	if err != nil || len(got) != len(want) {
		t.Fatalf("list across an octet boundary: %v %v", got, err)
	}
	for i, w := range want {
		if got[i] != netip.MustParseAddr(w) {
			t.Fatalf("address %d = %v, want %s", i, got[i], w)
		}
	}
	if got, err := parseSourceAddrs(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	if got, err := parseSourceAddrs("10.0.0.7-10.0.0.7"); err != nil || len(got) != 1 {
		t.Fatalf("one-address range: %v %v", got, err)
	}
	for _, bad := range []string{"127.0.0.50-127.0.0.2", "localhost", "127.0.0.1-x", "::1-::5", "10.0.0.0-10.255.255.255", "1.2.3"} {
		if _, err := parseSourceAddrs(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestSourceDialerRotates dials a loopback listener from 127.0.0.1 and
// 127.0.0.2 in turn (all of 127/8 is local on Linux).
func TestSourceDialerRotates(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	addrs, _ := parseSourceAddrs("127.0.0.1-127.0.0.2")
	d := newSourceDialer(addrs)
	for range 4 {
		c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Skipf("cannot bind a second loopback address here: %v", err)
		}
		c.Close()
	}
	var got []string
	for range 4 {
		got = append(got, <-seen)
	}
	if strings.Join(got, ",") != "127.0.0.1,127.0.0.2,127.0.0.1,127.0.0.2" {
		t.Fatalf("source addresses %v, want alternating", got)
	}
}

func TestParseFrame(t *testing.T) {
	f, err := parseFrame([]byte(`{"type":"event","seq":42,"event":{"seq":42,"org_id":"o","kind":"message.created","message_id":"m1","conversation_id":"c1","created_at":"2026-01-01T00:00:00Z"}}`))
	if err != nil || f.Type != "event" || f.Seq != 42 || f.Event.Kind != "message.created" || f.Event.MessageID != "m1" || f.Event.ConversationID != "c1" {
		t.Fatalf("message.created: %+v %v", f, err)
	}
	for _, ok := range []string{`{"type":"hello","seq":7}`, `{"type":"heartbeat","seq":9}`, `{"type":"reset","seq":9}`,
		`{"type":"event","seq":3,"event":{"kind":"receipt.updated","message_id":"m1","user_id":"u"}}`} {
		if _, err := parseFrame([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{`not json`, `{"type":"event","seq":3}`, `{"type":"event","event":{"kind":""}}`,
		`{"type":"event","event":{"kind":"message.created"}}`, `{"type":"surprise"}`} {
		if _, err := parseFrame([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestWSURL(t *testing.T) {
	for _, c := range []struct {
		base  string
		after int64
		want  string
	}{
		{"http://127.0.0.1:8080", 0, "ws://127.0.0.1:8080/api/v1/events"},
		{"https://sotto.example/", 17, "wss://sotto.example/api/v1/events?after=17"},
	} {
		if got := wsURL(c.base, c.after); got != c.want {
			t.Errorf("wsURL(%q, %d) = %q, want %q", c.base, c.after, got, c.want)
		}
	}
}

func TestParseTOTPSecret(t *testing.T) {
	const b32 = "6RCUY757ITOQE5IYB7VXKIAHGLBHQIVC"
	uri := "otpauth://totp/Lakeside%20Clinic:nurse@lakeside.example?secret=" + b32 + "&issuer=Lakeside%20Clinic&algorithm=SHA1&digits=6&period=30"
	a, err1 := parseTOTPSecret(uri)
	b, err2 := parseTOTPSecret(strings.ToLower(b32[:16]) + " " + b32[16:])
	if err1 != nil || err2 != nil || string(a) != string(b) || len(a) != 20 {
		t.Fatalf("URI and base32 forms differ: %x %v / %x %v", a, err1, b, err2)
	}
	now := time.Unix(1_700_000_000, 0)
	if _, ok := auth.VerifyTOTP(a, auth.TOTPCode(a, now), now, 0); !ok {
		t.Fatalf("the parsed secret does not produce verifiable codes")
	}
	for _, bad := range []string{"", "otpauth://totp/x?issuer=y", "not base32!", "MFRGGZDF"} {
		if _, err := parseTOTPSecret(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseProc(t *testing.T) {
	// A command name with spaces and parentheses must not shift fields.
	stat := "4242 (sotto (x) y) S 1 4242 4242 0 -1 4194560 12345 0 0 0 250 75 0 0 20 0 12 0 9999 2064852 41823 18446744073709551615"
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3250*time.Millisecond {
		t.Fatalf("parseStatCPU = %v %v, want 3.25s (325 ticks)", cpu, err)
	}
	if _, err := parseStatCPU("4242 (short) S 1 2"); err == nil {
		t.Fatalf("truncated stat: want an error")
	}
	status := "Name:\tsotto\nVmPeak:\t 2064852 kB\nVmHWM:\t  668240 kB\nVmRSS:\t  387460 kB\nThreads:\t12\n"
	if rss, hwm := parseStatusMem(status); rss != 387460 || hwm != 668240 {
		t.Fatalf("parseStatusMem = %d, %d", rss, hwm)
	}
	if s, err := readProc(0); err != nil || s.rssKB == 0 {
		t.Fatalf("readProc(self) = %+v, %v", s, err)
	}
}

func TestParseFlags(t *testing.T) {
	base := []string{"--staff-email", "n@x.example", "--staff-password", "pw", "--staff-totp-secret", "ABC"}
	c, err := parseFlags(append(base, "--patients", "5", "--max-messages", "0", "--rate", "20"), io.Discard)
	if err != nil || c.patients != 5 || c.rate != 20 || c.maxMessages != 1<<63-1 || c.devicesPerPatient != 1 {
		t.Fatalf("parseFlags: %+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"--patients", "5"},
		append(base, "--patients", "0"),
		append(base, "--rate", "-1"),
		append(base, "--reply-fraction", "1.5"),
		append(base, "--duration", "0s"),
		append(base, "--no-such-flag"),
		append(base, "extra"),
	} {
		_, err := parseFlags(bad, io.Discard)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: got %v, want a usage error", bad, err)
		}
		if exitStatus(err, io.Discard) != 2 {
			t.Errorf("%v: exit status %d, want 2", bad, exitStatus(err, io.Discard))
		}
	}
}
