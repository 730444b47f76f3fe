// Package email delivers PHI-free notification e-mails ("You have a new
// secure message from Lakeside Clinic. Read it here: <link>") over SMTP
// using github.com/wneessen/go-mail.
//
// Transport security is not optional: a [Sender] speaks either STARTTLS,
// which it requires (a server that does not offer it gets nothing beyond
// EHLO, see [ErrNoSTARTTLS]), or implicit TLS (SMTPS). There is no
// plaintext mode, TLS 1.2 is the minimum, the server certificate is always
// verified, and SMTP AUTH is only ever sent inside TLS.
//
// Failures are classified for the caller's retry policy: every error from
// [Sender.Send] matches exactly one of [ErrTemporary] or [ErrPermanent], and
// transport failures are *[SMTPError] values carrying the reply code. No
// error text ever contains the recipient address or the message text.
package email

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
)

// Mode selects how the SMTP connection is protected.
type Mode string

const (
	// ModeSTARTTLS connects in clear (default port 587) and upgrades with
	// STARTTLS before anything but EHLO is sent. It is the default.
	ModeSTARTTLS Mode = "starttls"
	// ModeImplicit speaks TLS from the first byte (SMTPS, default port 465).
	ModeImplicit Mode = "implicit"
)

// DefaultTimeout bounds one Send (dial to QUIT) when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config describes the submission server. Only [New] reads it.
type Config struct {
	// Host is the server name; it is also the name the certificate must
	// carry (DNS name or IP address).
	Host string
	// Port defaults to 587 for ModeSTARTTLS and 465 for ModeImplicit.
	Port int
	// Username and Password enable SMTP AUTH (PLAIN, else LOGIN). Both or
	// neither must be set.
	Username, Password string
	// From is the sender, optionally with a display name, e.g.
	// "Lakeside Clinic <no-reply@lakeside.example>".
	From string
	// TLS is ModeSTARTTLS (default when empty) or ModeImplicit.
	TLS Mode
	// RootCAs verifies the server certificate; nil means the system pool.
	RootCAs *x509.CertPool
	// Timeout bounds one whole Send; 0 means DefaultTimeout.
	Timeout time.Duration
	// HelloName is the EHLO name; empty means the host name of this machine.
	HelloName string
}

// Sender sends notification e-mails. It is immutable after [New] and safe
// for concurrent use; each Send uses its own connection.
type Sender struct {
	addr     string // host:port
	host     string
	user     string
	pass     string
	from     *mail.Address
	implicit bool
	timeout  time.Duration
	helo     string
	tlsConf  *tls.Config
	now      func() time.Time
}

// New validates cfg and returns a Sender. It performs no network I/O. Any
// validation failure matches [ErrInvalidConfig] (and [ErrPermanent]); the
// error text does not quote the offending values.
func New(cfg Config) (*Sender, error) {
	badHost := strings.ContainsAny(cfg.Host, "/:[]@%") && net.ParseIP(cfg.Host) == nil
	if cfg.Host == "" || hasControlOrSpace(cfg.Host) || badHost {
		return nil, invalidConfig("host is empty or malformed")
	}
	s := &Sender{host: cfg.Host, user: cfg.Username, pass: cfg.Password, now: time.Now}
	switch cfg.TLS {
	case "", ModeSTARTTLS:
	case ModeImplicit:
		s.implicit = true
	default:
		return nil, invalidConfig(`TLS mode must be "starttls" or "implicit" (there is no plaintext mode)`)
	}
	port := cfg.Port
	switch {
	case port == 0 && s.implicit:
		port = 465
	case port == 0:
		port = 587
	case port < 0 || port > 65535:
		return nil, invalidConfig("port out of range")
	}
	s.addr = net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, invalidConfig("username and password must be set together")
	}
	if strings.ContainsAny(cfg.Username+cfg.Password, "\x00\r\n") {
		return nil, invalidConfig("credentials contain NUL, CR or LF")
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, invalidConfig("from address is invalid")
	}
	s.from = from
	switch {
	case cfg.Timeout < 0:
		return nil, invalidConfig("timeout is negative")
	case cfg.Timeout == 0:
		s.timeout = DefaultTimeout
	default:
		s.timeout = cfg.Timeout
	}
	s.helo = cfg.HelloName
	if s.helo == "" {
		if h, err := os.Hostname(); err == nil && h != "" && !hasControlOrSpace(h) {
			s.helo = h
		} else {
			s.helo = "localhost"
		}
	}
	if hasControlOrSpace(s.helo) {
		return nil, invalidConfig("hello name is malformed")
	}
	s.tlsConf = &tls.Config{
		ServerName: cfg.Host,
		RootCAs:    cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
	}
	return s, nil
}

// hasControlOrSpace reports whether s contains ASCII controls, DEL or spaces.
func hasControlOrSpace(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}
