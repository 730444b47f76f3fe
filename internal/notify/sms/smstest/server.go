// Package smstest is a local fake of a Twilio-compatible Messages API for
// tests of code that sends text messages through notify/sms. It checks
// what the real API checks (basic auth, account, form fields), answers as
// it does (201 with a message resource, or an error document with a
// Twilio error code), deduplicates requests by their idempotency token,
// records the messages it accepted, fails requests on demand, and sends
// signed status callbacks and inbound messages to a webhook URL.
package smstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"sotto/internal/notify/sms"
)

// Message is one message the fake accepted.
type Message struct {
	SID, Status                       string
	To, From, MessagingServiceSID     string
	Body, StatusCallback, Idempotency string
}

// failure is one injected failure.
type failure struct {
	status, code int
	afterAccept  bool
}

// Server is the fake API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API root: use it as sms.Config.BaseURL.
	URL string

	t          testing.TB
	accountSID string
	authToken  string
	srv        *httptest.Server

	mu       sync.Mutex
	messages []Message
	byToken  map[string]Message
	failures []failure
	requests int
}

// NewServer starts a fake for the account accountSID with the auth token
// authToken and stops it when the test ends. A request without an
// idempotency token is a bug in the code under test and fails the test.
func NewServer(t testing.TB, accountSID, authToken string) *Server {
	s := &Server{t: t, accountSID: accountSID, authToken: authToken, byToken: map[string]Message{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// NewServerAt is NewServer listening on addr ("127.0.0.1:PORT"): a test
// can point a client at an address first and start the provider later.
func NewServerAt(t testing.TB, addr, accountSID, authToken string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("smstest: listen: %v", err)
	}
	s := &Server{t: t, accountSID: accountSID, authToken: authToken, byToken: map[string]Message{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// FailNext makes the next n requests fail with the HTTP status and Twilio
// error code given, before the message is accepted; a 429 or 503 carries
// "Retry-After: 1".
func (s *Server) FailNext(n, status, code int) { s.fail(n, failure{status, code, false}) }

// FailNextAfterAccept makes the next n requests record their message and
// then answer with the HTTP status given: the provider accepted the
// message but its answer was lost, the case idempotency exists for.
func (s *Server) FailNextAfterAccept(n, status int) { s.fail(n, failure{status, 0, true}) }

func (s *Server) fail(n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns how many requests the fake has received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	want := "/2010-04-01/Accounts/" + s.accountSID + "/Messages.json"
	user, pass, ok := r.BasicAuth()
	switch {
	case !ok || user != s.accountSID || pass != s.authToken:
		apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	case r.URL.Path != want:
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	case r.Method != http.MethodPost:
		apiError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, 20001, "Invalid form")
		return
	}
	token := r.Header.Get(sms.IdempotencyHeader)
	if token == "" {
		s.t.Errorf("smstest: request without %s", sms.IdempotencyHeader)
	}
	if m, ok := s.byToken[token]; ok && token != "" {
		writeMessage(w, s.accountSID, m) // a retry: same answer, nothing sent
		return
	}
	var f *failure
	if len(s.failures) > 0 {
		next := s.failures[0]
		f, s.failures = &next, s.failures[1:]
		if !f.afterAccept {
			if f.status == http.StatusTooManyRequests || f.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			apiError(w, f.status, f.code, "Injected failure")
			return
		}
	}
	m := Message{
		To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"),
		Body: r.PostForm.Get("Body"), StatusCallback: r.PostForm.Get("StatusCallback"), Idempotency: token, Status: sms.StatusQueued,
	}
	switch {
	case m.To == "":
		apiError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164(m.To):
		// Like Twilio's, this message names the number: the client must not pass it on.
		apiError(w, http.StatusBadRequest, 21211, "The 'To' number "+m.To+" is not a valid phone number.")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		apiError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case m.Body == "":
		apiError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(m.Body) > sms.MaxBodyLen:
		apiError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if m.From == "" {
		m.Status = sms.StatusAccepted
	}
	m.SID = newSID("SM")
	s.messages = append(s.messages, m)
	if token != "" {
		s.byToken[token] = m
	}
	if f != nil {
		apiError(w, f.status, 0, "Injected failure after accepting the message")
		return
	}
	writeMessage(w, s.accountSID, m)
}

// writeMessage answers 201 with a Twilio message resource.
func writeMessage(w http.ResponseWriter, account string, m Message) {
	var svc any
	if m.MessagingServiceSID != "" {
		svc = m.MessagingServiceSID
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"account_sid": account, "api_version": sms.APIVersion, "body": m.Body,
		"date_created": time.Now().UTC().Format(time.RFC1123Z), "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": m.From, "messaging_service_sid": svc,
		"num_media": "0", "num_segments": "1", "price": nil, "sid": m.SID, "status": m.Status, "to": m.To,
		"uri": "/" + sms.APIVersion + "/Accounts/" + account + "/Messages/" + m.SID + ".json",
	})
}

// apiError answers with a Twilio error document.
func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	doc := map[string]any{"status": status, "message": msg}
	if code != 0 {
		doc["code"] = code
		doc["more_info"] = "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	}
	json.NewEncoder(w).Encode(doc)
}

// SendStatus posts a status callback for the message sid, as the provider
// does, to callbackURL (the message's StatusCallback when empty), signed
// with the auth token, and returns the HTTP status the receiver answered.
// errorCode 0 leaves ErrorCode out. A setup or transport failure fails the
// test.
func (s *Server) SendStatus(callbackURL, sid, status string, errorCode int) int {
	s.t.Helper()
	var m Message
	s.mu.Lock()
	for _, x := range s.messages {
		if x.SID == sid {
			m = x
		}
	}
	s.mu.Unlock()
	if callbackURL == "" {
		callbackURL = m.StatusCallback
	}
	form := url.Values{
		"AccountSid": {s.accountSID}, "ApiVersion": {sms.APIVersion}, "MessageSid": {sid}, "SmsSid": {sid},
		"MessageStatus": {status}, "SmsStatus": {status}, "From": {m.From}, "To": {m.To},
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return s.Post(callbackURL, form, sms.Sign(s.authToken, callbackURL, form))
}

// SendInbound posts an inbound message from one number to another, with a
// fresh SID, as the provider does, to webhookURL, signed with the auth
// token, and returns the HTTP status the receiver answered.
func (s *Server) SendInbound(webhookURL, from, to, body string) int {
	s.t.Helper()
	sid := newSID("SM")
	form := url.Values{
		"AccountSid": {s.accountSID}, "ApiVersion": {sms.APIVersion}, "MessageSid": {sid}, "SmsSid": {sid},
		"SmsMessageSid": {sid}, "SmsStatus": {"received"}, "From": {from}, "To": {to}, "Body": {body},
		"NumMedia": {"0"}, "NumSegments": {"1"},
	}
	return s.Post(webhookURL, form, sms.Sign(s.authToken, webhookURL, form))
}

// Post sends form to webhookURL as the provider sends webhooks, with
// signature (which may be "" or wrong, to test refusal) in the signature
// header and a fresh I-Twilio-Idempotency-Token, and returns the HTTP
// status the receiver answered.
func (s *Server) Post(webhookURL string, form url.Values, signature string) int {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, webhookURL, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatalf("smstest: webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(sms.IdempotencyHeader, newSID("")+"-"+strconv.FormatInt(time.Now().UnixMilli(), 10))
	if signature != "" {
		req.Header.Set(sms.SignatureHeader, signature)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatalf("smstest: webhook post: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// newSID returns prefix and 32 random hex digits, the shape of a Twilio SID.
func newSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// e164 reports whether s is '+' and 7 to 15 digits, the first not 0, and
// exactly 11 for the North American plan (+1), as the provider checks.
func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' || (s[1] == '1' && len(s) != 12) {
		return false
	}
	return !strings.ContainsFunc(s[1:], func(r rune) bool { return r < '0' || r > '9' })
}
