package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults and limits.
const (
	DefaultBaseURL = "https://api.twilio.com"
	// APIVersion is the path segment of Twilio's 2010 REST API.
	APIVersion = "2010-04-01"
	// MaxBodyLen is the longest body, in characters, the provider accepts.
	MaxBodyLen = 1600
	// IdempotencyHeader carries Send's idempotency token.
	IdempotencyHeader = "I-Twilio-Idempotency-Token"

	defaultTimeout = 30 * time.Second
	maxAnswer      = 64 << 10
)

// Config configures a Client. Serve builds it from the SMS channel's
// settings; AuthToken is a secret (keep it encrypted, never log it).
type Config struct {
	BaseURL             string       // provider API root; default DefaultBaseURL. https, or http on loopback only
	AccountSID          string       // account id, e.g. "AC..." (letters, digits and '-')
	AuthToken           string       // API secret, also the webhook signing key
	From                string       // sender: E.164 number, short code or alphanumeric sender id
	MessagingServiceSID string       // or a messaging service, e.g. "MG..."; at least one of the two
	StatusCallback      string       // optional URL the provider posts delivery status to
	HTTPClient          *http.Client // default: 30 s timeout, no redirects
}

// Client sends text messages. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	http     *http.Client
}

// Result is the provider's answer to an accepted message.
type Result struct {
	SID    string // the provider's message id, e.g. "SM...": status callbacks refer to it
	Status string // the initial status, usually "queued" or "accepted"
}

