package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"sotto/internal/auth"
	"sotto/internal/config"
	"sotto/internal/server"
)

type serveFlags struct {
	dataFlags
	addr            string
	publicURL       string
	tlsCert         string
	tlsKey          string
	acmeDomain      string
	behindTLSProxy  bool
	demo            bool
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
	notify          notifyFlags
	siem            siemFlags
}

const serveSummary = "Run the sotto server. With no settings it keeps everything in ./sotto-data\n(SQLite database and master key) and listens on http://127.0.0.1:8080."

func serve(ctx context.Context, env *environ, args []string) error {
	var f serveFlags
	fs := env.flagSet("serve")
	f.register(fs)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT; plain HTTP only on a loopback address")
	fs.StringVar(&f.publicURL, "public-url", "", "public base URL used in links sent to users; empty for the listen address")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&f.acmeDomain, "acme-domain", "", "obtain a certificate for this domain from Let's Encrypt (serve on port 443)")
	fs.BoolVar(&f.behindTLSProxy, "behind-tls-proxy", false, "acknowledge that a TLS-terminating proxy is in front, allowing plain HTTP on a non-loopback address")
	fs.BoolVar(&f.demo, "demo", false, "seed a clearly fake demo practice and print its sign-ins")
	fs.StringVar(&f.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long shutdown waits for in-flight requests")
	f.notify.register(fs)
	f.siem.register(fs)
	fs.Usage = func() { config.Usage(env.stderr, "serve", serveSummary, fs) }
	if err := config.Resolve(fs, args, env.getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments (got %q)", fs.Arg(0))}
	}
	useTLS, err := f.checkTransport()
	if err != nil {
		return err
	}
	siemSink, err := f.siem.sink()
	if err != nil {
		return err
	}
	log, err := env.newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	a, err := f.open(ctx, log, true)
	if err != nil {
		return err
	}
	defer a.db.Close()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	base := f.publicURL
	if base == "" {
		base = scheme + "://" + ln.Addr().String()
	}
	notifier, nc, err := f.notify.notifier(a.db, a.dir, base, f.demo)
	if err != nil {
		ln.Close()
		return err
	}
	srv := server.New(a.db, log, server.Config{
		PublicURL:      base,
		TLS:            useTLS || f.behindTLSProxy,
		Version:        buildVersion(),
		PasswordParams: auth.DefaultParams,
		Notify:         nc,
	})
	if err := firstRun(ctx, env, a, base, f.demo); err != nil {
		ln.Close()
		return err
	}
	// Stopped after the jobs (deferred first), before the store closes.
	fwd := startSIEM(ctx, a.db, siemSink, f.siem.addr, log)
	defer fwd.stop()
	runner, err := f.notify.startJobs(ctx, a.db, notifier, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		// After the HTTP server stopped, before the store closes: running
		// jobs get a few seconds, then return to the queue unpenalized.
		jctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(jctx); err != nil {
			log.Warn("jobs did not stop cleanly", "error", err.Error())
		}
	}()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	if useTLS {
		hs.TLSConfig, err = f.tlsConfig(a.dir)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("sotto listening", "addr", ln.Addr().String(), "tls", useTLS, "database", string(a.db.Dialect()))
	fmt.Fprintf(env.stdout, "sotto is listening on %s://%s\n", scheme, ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", f.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	srv.Close() // live event streams end with 1001 going away; clients resume elsewhere
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "error", err.Error())
		hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// checkTransport enforces "plain HTTP only on loopback": it reports whether
// sotto itself serves TLS, or an error naming the flags to add.
func (f *serveFlags) checkTransport() (bool, error) {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return false, usageError{"--tls-cert and --tls-key must be given together"}
	}
	if f.tlsCert != "" && f.acmeDomain != "" {
		return false, usageError{"choose either --tls-cert/--tls-key or --acme-domain, not both"}
	}
	if f.publicURL != "" {
		if u, err := url.Parse(f.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return false, usageError{"--public-url must be an absolute http:// or https:// URL"}
		}
	}
	useTLS := f.tlsCert != "" || f.acmeDomain != ""
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return false, usageError{"--addr must be HOST:PORT, e.g. 127.0.0.1:8080"}
	}
	if useTLS || f.behindTLSProxy || isLoopback(host) {
		return useTLS, nil
	}
	return false, usageError{fmt.Sprintf("refusing to serve plain HTTP on %s, which is not a loopback address: "+
		"add --tls-cert FILE --tls-key FILE, or --acme-domain DOMAIN, "+
		"or --behind-tls-proxy if a TLS-terminating proxy is in front of sotto", f.addr)}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsConfig returns TLS 1.2+ with modern AEAD cipher suites only.
func (f *serveFlags) tlsConfig(dataDir string) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		},
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
		NextProtos:       []string{"h2", "http/1.1"},
	}
	if f.acmeDomain != "" {
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(f.acmeDomain),
			Cache:      autocert.DirCache(filepath.Join(dataDir, "acme")),
		}
		c.GetCertificate = m.GetCertificate
		c.NextProtos = append(c.NextProtos, "acme-tls/1")
		return c, nil
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	c.Certificates = []tls.Certificate{cert}
	return c, nil
}
