package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/internal/store/storetest"
)

// selfSigned makes a self-signed certificate for dnsName with usage eku,
// writes its certificate and key as PEM files in dir and returns them.
func selfSigned(t *testing.T, dir, dnsName string, eku x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, dnsName+".crt"), filepath.Join(dir, dnsName+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certFile, keyFile
}

// siemCollector is a loopback syslog-over-TLS collector that requires a
// client certificate and records every octet-counted frame it reads, with
// the number of the connection that carried it.
type siemCollector struct {
	mu     sync.Mutex
	frames []string
	conns  []int
}

func (c *siemCollector) received() ([]string, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.frames...), append([]int(nil), c.conns...)
}

func startSIEMCollector(t *testing.T, cfg *tls.Config) (*siemCollector, string) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &siemCollector{}
	go func() {
		for n := 1; ; n++ {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					lenText, err := r.ReadString(' ')
					if err != nil {
						return
					}
					size, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
					if err != nil || size <= 0 || size > 64<<10 {
						t.Errorf("bad MSG-LEN %q", lenText)
						return
					}
					b := make([]byte, size)
					if _, err := io.ReadFull(r, b); err != nil {
						return
					}
					c.mu.Lock()
					c.frames, c.conns = append(c.frames, string(b)), append(c.conns, n)
					c.mu.Unlock()
				}
			}()
		}
	}()
	return c, ln.Addr().String()
}

func TestServeSIEMFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--siem-addr", "siem.example.net"}, "--siem-addr must be HOST:PORT"},
		{[]string{"--siem-addr", ":6514"}, "--siem-addr must be HOST:PORT"},
		{[]string{"--siem-ca", notPEM}, "need --siem-addr"},
		{[]string{"--siem-addr", "127.0.0.1:6514", "--siem-cert", notPEM}, "--siem-cert and --siem-key must be given together"},
		{[]string{"--siem-addr", "127.0.0.1:6514", "--siem-ca", notPEM}, "--siem-ca: the file holds no PEM certificate"},
		{[]string{"--siem-addr", "127.0.0.1:6514", "--siem-ca", filepath.Join(dir, "missing.pem")}, "--siem-ca:"},
		{[]string{"--siem-addr", "127.0.0.1:6514", "--siem-cert", notPEM, "--siem-key", notPEM}, "--siem-cert/--siem-key:"},
	} {
		argv := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}, tc.args...)
		err := run(context.Background(), argv, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
		var u usageError
		if strings.HasSuffix(tc.want, ":") == errors.As(err, &u) {
			t.Errorf("%v: usage error %v: want one only for flag mistakes", tc.args, errors.As(err, &u))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("bad SIEM settings created the data directory: %v", err)
	}
}

// TestServeStreamsAuditToSIEM: `sotto serve --siem-addr ...` streams the
// audit trail over mutual TLS, a restarted server continues from where
// the first stopped, and shutdown is clean.
func TestServeStreamsAuditToSIEM(t *testing.T) {
	for _, dbKind := range []string{"sqlite", "postgres"} {
		t.Run(dbKind, func(t *testing.T) {
			dir := t.TempDir()
			serverCert, caFile, _ := selfSigned(t, dir, "siem.test", x509.ExtKeyUsageServerAuth)
			clientCert, certFile, keyFile := selfSigned(t, dir, "sotto-client.test", x509.ExtKeyUsageClientAuth)
			clientCAs := x509.NewCertPool()
			leaf, _ := x509.ParseCertificate(clientCert.Certificate[0])
			clientCAs.AddCert(leaf)
			col, addr := startSIEMCollector(t, &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12,
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs})
			args := []string{"--data", filepath.Join(dir, "data"), "--siem-addr", addr, "--siem-ca", caFile,
				"--siem-server-name", "siem.test", "--siem-cert", certFile, "--siem-key", keyFile, "--siem-app-name", "sotto-e2e"}
			if dbKind == "postgres" {
				args = append(args, "--database", storetest.PostgresDSN(t))
			}
			failLogin := func(base string) {
				t.Helper()
				resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
					strings.NewReader(`{"email":"nobody@example.test","password":"wrong password, sorry"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 401 {
					t.Fatalf("failed login: status %d", resp.StatusCode)
				}
			}
			header := regexp.MustCompile(`^<\d+>1 \S+ \S+ sotto-e2e - (\S+) \[sotto@32473 org="([0-9a-f-]+)" seq="(\d+)"`)
			// seqs returns the audit seqs received, checking every frame's
			// header and that each org's seqs run 1, 2, 3, ...
			seqs := func() []string {
				frames, _ := col.received()
				next := map[string]int{}
				var out []string
				for _, f := range frames {
					m := header.FindStringSubmatch(f)
					if m == nil {
						t.Fatalf("malformed syslog message %q", f)
					}
					seq, _ := strconv.Atoi(m[3])
					if next[m[2]]++; seq != next[m[2]] {
						t.Fatalf("org %s: seq %d, want %d", m[2], seq, next[m[2]])
					}
					out = append(out, m[1])
				}
				return out
			}
			waitSeqs := func(n int) []string {
				t.Helper()
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					if s := seqs(); len(s) >= n || time.Now().After(deadline) {
						return s
					}
				}
			}
			t.Run("first", func(t *testing.T) {
				base, _ := startServer(t, args...)
				failLogin(base)
				failLogin(base)
				if got := waitSeqs(2); fmt.Sprint(got) != "[auth.sign_in_failed auth.sign_in_failed]" {
					t.Fatalf("received %v", got)
				}
			})
			t.Run("restarted", func(t *testing.T) {
				base, _ := startServer(t, args...)
				failLogin(base)
				if got := waitSeqs(3); len(got) != 3 {
					t.Fatalf("received %v", got)
				}
				if _, conns := col.received(); conns[2] == conns[1] {
					t.Fatalf("connections %v: the restarted server did not connect anew", conns)
				}
			})
			// Nothing more arrives: the restart re-sent nothing.
			if got := seqs(); len(got) != 3 {
				t.Fatalf("received %v", got)
			}
		})
	}
}
