package sms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"sotto"
	"sotto/internal/notify/sms"
	"sotto/internal/notify/sms/smstest"
)

// hookRecorder is a webhook handler as the server would write one: verify,
// parse, answer 204; 403 on a bad signature, 400 on a bad form.
type hookRecorder struct {
	publicURL string // set before the server starts
	mu        sync.Mutex
	statuses  []sms.StatusUpdate
	inbound   []sms.Inbound
	refused   int
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, err := sms.ReadWebhook(r, token, h.publicURL)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if errors.Is(err, sms.ErrBadSignature) && sotto.ErrorKind(err) == sotto.KindForbidden {
			h.refused++ // the server audits here
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/sms/status":
		u, err := sms.ParseStatusCallback(form)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.statuses = append(h.statuses, u)
	case "/sms/inbound":
		in, err := sms.ParseInbound(form)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.inbound = append(h.inbound, in)
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestStatusCallbackRoundTrip(t *testing.T) {
	hook := &hookRecorder{}
	hs := httptest.NewUnstartedServer(hook)
	hook.publicURL = "http://" + hs.Listener.Addr().String()
	hs.Start()
	defer hs.Close()
	callback := hs.URL + "/sms/status?org=lakeside"

	srv := smstest.NewServer(t, account, token)
	c := newClient(t, srv, func(cfg *sms.Config) { cfg.StatusCallback = callback })
	res, err := c.Send(context.Background(), canaryTo, "You have a new secure message.", "notif-9")
	if err != nil {
		t.Fatal(err)
	}
	if code := srv.SendStatus("", res.SID, sms.StatusSent, 0); code != http.StatusNoContent {
		t.Fatalf("sent callback answered %d", code)
	}
	if code := srv.SendStatus(callback, res.SID, sms.StatusUndelivered, 30003); code != http.StatusNoContent {
		t.Fatalf("undelivered callback answered %d", code)
	}
	want := []sms.StatusUpdate{
		{SID: res.SID, Status: sms.StatusSent, AccountSID: account},
		{SID: res.SID, Status: sms.StatusUndelivered, ErrorCode: 30003, AccountSID: account},
	}
	if len(hook.statuses) != 2 || hook.statuses[0] != want[0] || hook.statuses[1] != want[1] {
		t.Fatalf("statuses = %+v; want %+v", hook.statuses, want)
	}
	if hook.statuses[0].Final() || !hook.statuses[1].Final() {
		t.Error("Final is wrong")
	}

	// Unsigned, wrongly signed, signed for another URL or with another
	// token: 403, nothing recorded.
	form := url.Values{"MessageSid": {res.SID}, "MessageStatus": {"delivered"}}
	for name, sig := range map[string]string{
		"missing":     "",
		"garbage":     "bm90IGEgc2lnbmF0dXJl",
		"other URL":   sms.Sign(token, hs.URL+"/sms/status", form),
		"other token": sms.Sign("other-token", callback, form),
	} {
		if code := srv.Post(callback, form, sig); code != http.StatusForbidden {
			t.Errorf("%s signature: answered %d; want 403", name, code)
		}
	}
	if hook.refused != 4 || len(hook.statuses) != 2 {
		t.Errorf("refused %d, recorded %d", hook.refused, len(hook.statuses))
	}
}

func TestInboundRoundTrip(t *testing.T) {
	hook := &hookRecorder{}
	hs := httptest.NewUnstartedServer(hook)
	hook.publicURL = "http://" + hs.Listener.Addr().String() + "/"
	hs.Start()
	defer hs.Close()
	srv := smstest.NewServer(t, account, token)
	if code := srv.SendInbound(hs.URL+"/sms/inbound", canaryTo, from, "STOP"); code != http.StatusNoContent {
		t.Fatalf("inbound answered %d", code)
	}
	if len(hook.inbound) != 1 {
		t.Fatalf("inbound = %+v", hook.inbound)
	}
	in := hook.inbound[0]
	if in.From != canaryTo || in.To != from || in.Body != "STOP" || in.AccountSID != account || !strings.HasPrefix(in.SID, "SM") {
		t.Errorf("inbound = %+v", in)
	}
}

func TestReadWebhookRefuses(t *testing.T) {
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}}
	body := form.Encode()
	sig := sms.Sign(token, "https://sotto.example.org/sms/status", form)
	req := func(method, ctype, body string) *http.Request {
		r := httptest.NewRequest(method, "/sms/status", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		r.Header.Set(sms.SignatureHeader, sig)
		return r
	}
	if _, err := sms.ReadWebhook(req("POST", "application/x-www-form-urlencoded; charset=utf-8", body), token, "https://sotto.example.org"); err != nil {
		t.Fatalf("valid webhook refused: %v", err)
	}
	for name, r := range map[string]*http.Request{
		"GET":       req("GET", "application/x-www-form-urlencoded", body),
		"JSON":      req("POST", "application/json", `{"MessageSid":"SM1"}`),
		"bad form":  req("POST", "application/x-www-form-urlencoded", "a=%zz"),
		"too large": req("POST", "application/x-www-form-urlencoded", body+"&Body="+strings.Repeat("x", 70<<10)),
	} {
		if _, err := sms.ReadWebhook(r, token, "https://sotto.example.org"); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("%s: %v; want KindInvalid", name, err)
		}
	}
	// The Host header is not trusted: only publicURL is signed.
	r := req("POST", "application/x-www-form-urlencoded", body)
	r.Host = "evil.example"
	if _, err := sms.ReadWebhook(r, token, "https://evil.example"); !errors.Is(err, sms.ErrBadSignature) || sotto.ErrorCode(err) != "bad_signature" {
		t.Errorf("other public URL: %v; want bad signature", err)
	}
}

