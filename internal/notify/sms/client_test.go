package sms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/notify/sms"
	"sotto/internal/notify/sms/smstest"
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "test-auth-token-0123456789abcdef"
	from    = "+15005550006"
	// canaryTo and canaryBody must never appear in an error.
	canaryTo   = "+14155550199"
	canaryBody = "Canary body: lab results for Jane Canary"
)

func newClient(t *testing.T, srv *smstest.Server, mod func(*sms.Config)) *sms.Client {
	t.Helper()
	cfg := sms.Config{BaseURL: srv.URL, AccountSID: account, AuthToken: token, From: from, StatusCallback: "http://127.0.0.1:1/sms/status"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := sms.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkClean fails if err's text, client message or provider error holds
// the recipient's number or the body.
func checkClean(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{err.Error(), sotto.ErrorMessage(err)} {
		for _, canary := range []string{canaryTo, canaryTo[1:], "4155550199", canaryBody, "Jane"} {
			if strings.Contains(s, canary) {
				t.Errorf("error %q holds %q", s, canary)
			}
		}
	}
}

func TestSend(t *testing.T) {
	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, nil)
	res, err := c.Send(context.Background(), canaryTo, "You have a new secure message from Lakeside Clinic.", "notif-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.SID, "SM") || len(res.SID) != 34 || res.Status != sms.StatusQueued {
		t.Errorf("result = %+v", res)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages recorded", len(msgs))
	}
	m := msgs[0]
	if m.SID != res.SID || m.To != canaryTo || m.From != from || m.Body != "You have a new secure message from Lakeside Clinic." ||
		m.Idempotency != "notif-1" || m.StatusCallback != "http://127.0.0.1:1/sms/status" || m.MessagingServiceSID != "" {
		t.Errorf("recorded %+v", m)
	}
}

func TestSendMessagingService(t *testing.T) {
	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, func(cfg *sms.Config) { cfg.From, cfg.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef" })
	res, err := c.Send(context.Background(), canaryTo, "hello", "notif-2")
	if err != nil || res.Status != sms.StatusAccepted {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if m := srv.Messages()[0]; m.From != "" || m.MessagingServiceSID != "MG0123456789abcdef0123456789abcdef" {
		t.Errorf("recorded %+v", m)
	}
}

// TestIdempotentRetry: the provider accepts a message but its answer is
// lost (a 503 from a gateway); the retry with the same token gets the
// same SID, and exactly one message was sent.
func TestIdempotentRetry(t *testing.T) {
	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, nil)
	srv.FailNextAfterAccept(1, http.StatusServiceUnavailable)
	_, err := c.Send(context.Background(), canaryTo, canaryBody, "notif-3")
	if !errors.Is(err, sms.ErrTemporary) || errors.Is(err, sms.ErrPermanent) || sotto.ErrorKind(err) != sotto.KindUnavailable {
		t.Fatalf("first attempt: %v; want temporary", err)
	}
	checkClean(t, err)
	res, err := c.Send(context.Background(), canaryTo, canaryBody, "notif-3")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].SID != res.SID || srv.Requests() != 2 {
		t.Fatalf("%d messages (%d requests) after retry; want 1 with SID %s", len(msgs), srv.Requests(), res.SID)
	}
	// A failure before acceptance sends nothing; the retry sends once.
	srv.FailNext(1, http.StatusServiceUnavailable, 0)
	if _, err := c.Send(context.Background(), canaryTo, canaryBody, "notif-4"); !errors.Is(err, sms.ErrTemporary) {
		t.Fatalf("want temporary, got %v", err)
	}
	if _, err := c.Send(context.Background(), canaryTo, canaryBody, "notif-4"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages; want 2", n)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(*smstest.Server)
		to         string
		temporary  bool
		code, http int
		retryAfter time.Duration
	}{
		{"invalid number", nil, "+1415555", false, 21211, 400, 0},
		{"unsubscribed", func(s *smstest.Server) { s.FailNext(1, 400, 21610) }, canaryTo, false, sms.CodeUnsubscribed, 400, 0},
		{"rate limited", func(s *smstest.Server) { s.FailNext(1, 429, 20429) }, canaryTo, true, 20429, 429, time.Second},
		{"server error", func(s *smstest.Server) { s.FailNext(1, 500, 0) }, canaryTo, true, 0, 500, 0},
		{"bad gateway", func(s *smstest.Server) { s.FailNext(1, 502, 0) }, canaryTo, true, 0, 502, 0},
		{"forbidden", func(s *smstest.Server) { s.FailNext(1, 403, 20003) }, canaryTo, false, 20003, 403, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smstest.NewServer(t, account, token)
			c := newClient(t, srv, nil)
			if tt.inject != nil {
				tt.inject(srv)
			}
			_, err := c.Send(context.Background(), tt.to, canaryBody, "k-"+tt.name[:3])
			if err == nil {
				t.Fatal("no error")
			}
			checkClean(t, err)
			if errors.Is(err, sms.ErrTemporary) != tt.temporary || errors.Is(err, sms.ErrPermanent) == tt.temporary {
				t.Errorf("%v: temporary %v, permanent %v; want temporary %v", err, errors.Is(err, sms.ErrTemporary), errors.Is(err, sms.ErrPermanent), tt.temporary)
			}
			var pe *sms.ProviderError
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.HTTPStatus != tt.http || pe.RetryAfter != tt.retryAfter {
				t.Errorf("provider error = %+v; want code %d, HTTP %d, retry after %v", pe, tt.code, tt.http, tt.retryAfter)
			}
			if sms.ProviderCode(err) != tt.code {
				t.Errorf("ProviderCode = %d", sms.ProviderCode(err))
			}
			if len(srv.Messages()) != 0 {
				t.Error("a message was recorded")
			}
		})
	}
}

