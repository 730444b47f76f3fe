package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
)

// MaxSubscriptionJSON is the longest PushSubscription JSON
// ParseSubscription reads. Real ones are a few hundred bytes.
const MaxSubscriptionJSON = 4 << 10

// Subscription is a browser's push subscription: where to post and how to
// encrypt for it. Its JSON form is that of PushSubscription.toJSON().
// Endpoint and keys are secrets of the device: formatting a Subscription
// with fmt or slog shows the push service's origin only.
type Subscription struct {
	Endpoint string           `json:"endpoint"` // the push resource URL; identifies the device
	Keys     SubscriptionKeys `json:"keys"`
}

// SubscriptionKeys are the user agent's encryption keys (RFC 8291), in
// unpadded base64url once parsed.
type SubscriptionKeys struct {
	P256dh string `json:"p256dh"` // the device's uncompressed P-256 public key, 65 bytes
	Auth   string `json:"auth"`   // the authentication secret, 16 bytes
}

// Origin returns the push service's scheme and host (e.g.
// "https://fcm.googleapis.com"), safe to log, or "" if the endpoint is not
// a URL.
func (s Subscription) Origin() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Format implements fmt.Formatter: every verb prints the origin only.
func (s Subscription) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "push.Subscription{"+s.Origin()+" "+redacted+"}")
}

// LogValue implements slog.LogValuer: the origin only.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(slog.String("origin", s.Origin()))
}

// ParseSubscription parses the JSON of a browser's
// PushSubscription.toJSON() (unknown members such as expirationTime are
// ignored) and checks it. The subscribe handler calls it before storing a
// subscription.
//
// data must be at most MaxSubscriptionJSON bytes. The endpoint must be an
// absolute https URL without user info or fragment, of printable ASCII;
// allowInsecure also admits http URLs on a loopback host, for local tests.
// keys.p256dh must be base64url (padded or not) of a valid uncompressed
// P-256 point and keys.auth of 16 bytes. The keys are returned in
// unpadded base64url.
//
// Errors wrap ErrInvalidSubscription and say which member is wrong, never
// its value, so they may be logged and shown to the client.
func ParseSubscription(data []byte, allowInsecure bool) (Subscription, error) {
	if len(data) > MaxSubscriptionJSON {
		return Subscription{}, invalidSub("longer than 4096 bytes")
	}
	var s Subscription
	if json.Unmarshal(data, &s) != nil { // the decoder's message may quote the input
		return Subscription{}, invalidSub("not a JSON object with endpoint and keys")
	}
	if err := s.check(allowInsecure); err != nil {
		return Subscription{}, err
	}
	p, _ := decodeBase64URL(s.Keys.P256dh)
	a, _ := decodeBase64URL(s.Keys.Auth)
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(p)
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(a)
	return s, nil
}

// check validates s as ParseSubscription describes.
func (s Subscription) check(allowInsecure bool) error {
	if s.Endpoint == "" {
		return invalidSub("endpoint is missing")
	}
	for i := 0; i < len(s.Endpoint); i++ {
		if c := s.Endpoint[i]; c <= ' ' || c >= 0x7f {
			return invalidSub("endpoint is not a printable ASCII URL")
		}
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return invalidSub("endpoint is not an absolute URL")
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return invalidSub("endpoint has no host")
	case u.User != nil:
		return invalidSub("endpoint has user info")
	case u.Fragment != "" || strings.Contains(s.Endpoint, "#"):
		return invalidSub("endpoint has a fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure && isLoopback(u.Hostname()):
	case u.Scheme == "http" && allowInsecure:
		return invalidSub("endpoint is http on a host other than loopback")
	default:
		return invalidSub("endpoint is not an https URL")
	}
	if s.Keys.P256dh == "" {
		return invalidSub("keys.p256dh is missing")
	}
	p, err := decodeBase64URL(s.Keys.P256dh)
	if err != nil {
		return invalidSub("keys.p256dh is not base64url")
	}
	if len(p) != 65 || p[0] != 4 {
		return invalidSub("keys.p256dh is not an uncompressed P-256 point")
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return invalidSub("keys.p256dh is not a point on P-256")
	}
	if s.Keys.Auth == "" {
		return invalidSub("keys.auth is missing")
	}
	a, err := decodeBase64URL(s.Keys.Auth)
	if err != nil {
		return invalidSub("keys.auth is not base64url")
	}
	if len(a) != 16 {
		return invalidSub("keys.auth is not 16 bytes")
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func invalidSub(what string) error {
	return fmt.Errorf("%w: %s", ErrInvalidSubscription, what)
}