func TestParseStatusCallback(t *testing.T) {
	sid := "SM0123456789abcdef0123456789abcdef"
	u, err := sms.ParseStatusCallback(url.Values{"SmsSid": {sid}, "SmsStatus": {"delivered"}, "To": {canaryTo}})
	if err != nil || u.SID != sid || u.Status != sms.StatusDelivered || u.ErrorCode != 0 {
		t.Fatalf("legacy fields: %+v, %v", u, err)
	}
	for _, st := range []string{"queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "accepted", "scheduled", "canceled"} {
		if _, err := sms.ParseStatusCallback(url.Values{"MessageSid": {sid}, "MessageStatus": {st}}); err != nil {
			t.Errorf("status %s: %v", st, err)
		}
	}
	for name, form := range map[string]url.Values{
		"no sid":         {"MessageStatus": {"sent"}},
		"bad sid":        {"MessageSid": {"SM/../x"}, "MessageStatus": {"sent"}},
		"no status":      {"MessageSid": {sid}},
		"unknown status": {"MessageSid": {sid}, "MessageStatus": {"Delivered"}},
		"bad code":       {"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {"-1"}},
		"twice":          {"MessageSid": {sid, sid}, "MessageStatus": {"sent"}},
		"disagree":       {"MessageSid": {sid}, "SmsSid": {"SM1"}, "MessageStatus": {"sent"}},
		"bad account":    {"MessageSid": {sid}, "MessageStatus": {"sent"}, "AccountSid": {"AC 1"}},
	} {
		if _, err := sms.ParseStatusCallback(form); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("%s: %v; want KindInvalid", name, err)
		}
	}
}

func TestParseInbound(t *testing.T) {
	base := url.Values{"MessageSid": {"SM1"}, "From": {canaryTo}, "To": {from}, "Body": {"hi \xff"}, "NumMedia": {"2"}}
	in, err := sms.ParseInbound(base)
	if err != nil || in.Body != "hi \uFFFD" || in.NumMedia != 2 {
		t.Fatalf("ParseInbound = %+v, %v", in, err)
	}
	for name, mod := range map[string]func(url.Values){
		"no sid":     func(f url.Values) { f.Del("MessageSid") },
		"no from":    func(f url.Values) { f.Del("From") },
		"bad to":     func(f url.Values) { f.Set("To", "+1\n2") },
		"long body":  func(f url.Values) { f.Set("Body", strings.Repeat("é", 4097)) },
		"two bodies": func(f url.Values) { f["Body"] = []string{"a", "b"} },
		"bad media":  func(f url.Values) { f.Set("NumMedia", "100") },
	} {
		form := url.Values{}
		for k, v := range base {
			form[k] = append([]string(nil), v...)
		}
		mod(form)
		_, err := sms.ParseInbound(form)
		if sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("%s: %v; want KindInvalid", name, err)
		} else if strings.Contains(err.Error(), canaryTo) || strings.Contains(err.Error(), "éé") {
			t.Errorf("%s: error %q holds a value", name, err)
		}
	}
}

func FuzzParseStatusCallback(f *testing.F) {
	f.Add("MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered&AccountSid=AC1")
	f.Add("SmsSid=SM1&SmsStatus=failed&ErrorCode=30003")
	f.Add("MessageSid=SM1&SmsSid=SM2&MessageStatus=sent")
	f.Add("MessageSid=SM1&MessageStatus=sent&ErrorCode=99999999999999999999")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		u, err := sms.ParseStatusCallback(form)
		if err != nil {
			if u != (sms.StatusUpdate{}) {
				t.Fatalf("partial update %+v with error", u)
			}
			return
		}
		if u.SID == "" || len(u.SID) > 64 || u.ErrorCode < 0 || u.ErrorCode > 9999999 {
			t.Fatalf("accepted %+v", u)
		}
		if again, err := sms.ParseStatusCallback(url.Values{"MessageSid": {u.SID}, "MessageStatus": {u.Status}}); err != nil || again.SID != u.SID {
			t.Fatalf("canonical form refused: %v", err)
		}
	})
}

func FuzzParseInbound(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B14155550199&To=%2B15005550006&Body=STOP&NumMedia=0")
	f.Add("SmsSid=SM1&From=whatsapp%3A%2B1&To=x&Body=%FF%FE")
	f.Add("MessageSid=SM1&From=a&To=b&NumMedia=-0")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := sms.ParseInbound(form)
		if err != nil {
			if in != (sms.Inbound{}) {
				t.Fatalf("partial message %+v with error", in)
			}
			if sotto.ErrorKind(err) != sotto.KindInvalid {
				t.Fatalf("error %v is not KindInvalid", err)
			}
			return
		}
		if !utf8.ValidString(in.Body) || !utf8.ValidString(in.From) || in.From == "" || in.To == "" || in.NumMedia < 0 || in.NumMedia > 99 {
			t.Fatalf("accepted %+v", in)
		}
	})
}
