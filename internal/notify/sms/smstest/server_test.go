package smstest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "secret"
)

// post sends form to the fake as a raw client would and returns the
// status and decoded answer.
func post(t *testing.T, s *Server, path, user, pass, idem string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("I-Twilio-Idempotency-Token", idem)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, doc
}

func TestFakeChecks(t *testing.T) {
	s := NewServer(t, account, token)
	path := "/2010-04-01/Accounts/" + account + "/Messages.json"
	ok := url.Values{"To": {"+14155550100"}, "From": {"+15005550006"}, "Body": {"hi"}}
	without := func(k string) url.Values {
		f := url.Values{}
		for key, v := range ok {
			if key != k {
				f[key] = v
			}
		}
		return f
	}
	tests := []struct {
		name, path, user, pass string
		form                   url.Values
		status, code           int
	}{
		{"wrong token", path, account, "nope", ok, 401, 20003},
		{"wrong user", path, "AC1", token, ok, 401, 20003},
		{"other account", "/2010-04-01/Accounts/AC1/Messages.json", account, token, ok, 404, 20404},
		{"no To", path, account, token, without("To"), 400, 21604},
		{"bad To", path, account, token, url.Values{"To": {"+1415"}, "From": {"+15005550006"}, "Body": {"x"}}, 400, 21211},
		{"no From", path, account, token, without("From"), 400, 21603},
		{"no Body", path, account, token, without("Body"), 400, 21602},
		{"long Body", path, account, token, url.Values{"To": {"+14155550100"}, "From": {"+15005550006"}, "Body": {strings.Repeat("x", 1601)}}, 400, 21617},
	}
	for _, tt := range tests {
		status, doc := post(t, s, tt.path, tt.user, tt.pass, "k-"+tt.name, tt.form)
		if status != tt.status || doc["code"] != float64(tt.code) {
			t.Errorf("%s: %d %v; want %d code %d", tt.name, status, doc, tt.status, tt.code)
		}
	}
	if len(s.Messages()) != 0 {
		t.Fatalf("recorded %v", s.Messages())
	}

	status, first := post(t, s, path, account, token, "same", ok)
	if status != 201 || first["status"] != "queued" || !strings.HasPrefix(first["sid"].(string), "SM") {
		t.Fatalf("send: %d %v", status, first)
	}
	_, again := post(t, s, path, account, token, "same", ok)
	if again["sid"] != first["sid"] || len(s.Messages()) != 1 {
		t.Errorf("repeated token: sid %v then %v, %d messages", first["sid"], again["sid"], len(s.Messages()))
	}

	s.FailNext(2, 503, 0)
	for i := range 2 {
		if status, _ := post(t, s, path, account, token, "fail", ok); status != 503 {
			t.Errorf("injected failure %d: %d", i, status)
		}
	}
	if status, _ := post(t, s, path, account, token, "fail", ok); status != 201 || len(s.Messages()) != 2 {
		t.Errorf("after failures: %d, %d messages", status, len(s.Messages()))
	}
}
