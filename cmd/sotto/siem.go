package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"sotto/internal/audit"
	"sotto/internal/store"
)

// siemFlags configure streaming the audit trail to a SIEM (RFC 5424 syslog
// over TLS).
type siemFlags struct {
	addr       string
	ca         string
	cert       string
	key        string
	serverName string
	appName    string
}

func (f *siemFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "siem-addr", "", "stream the audit trail to this syslog-over-TLS collector HOST:PORT (RFC 5424/5425); off when empty")
	fs.StringVar(&f.ca, "siem-ca", "", "PEM file of the CA certificates that may sign the collector's certificate; default: the system roots")
	fs.StringVar(&f.cert, "siem-cert", "", "client certificate file (PEM) for mutual TLS with the collector")
	fs.StringVar(&f.key, "siem-key", "", "client private key file (PEM) for --siem-cert")
	fs.StringVar(&f.serverName, "siem-server-name", "", "name the collector's certificate must carry; default: the host of --siem-addr")
	fs.StringVar(&f.appName, "siem-app-name", "sotto", "APP-NAME of every syslog message")
}

// sink checks the settings and returns the syslog sink, or nil when
// --siem-addr is empty. It does not connect. Errors name the flag.
func (f *siemFlags) sink() (*audit.SyslogSink, error) {
	if f.addr == "" {
		if f.ca != "" || f.cert != "" || f.key != "" || f.serverName != "" {
			return nil, usageError{"--siem-ca, --siem-cert, --siem-key and --siem-server-name need --siem-addr"}
		}
		return nil, nil
	}
	if host, port, err := net.SplitHostPort(f.addr); err != nil || host == "" || port == "" {
		return nil, usageError{"--siem-addr must be HOST:PORT, e.g. siem.example.net:6514"}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usageError{"--siem-cert and --siem-key must be given together"}
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--siem-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usageError{"--siem-ca: the file holds no PEM certificate"}
		}
	}
	if f.cert != "" {
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--siem-cert/--siem-key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	host, err := os.Hostname()
	if err != nil {
		host = ""
	}
	return audit.NewSyslogSink(f.addr, c, f.appName, host), nil
}

// siemForwarder is the running audit forwarder.
type siemForwarder struct {
	sink   *audit.SyslogSink
	cancel context.CancelFunc
	done   chan struct{}
}

// startSIEM starts forwarding db's audit trail to sink in a goroutine; nil
// sink means off (and a nil *siemForwarder, whose stop does nothing). Stop
// it before closing the store.
func startSIEM(ctx context.Context, db *store.DB, sink *audit.SyslogSink, addr string, log *slog.Logger) *siemForwarder {
	if sink == nil {
		return nil
	}
	log = log.With("component", "siem")
	fw := audit.NewForwarder(db, sink, audit.ForwarderOptions{Logger: log})
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &siemForwarder{sink: sink, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		fw.Run(ctx)
	}()
	log.Info("streaming the audit trail to a SIEM", "addr", addr)
	return s
}

// stop ends forwarding (an in-flight batch is sent again next time) and
// closes the connection. Safe on a nil forwarder.
func (s *siemForwarder) stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
	s.sink.Close()
}