func TestSendBadCredentials(t *testing.T) {
	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, func(cfg *sms.Config) { cfg.AuthToken = "wrong" })
	_, err := c.Send(context.Background(), canaryTo, canaryBody, "k")
	if !errors.Is(err, sms.ErrPermanent) || sms.ProviderCode(err) != 20003 || sotto.ErrorKind(err) != sotto.KindInternal {
		t.Fatalf("err = %v; want permanent 20003, internal", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), token) {
		t.Errorf("error %q holds the token", err)
	}
}

func TestSendLocalValidation(t *testing.T) {
	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, nil)
	for _, tt := range []struct{ to, body, key string }{
		{"4155550199", canaryBody, "k"},
		{"+1415555019x", canaryBody, "k"},
		{canaryTo, "", "k"},
		{canaryTo, strings.Repeat("x", sms.MaxBodyLen+1), "k"},
		{canaryTo, "bad \xff", "k"},
		{canaryTo, canaryBody, ""},
		{canaryTo, canaryBody, "key with spaces"},
	} {
		_, err := c.Send(context.Background(), tt.to, tt.body, tt.key)
		if !errors.Is(err, sms.ErrPermanent) || sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("Send(%q, %d bytes, %q) = %v; want permanent invalid", tt.to, len(tt.body), tt.key, err)
		}
		checkClean(t, err)
	}
	if srv.Requests() != 0 {
		t.Errorf("%d requests reached the provider", srv.Requests())
	}
}

func TestSendNetworkFailures(t *testing.T) {
	// A closed port: connection refused.
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close()
	c, err := sms.New(sms.Config{BaseURL: base, AccountSID: account, AuthToken: token, From: from})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), canaryTo, canaryBody, "k")
	if !errors.Is(err, sms.ErrTemporary) {
		t.Errorf("refused connection: %v; want temporary", err)
	}
	checkClean(t, err)
	if strings.Contains(err.Error(), account) {
		t.Errorf("error %q holds the request URL", err)
	}

	// A provider that never answers, and a cancelled context.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	c, _ = sms.New(sms.Config{BaseURL: hang.URL, AccountSID: account, AuthToken: token, From: from})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Send(ctx, canaryTo, canaryBody, "k")
	if !errors.Is(err, sms.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v; want temporary wrapping the deadline", err)
	}

	// A 2xx answer that cannot be read: accepted, so never retried.
	garbled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid": "SM../../x", "to": "` + canaryTo + `"}`))
	}))
	defer garbled.Close()
	c, _ = sms.New(sms.Config{BaseURL: garbled.URL, AccountSID: account, AuthToken: token, From: from})
	_, err = c.Send(context.Background(), canaryTo, canaryBody, "k")
	if !errors.Is(err, sms.ErrPermanent) {
		t.Errorf("unreadable 201: %v; want permanent", err)
	}
	checkClean(t, err)
}

func TestSendFailedOnCreate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid": "SM0123456789abcdef0123456789abcdef", "status": "failed", "error_code": "30007", "error_message": "to ` + canaryTo + `"}`))
	}))
	defer srv.Close()
	c, _ := sms.New(sms.Config{BaseURL: srv.URL, AccountSID: account, AuthToken: token, From: from})
	res, err := c.Send(context.Background(), canaryTo, canaryBody, "k")
	if res.SID != "SM0123456789abcdef0123456789abcdef" || !errors.Is(err, sms.ErrPermanent) || sms.ProviderCode(err) != 30007 {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	checkClean(t, err)
}

func TestNew(t *testing.T) {
	good := sms.Config{AccountSID: account, AuthToken: token, From: from}
	c, err := sms.New(good)
	if err != nil || c == nil {
		t.Fatalf("default base URL: %v", err)
	}
	for _, from := range []string{"+442071838750", "12345", "Lakeside", "Lakeside 24"} {
		cfg := good
		cfg.From = from
		if _, err := sms.New(cfg); err != nil {
			t.Errorf("From %q: %v", from, err)
		}
	}
	for name, mod := range map[string]func(*sms.Config){
		"http base":        func(c *sms.Config) { c.BaseURL = "http://api.twilio.com" },
		"base with query":  func(c *sms.Config) { c.BaseURL = "https://api.twilio.com/?x=1" },
		"base with user":   func(c *sms.Config) { c.BaseURL = "https://u:p@api.twilio.com" },
		"relative base":    func(c *sms.Config) { c.BaseURL = "api.twilio.com" },
		"no account":       func(c *sms.Config) { c.AccountSID = "" },
		"path in account":  func(c *sms.Config) { c.AccountSID = "AC1/../x" },
		"no token":         func(c *sms.Config) { c.AuthToken = "" },
		"no sender":        func(c *sms.Config) { c.From = "" },
		"bad from":         func(c *sms.Config) { c.From = "+1 415 555" },
		"long alpha":       func(c *sms.Config) { c.From = "LakesideClinic" },
		"bad service":      func(c *sms.Config) { c.MessagingServiceSID = "MG 1" },
		"http callback":    func(c *sms.Config) { c.StatusCallback = "http://sotto.example.org/sms/status" },
		"relative callbak": func(c *sms.Config) { c.StatusCallback = "/sms/status" },
	} {
		cfg := good
		mod(&cfg)
		if _, err := sms.New(cfg); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("%s: %v; want KindInvalid", name, err)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("%s: error holds the token", name)
		}
	}
	for _, base := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2/", "https://space.signalwire.com/api/laml"} {
		cfg := good
		cfg.BaseURL = base
		if _, err := sms.New(cfg); err != nil {
			t.Errorf("base %q: %v", base, err)
		}
	}
}
