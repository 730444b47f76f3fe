package push

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// Limits and defaults.
const (
	// MaxPayload is the longest payload Send accepts. Encrypted and
	// padded it fits the 4096-byte record every push service must take.
	MaxPayload = 3000
	// DefaultTTL is how long a push service keeps a message for an
	// offline device when Options.TTL is zero.
	DefaultTTL = 24 * time.Hour

	defaultTimeout = 30 * time.Second
	maxDrain       = 64 << 10 // bytes of an answer read before closing it
	maxMessageID   = 1024
	maxTopic       = 32
)

// Urgency values (RFC 8030 §5.3).
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

// Options are the RFC 8030 delivery options of one message.
type Options struct {
	// TTL is how long the push service keeps the message while the
	// device is offline, in whole seconds; zero means DefaultTTL.
	TTL time.Duration
	// Urgency is "" (the service's default, normal), or one of the
	// Urgency constants: a device on battery may defer low ones.
	Urgency string
	// Topic, if set, replaces an undelivered earlier message with the
	// same topic: at most 32 characters of the base64url alphabet.
	Topic string
}

// Result is the push service's answer. Send returns it also with an
// error that came from an answer, so Status and RetryAfter can be read.
type Result struct {
	Status     int           // the HTTP status; 0 if none arrived
	MessageID  string        // the Location header of an accepted message (the push message resource), if any
	RetryAfter time.Duration // the Retry-After of a temporary failure, if any
}

// Sender posts encrypted, VAPID-signed messages to push services. It is
// safe for concurrent use.
type Sender struct {
	public     string
	private    PrivateKey
	subscriber string // subject as webpush-go wants it (it adds "mailto:" itself)
	client     *http.Client
	now        func() time.Time
}

// NewSender returns a Sender signing with keys. Serve calls it at
// start-up. subject is this server's contact for push service operators,
// a "mailto:" address or an "https:" URL (RFC 8292 §2.1), and is
// required. client carries the requests; nil means a client with a
// 30-second timeout that does not follow redirects.
//
// It returns an error if keys are missing or do not match, or subject is
// not a mailto: or https: contact.
func NewSender(keys Keys, subject string, client *http.Client) (*Sender, error) {
	if err := keys.check(); err != nil {
		return nil, err
	}
	subscriber, ok := checkSubject(subject)
	if !ok {
		return nil, errors.New("push: VAPID subject must be a mailto: address or an https: URL")
	}
	if client == nil {
		client = &http.Client{
			Timeout:       defaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Sender{public: keys.Public, private: keys.Private, subscriber: subscriber, client: client, now: time.Now}, nil
}

// checkSubject validates a VAPID subject and returns it in the form
// webpush-go v1.4 takes: it prefixes "mailto:" to anything that does not
// start with "https:", so a mailto: subject loses its prefix here.
func checkSubject(subject string) (string, bool) {
	if strings.ContainsFunc(subject, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", false
	}
	if addr, ok := strings.CutPrefix(subject, "mailto:"); ok {
		at := strings.LastIndexByte(addr, '@')
		return addr, at > 0 && at < len(addr)-1 && !strings.HasPrefix(addr, "https:")
	}
	u, err := url.Parse(subject)
	ok := err == nil && u.Scheme == "https" && strings.HasPrefix(subject, "https:") && u.Host != "" && u.User == nil
	return subject, ok
}

// PublicKey returns the applicationServerKey pages subscribe with.
func (s *Sender) PublicKey() string { return s.public }

// Send encrypts payload for sub (RFC 8291, aes128gcm, one 4096-byte
// record), signs a VAPID token for the endpoint's origin and posts it.
// The notification job calls it with a rendered, PHI-free notification.
//
// A 2xx answer returns the Result and nil. Otherwise the error is an
// *Error matching, under errors.Is:
//   - ErrGone (and ErrPermanent) for 404 and 410: delete the subscription;
//   - ErrTemporary for 408, 429 and 5xx answers, timeouts, cancelled ctx,
//     refused or reset connections: retry later, after RetryAfter;
//   - ErrPermanent for any other answer (400, 403, 413 ...), for a
//     payload over MaxPayload (also ErrTooLarge), invalid options, or a
//     subscription that fails ParseSubscription's checks (also
//     ErrInvalidSubscription; http is allowed on loopback hosts).
//
// No error holds the endpoint, the keys or the payload. The answer's body
// is drained (up to 64 KiB) and closed.
func (s *Sender) Send(ctx context.Context, sub Subscription, payload []byte, opts Options) (Result, error) {
	if len(payload) > MaxPayload {
		return Result{}, permanent("payload is longer than 3000 bytes", ErrTooLarge)
	}
	if err := sub.check(true); err != nil {
		return Result{}, permanent(strings.TrimPrefix(err.Error(), "push: "), err)
	}
	ttl := opts.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		return Result{}, permanent("TTL is negative", nil)
	}
	switch opts.Urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return Result{}, permanent("urgency is not very-low, low, normal or high", nil)
	}
	if !validTopic(opts.Topic) {
		return Result{}, permanent("topic is longer than 32 characters or not base64url", nil)
	}

	resp, err := webpush.SendNotificationWithContext(ctx, payload,
		&webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}},
		&webpush.Options{
			HTTPClient:      s.client,
			Subscriber:      s.subscriber,
			Topic:           opts.Topic,
			TTL:             int(ttl / time.Second),
			Urgency:         webpush.Urgency(opts.Urgency),
			VAPIDPublicKey:  s.public,
			VAPIDPrivateKey: s.private.encode(),
		})
	if err != nil {
		// Client.Do wraps every failure in a *url.Error naming the
		// endpoint: keep only its cause. Other errors come from
		// encryption or request building, which the checks above make
		// unreachable; their text may hold the endpoint, so drop it.
		var ue *url.Error
		if errors.As(err, &ue) && ue.Op != "parse" {
			return Result{}, networkError(ue.Err)
		}
		return Result{}, permanent("message could not be encrypted or the request built", nil)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	res := Result{Status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if loc := resp.Header.Get("Location"); len(loc) <= maxMessageID && printable(loc) {
			res.MessageID = loc
		}
		return res, nil
	}
	e := statusError(resp.StatusCode, resp.Header, s.now())
	res.RetryAfter = e.RetryAfter
	return res, e
}

// validTopic reports whether t is empty or a valid RFC 8030 §5.4 topic.
func validTopic(t string) bool {
	if len(t) > maxTopic {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