// New validates cfg and returns a Client. Serve calls it at start-up and
// whenever the SMS channel's settings change. It returns a KindInvalid
// *sotto.Error naming the bad field (never its value) when BaseURL or
// StatusCallback is not an https URL (http is allowed on localhost,
// 127.0.0.0/8 and [::1] only), AccountSID or AuthToken is missing or
// malformed, or neither a valid From nor a MessagingServiceSID is given.
func New(cfg Config) (*Client, error) {
	const op = "sms.New"
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !okURL(cfg.BaseURL, false) {
		return nil, invalid(op, "The SMS base URL must be an https URL without query (http only on loopback).")
	}
	if !isID(cfg.AccountSID) {
		return nil, invalid(op, "The SMS account SID is missing or malformed.")
	}
	if cfg.AuthToken == "" || strings.ContainsFunc(cfg.AuthToken, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, invalid(op, "The SMS auth token is missing or malformed.")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, invalid(op, "An SMS sender number or messaging service SID is required.")
	}
	if cfg.From != "" && !isSender(cfg.From) {
		return nil, invalid(op, "The SMS sender must be an E.164 number, a short code or an alphanumeric sender id.")
	}
	if cfg.MessagingServiceSID != "" && !isID(cfg.MessagingServiceSID) {
		return nil, invalid(op, "The SMS messaging service SID is malformed.")
	}
	if cfg.StatusCallback != "" && !okURL(cfg.StatusCallback, true) {
		return nil, invalid(op, "The SMS status callback must be an https URL (http only on loopback).")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Client{cfg: cfg, http: hc,
		endpoint: cfg.BaseURL + "/" + APIVersion + "/Accounts/" + cfg.AccountSID + "/Messages.json"}, nil
}

// Send asks the provider to text body to the E.164 number to, and returns
// the message's SID and initial status once the provider has accepted it.
// The notifier calls it with a rendered notify template.
//
// idempotencyKey identifies this one notification (e.g. its id; 1-128
// letters, digits and . _ : -, never personal data) and goes in the
// IdempotencyHeader, so that a retry of the same key is deduplicated by
// the provider: call Send again with the same key, and only that key,
// after a temporary error.
//
// Errors are *sotto.Errors wrapping a *ProviderError that matches either
// ErrTemporary (network failure, timeout, cancelled ctx, HTTP 408, 429 or
// 5xx) or ErrPermanent (invalid arguments, any other 4xx, e.g. error
// CodeInvalidTo or CodeUnsubscribed, or a 2xx answer that cannot be read:
// the message was probably accepted, so it must not be resent). An
// accepted message whose initial status is already failed or undelivered
// returns its Result and a permanent error. No error holds to or body.
func (c *Client) Send(ctx context.Context, to, body, idempotencyKey string) (Result, error) {
	local := func(what string) (Result, error) { return Result{}, sendError(&ProviderError{What: what}) }
	switch {
	case !isE164(to):
		return local("recipient is not an E.164 number")
	case body == "" || !utf8.ValidString(body):
		return local("body is empty or not UTF-8")
	case utf8.RuneCountInString(body) > MaxBodyLen:
		return local("body is longer than 1600 characters")
	case !isKey(idempotencyKey):
		return local("idempotency key is missing or malformed")
	}
	form := url.Values{"To": {to}, "Body": {body}}
	if c.cfg.From != "" {
		form.Set("From", c.cfg.From)
	}
	if c.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", c.cfg.MessagingServiceSID)
	}
	if c.cfg.StatusCallback != "" {
		form.Set("StatusCallback", c.cfg.StatusCallback)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return local("request could not be built")
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(IdempotencyHeader, idempotencyKey)

	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL; the cause names no request data
		}
		return Result{}, sendError(&ProviderError{What: "provider unreachable", Temporary: true, cause: err})
	}
	defer resp.Body.Close()
	answer, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	pe := &ProviderError{HTTPStatus: resp.StatusCode}

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// error_message is not read: it may name the number.
		var m struct {
			SID       string  `json:"sid"`
			Status    string  `json:"status"`
			ErrorCode flexInt `json:"error_code"`
		}
		if readErr != nil || json.Unmarshal(answer, &m) != nil || !isID(m.SID) {
			pe.What = "provider accepted the message but its answer is unreadable"
			return Result{}, sendError(pe)
		}
		res := Result{SID: m.SID, Status: m.Status}
		if m.Status == StatusFailed || m.Status == StatusUndelivered {
			pe.What, pe.Code = "provider accepted the message as "+m.Status, int(m.ErrorCode)
			return res, sendError(pe)
		}
		return res, nil
	}

	var e struct {
		Code flexInt `json:"code"` // "message" is ignored: it may name the number
	}
	_ = json.Unmarshal(answer, &e)
	pe.Code = int(e.Code)
	pe.Temporary = resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 && s <= 86400 {
		pe.RetryAfter = time.Duration(s) * time.Second
	}
	pe.What = "provider refused the request"
	if pe.Temporary {
		pe.What = "provider failed the request"
	}
	return Result{}, sendError(pe)
}

// flexInt decodes a JSON number, a numeric string or null (as 0); other
// values also decode as 0, so an odd error code never hides the class.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(string(bytes.Trim(b, `"`)))
	if err == nil && n >= 0 && n < 1e7 {
		*f = flexInt(n)
	}
	return nil
}

// okURL reports whether s is an absolute http(s) URL, https unless its
// host is loopback, without user info or fragment; withQuery allows a
// query.
func okURL(s string, withQuery bool) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" || (!withQuery && u.RawQuery != "") {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		return h == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}

// isID reports whether s is a provider id: 1-64 ASCII letters, digits or
// '-' (Twilio's are two letters and 32 hex digits; compatible providers'
// may be UUIDs). Such a string is safe in a URL path.
func isID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-')
	})
}

// isKey reports whether s is a valid idempotency key.
func isKey(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._:-", r))
	})
}

// isE164 reports whether s is an E.164 number: '+', then 7 to 15 digits,
// the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isSender reports whether s is an E.164 number, a short code (3 to 8
// digits) or an alphanumeric sender id (1 to 11 letters, digits and
// spaces, at least one letter).
func isSender(s string) bool {
	if isE164(s) {
		return true
	}
	digits, letters := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			letters++
		case c != ' ':
			return false
		}
	}
	if letters == 0 {
		return digits == len(s) && digits >= 3 && digits <= 8
	}
	return len(s) <= 11 && s[0] != ' '
}
