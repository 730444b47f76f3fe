// Package pushtest is a local Web Push service for tests of code that
// sends through notify/push. It issues subscriptions for simulated
// devices with real P-256 keys and authentication secrets, and checks each
// message the way a push service and a browser together do: the VAPID
// token (RFC 8292) is verified, the RFC 8030 headers are required, and
// the payload is decrypted (RFC 8291) with the device's private key by an
// implementation of its own, independent of the sender's. Devices can be
// told to fail, hang or drop connections, and the server can be closed.
package pushtest

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/internal/notify/push"
)

// maxBody is the largest message a push service must accept (RFC 8030
// §7.2); larger ones are answered 413.
const maxBody = 4096

// Push is one message the server accepted.
type Push struct {
	Payload    []byte    // the decrypted payload
	TTL        int       // the TTL header, in seconds
	Urgency    string    // the Urgency header, "" if absent
	Topic      string    // the Topic header, "" if absent
	Subject    string    // the VAPID token's sub claim
	VAPIDKey   string    // the VAPID k parameter (the sender's public key)
	Expires    time.Time // the VAPID token's exp claim
	RecordSize int       // the aes128gcm header's rs
	BodyLen    int       // the encrypted body's length
	MessageID  string    // the Location the server answered
}

// Server is the fake push service. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's origin, e.g. "https://127.0.0.1:41234": the
	// VAPID aud it expects. Endpoints are URL + "/push/<id>".
	URL string

	srv       *httptest.Server
	done      chan struct{} // closed by Close: ends delays
	closeOnce sync.Once

	mu         sync.Mutex
	devices    map[string]*Device
	requests   int
	rejections []string
}

// Device is one subscribed browser. Its methods are safe for concurrent use.
type Device struct {
	s            *Server
	sub          push.Subscription
	key          *ecdh.PrivateKey
	auth         []byte
	serverKey    string // restricted subscription: the only VAPID k accepted
	pushes       []Push // guarded by s.mu, like the rest
	failures     []failure
	delay        time.Duration
	resets       int
	unsubscribed bool
}

type failure struct {
	status     int
	retryAfter string
}

// NewServer starts a push service over TLS and closes it when the test
// ends. Use Client to reach it.
func NewServer(t testing.TB) *Server {
	return start(t, httptest.NewTLSServer)
}

// NewInsecureServer starts a push service over plain HTTP on loopback;
// its endpoints pass push.ParseSubscription only with allowInsecure.
func NewInsecureServer(t testing.TB) *Server {
	return start(t, httptest.NewServer)
}

func start(t testing.TB, newServer func(http.Handler) *httptest.Server) *Server {
	t.Helper()
	s := &Server{done: make(chan struct{}), devices: map[string]*Device{}}
	s.srv = newServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Client returns a new HTTP client that trusts the server's certificate.
// Callers may change it (Timeout, Transport wrappers); all share one
// transport, whose connections Close ends.
func (s *Server) Client() *http.Client {
	c := *s.srv.Client()
	return &c
}

// Close stops the server: later sends find the port closed. Requests
// waiting in a Delay are ended first. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// Subscribe creates a device and its subscription, as
// PushManager.subscribe does, accepting messages signed with any VAPID key.
func (s *Server) Subscribe() (push.Subscription, *Device) { return s.subscribe("") }

// SubscribeRestricted creates a device subscribed with
// applicationServerKey: messages signed with another VAPID key are
// answered 403 (RFC 8292 §4.2).
func (s *Server) SubscribeRestricted(applicationServerKey string) (push.Subscription, *Device) {
	return s.subscribe(applicationServerKey)
}

func (s *Server) subscribe(serverKey string) (push.Subscription, *Device) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	auth := make([]byte, 16)
	id := make([]byte, 24)
	_, _ = rand.Read(auth)
	_, _ = rand.Read(id)
	b64 := base64.RawURLEncoding.EncodeToString
	d := &Device{s: s, key: key, auth: auth, serverKey: serverKey, sub: push.Subscription{
		Endpoint: s.URL + "/push/" + b64(id),
		Keys:     push.SubscriptionKeys{P256dh: b64(key.PublicKey().Bytes()), Auth: b64(auth)},
	}}
	s.mu.Lock()
	s.devices[b64(id)] = d
	s.mu.Unlock()
	return d.sub, d
}

// Requests returns how many requests reached the server.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Rejections returns why the server refused requests it verified (bad
// VAPID token, missing header, undecryptable body...), in order.
func (s *Server) Rejections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejections...)
}

// Subscription returns the device's subscription.
func (d *Device) Subscription() push.Subscription { return d.sub }

// FailWith makes the device's next n requests answer status (e.g. 503,
// 429, 410, 413) before anything is checked or stored.
func (d *Device) FailWith(status, n int) { d.FailWithRetryAfter(status, n, "") }

// FailWithRetryAfter is FailWith with a Retry-After header (seconds or an
// HTTP date) on each answer.
func (d *Device) FailWithRetryAfter(status, n int, retryAfter string) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	for range n {
		d.failures = append(d.failures, failure{status, retryAfter})
	}
}

// Delay makes every later request to the device wait d before it is
// handled, or until the sender gives up or the server closes.
func (d *Device) Delay(delay time.Duration) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	d.delay = delay
}

// Reset makes the device's next n requests end with the connection reset
// and no answer.
func (d *Device) Reset(n int) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	d.resets += n
}

// Unsubscribe ends the subscription, as the user revoking permission
// does: every later request answers 410 Gone.
func (d *Device) Unsubscribe() {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	d.unsubscribed = true
}

// Received returns the decrypted payloads the device received, in order.
func (d *Device) Received() [][]byte {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	out := make([][]byte, len(d.pushes))
	for i, p := range d.pushes {
		out[i] = append([]byte(nil), p.Payload...)
	}
	return out
}

// Pushes returns the messages the device received with their headers
// and VAPID claims, in order.
func (d *Device) Pushes() []Push {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	out := make([]Push, len(d.pushes))
	for i, p := range d.pushes {
		p.Payload = append([]byte(nil), p.Payload...)
		out[i] = p
	}
	return out
}

// serve handles POST /push/{id}.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	d := s.devices[strings.TrimPrefix(r.URL.Path, "/push/")]
	if d == nil || !strings.HasPrefix(r.URL.Path, "/push/") {
		s.mu.Unlock()
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	delay, reset, gone := d.delay, d.resets > 0, d.unsubscribed
	var fail *failure
	if reset {
		d.resets--
	} else if len(d.failures) > 0 {
		fail = &d.failures[0]
		d.failures = d.failures[1:]
	}
	s.mu.Unlock()

	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			panic(http.ErrAbortHandler) // the sender gave up
		case <-s.done:
			panic(http.ErrAbortHandler) // drop the connection unanswered
		}
	}
	switch {
	case reset:
		resetConn(w, r)
		return
	case fail != nil:
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		http.Error(w, http.StatusText(fail.status), fail.status)
		return
	case gone:
		http.Error(w, "subscription expired or unsubscribed", http.StatusGone)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, status, err := s.check(d, r)
	if err != nil {
		s.mu.Lock()
		s.rejections = append(s.rejections, fmt.Sprintf("%d %v", status, err))
		s.mu.Unlock()
		http.Error(w, err.Error(), status)
		return
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	p.MessageID = s.URL + "/message/" + base64.RawURLEncoding.EncodeToString(id)
	s.mu.Lock()
	d.pushes = append(d.pushes, p)
	s.mu.Unlock()
	w.Header().Set("Location", p.MessageID)
	w.WriteHeader(http.StatusCreated)
}

// check verifies a message as a push service does and decrypts it as the
// device would, returning the status to answer if it fails.
func (s *Server) check(d *Device, r *http.Request) (Push, int, error) {
	v, err := verifyVAPID(r.Header.Get("Authorization"), s.URL, time.Now())
	if err != nil {
		return Push{}, http.StatusUnauthorized, err
	}
	if d.serverKey != "" && v.key != d.serverKey {
		return Push{}, http.StatusForbidden, fmt.Errorf("VAPID key is not the subscription's applicationServerKey")
	}
	p := Push{Subject: v.subject, VAPIDKey: v.key, Expires: v.expires}

	ttl := r.Header.Get("TTL")
	if ttl == "" || strings.TrimLeft(ttl, "0123456789") != "" {
		return Push{}, http.StatusBadRequest, fmt.Errorf("TTL header missing or not a number")
	}
	if p.TTL, err = strconv.Atoi(ttl); err != nil || len(ttl) > 10 {
		return Push{}, http.StatusBadRequest, fmt.Errorf("TTL header out of range")
	}
	p.Urgency = r.Header.Get("Urgency")
	switch p.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return Push{}, http.StatusBadRequest, fmt.Errorf("urgency %q is not very-low, low, normal or high", p.Urgency)
	}
	p.Topic = r.Header.Get("Topic")
	if len(p.Topic) > 32 || strings.Trim(p.Topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return Push{}, http.StatusBadRequest, fmt.Errorf("topic is longer than 32 characters or not base64url")
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return Push{}, http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxBody {
		return Push{}, http.StatusRequestEntityTooLarge, fmt.Errorf("body longer than %d bytes", maxBody)
	}
	p.BodyLen = len(body)
	if len(body) == 0 {
		return p, 0, nil // a push without payload (RFC 8030 §5)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return Push{}, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not aes128gcm", ce)
	}
	if p.Payload, p.RecordSize, err = decrypt(body, d.key, d.auth); err != nil {
		return Push{}, http.StatusBadRequest, fmt.Errorf("decrypt: %w", err)
	}
	return p, 0, nil
}

// resetConn reads the request and aborts its TCP connection with a reset.
func resetConn(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("pushtest: hijack: %v", err))
	}
	nc := conn
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		nc = tc.NetConn()
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = nc.Close()
}
