package push_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/internal/notify/push"
	"sotto/internal/notify/push/pushtest"
)

const subject = "mailto:ops@lakeside.example"

func newSender(t *testing.T, srv *pushtest.Server) (*push.Sender, push.Keys) {
	t.Helper()
	keys, err := push.GenerateVAPID()
	if err != nil {
		t.Fatal(err)
	}
	s, err := push.NewSender(keys, subject, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return s, keys
}

// checkSafe fails the test if err shows the endpoint, a key or the payload.
func checkSafe(t *testing.T, err error, sub push.Subscription, payload []byte) {
	t.Helper()
	msg := err.Error()
	id := sub.Endpoint[strings.LastIndexByte(sub.Endpoint, '/')+1:]
	for _, secret := range []string{sub.Endpoint, id, sub.Keys.P256dh, sub.Keys.Auth} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q shows the subscription", msg)
		}
	}
	if len(payload) > 0 && strings.Contains(msg, string(payload)) {
		t.Errorf("error %q shows the payload", msg)
	}
}

func TestSendRoundTrip(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, keys := newSender(t, srv)
	sub, dev := srv.Subscribe()
	payload := []byte(`{"title":"Lakeside Clinic","body":"You have a new secure message."}`)

	res, err := sender.Send(t.Context(), sub, payload, push.Options{TTL: 90 * time.Minute, Urgency: push.UrgencyHigh, Topic: "new-message"})
	if err != nil {
		t.Fatal(err)
	}
	got := dev.Pushes()
	if len(got) != 1 {
		t.Fatalf("device received %d messages", len(got))
	}
	p := got[0]
	if !bytes.Equal(p.Payload, payload) {
		t.Errorf("decrypted payload %q", p.Payload)
	}
	if p.TTL != 5400 || p.Urgency != "high" || p.Topic != "new-message" {
		t.Errorf("headers: TTL %d, Urgency %q, Topic %q", p.TTL, p.Urgency, p.Topic)
	}
	if p.Subject != subject || p.VAPIDKey != keys.Public || sender.PublicKey() != keys.Public {
		t.Errorf("VAPID sub %q, k %q", p.Subject, p.VAPIDKey)
	}
	if p.RecordSize != 4096 {
		t.Errorf("record size %d", p.RecordSize)
	}
	if res.Status != http.StatusCreated || res.MessageID == "" || res.MessageID != p.MessageID {
		t.Errorf("result %+v, want 201 and Location %q", res, p.MessageID)
	}

	// Defaults: TTL 24 h, no urgency or topic; an https subject.
	https, err := push.NewSender(keys, "https://lakeside.example/contact", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := https.Send(t.Context(), sub, nil, push.Options{}); err != nil {
		t.Fatal(err)
	}
	p = dev.Pushes()[1]
	if len(p.Payload) != 0 || p.TTL != 86400 || p.Urgency != "" || p.Topic != "" || p.Subject != "https://lakeside.example/contact" {
		t.Errorf("defaults: %+v", p)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("%d requests", n)
	}
}

func TestSendMaxPayload(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()

	largest := bytes.Repeat([]byte("x"), push.MaxPayload)
	if _, err := sender.Send(t.Context(), sub, largest, push.Options{}); err != nil {
		t.Fatalf("%d bytes: %v", push.MaxPayload, err)
	}
	if got := dev.Received(); len(got) != 1 || !bytes.Equal(got[0], largest) {
		t.Fatal("largest payload not received intact")
	}

	tooLarge := bytes.Repeat([]byte("y"), push.MaxPayload+1)
	_, err := sender.Send(t.Context(), sub, tooLarge, push.Options{})
	if !errors.Is(err, push.ErrTooLarge) || !push.IsPermanent(err) || push.IsTemporary(err) {
		t.Fatalf("err = %v, want permanent ErrTooLarge", err)
	}
	checkSafe(t, err, sub, tooLarge)
	if srv.Requests() != 1 {
		t.Fatal("a refused payload was sent")
	}
}

func TestSendAnswers(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	payload := []byte("You have a new secure message from Lakeside Clinic.")
	tests := []struct {
		status                     int
		temporary, permanent, gone bool
	}{
		{410, false, true, true},
		{404, false, true, true},
		{503, true, false, false},
		{500, true, false, false},
		{429, true, false, false},
		{413, false, true, false},
		{400, false, true, false},
		{403, false, true, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			sub, dev := srv.Subscribe()
			dev.FailWith(tc.status, 1)
			res, err := sender.Send(t.Context(), sub, payload, push.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if push.IsTemporary(err) != tc.temporary || push.IsPermanent(err) != tc.permanent || errors.Is(err, push.ErrGone) != tc.gone {
				t.Errorf("err %v: temporary %v, permanent %v, gone %v", err, push.IsTemporary(err), push.IsPermanent(err), errors.Is(err, push.ErrGone))
			}
			var pe *push.Error
			if !errors.As(err, &pe) || pe.Status != tc.status || res.Status != tc.status {
				t.Errorf("status: error %+v, result %+v", pe, res)
			}
			if want := fmt.Sprintf("push: service answered %d", tc.status); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %q, want prefix %q", err, want)
			}
			checkSafe(t, err, sub, payload)
			if len(dev.Received()) != 0 {
				t.Error("a failed message was stored")
			}
			// The failure was for one request only.
			if _, err := sender.Send(t.Context(), sub, payload, push.Options{}); err != nil {
				t.Errorf("second send: %v", err)
			}
		})
	}
}

func TestSendGone(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()
	dev.Unsubscribe()
	_, err := sender.Send(t.Context(), sub, []byte("hi"), push.Options{})
	if !errors.Is(err, push.ErrGone) {
		t.Fatalf("err = %v, want ErrGone", err)
	}
	unknown := sub
	unknown.Endpoint = srv.URL + "/push/never-issued"
	_, err = sender.Send(t.Context(), unknown, []byte("hi"), push.Options{})
	if !errors.Is(err, push.ErrGone) {
		t.Fatalf("unknown endpoint: err = %v, want ErrGone", err)
	}
	checkSafe(t, err, unknown, nil)
}

func TestSendRetryAfter(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()
	dev.FailWithRetryAfter(http.StatusTooManyRequests, 1, "120")
	res, err := sender.Send(t.Context(), sub, []byte("hi"), push.Options{})
	if !push.IsTemporary(err) || !errors.Is(err, push.ErrTemporary) {
		t.Fatalf("err = %v, want temporary", err)
	}
	if push.RetryAfter(err) != 2*time.Minute || res.RetryAfter != 2*time.Minute || res.Status != 429 {
		t.Errorf("RetryAfter(err) = %v, result %+v", push.RetryAfter(err), res)
	}
	if got := err.Error(); got != "push: service answered 429 (temporary, retry after 2m0s)" {
		t.Errorf("err = %q", got)
	}
}

func TestSendTimeout(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()
	dev.Delay(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := sender.Send(ctx, sub, []byte("hi"), push.Options{})
	if !push.IsTemporary(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want temporary and DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %q", err)
	}
	checkSafe(t, err, sub, []byte("hi"))
}

func TestSendClientTimeout(t *testing.T) {
	srv := pushtest.NewServer(t)
	keys, _ := push.GenerateVAPID()
	client := srv.Client()
	client.Timeout = 50 * time.Millisecond
	sender, err := push.NewSender(keys, subject, client)
	if err != nil {
		t.Fatal(err)
	}
	sub, dev := srv.Subscribe()
	dev.Delay(time.Hour)
	_, err = sender.Send(t.Context(), sub, []byte("hi"), push.Options{})
	if !push.IsTemporary(err) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a temporary timeout", err)
	}
	checkSafe(t, err, sub, nil)
}

func TestSendConnectionRefused(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, _ := srv.Subscribe()
	if _, err := sender.Send(t.Context(), sub, []byte("warm"), push.Options{}); err != nil {
		t.Fatal(err) // leaves a kept-alive connection for Close to end
	}
	srv.Close()
	_, err := sender.Send(t.Context(), sub, []byte("hi"), push.Options{})
	if !push.IsTemporary(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want temporary ECONNREFUSED", err)
	}
	checkSafe(t, err, sub, nil)
}

func TestSendConnectionReset(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()
	dev.Reset(1)
	_, err := sender.Send(t.Context(), sub, []byte("hi"), push.Options{})
	if !push.IsTemporary(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
	checkSafe(t, err, sub, nil)
	if _, err := sender.Send(t.Context(), sub, []byte("again"), push.Options{}); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}

func TestSendRestrictedSubscription(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, keys := newSender(t, srv)
	other, _ := push.GenerateVAPID()
	mine, dev := srv.SubscribeRestricted(keys.Public)
	theirs, _ := srv.SubscribeRestricted(other.Public)
	if _, err := sender.Send(t.Context(), mine, []byte("hi"), push.Options{}); err != nil || len(dev.Received()) != 1 {
		t.Fatalf("own subscription: %v", err)
	}
	_, err := sender.Send(t.Context(), theirs, []byte("hi"), push.Options{})
	var pe *push.Error
	if !push.IsPermanent(err) || !errors.As(err, &pe) || pe.Status != http.StatusForbidden {
		t.Fatalf("another server's subscription: err = %v, want permanent 403", err)
	}
}

func TestSendRefusesBadArguments(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	sub, _ := srv.Subscribe()
	badKeys := sub
	badKeys.Keys.Auth = "short"
	plainHTTP := sub
	plainHTTP.Endpoint = "http://push.example/push/abc"
	for name, tc := range map[string]struct {
		sub  push.Subscription
		opts push.Options
	}{
		"urgency":      {sub, push.Options{Urgency: "urgent"}},
		"topic long":   {sub, push.Options{Topic: strings.Repeat("a", 33)}},
		"topic chars":  {sub, push.Options{Topic: "new message"}},
		"negative TTL": {sub, push.Options{TTL: -time.Second}},
		"auth":         {badKeys, push.Options{}},
		"http":         {plainHTTP, push.Options{}},
	} {
		_, err := sender.Send(t.Context(), tc.sub, []byte("hi"), tc.opts)
		if !push.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
			continue
		}
		checkSafe(t, err, tc.sub, nil)
	}
	if _, err := sender.Send(t.Context(), badKeys, nil, push.Options{}); !errors.Is(err, push.ErrInvalidSubscription) {
		t.Errorf("bad keys: err = %v, want ErrInvalidSubscription", err)
	}
	if srv.Requests() != 0 {
		t.Errorf("%d refused messages were sent", srv.Requests())
	}
}

func TestNewSenderRefuses(t *testing.T) {
	keys, _ := push.GenerateVAPID()
	other, _ := push.GenerateVAPID()
	for _, subj := range []string{"", "ops@lakeside.example", "mailto:", "mailto:ops", "mailto:ops@", "mailto:a b@c",
		"http://lakeside.example", "https://", "https:opaque", "mailto:https:@x"} {
		if _, err := push.NewSender(keys, subj, nil); err == nil {
			t.Errorf("subject %q accepted", subj)
		}
	}
	if _, err := push.NewSender(push.Keys{}, subject, nil); err == nil {
		t.Error("zero Keys accepted")
	}
	mixed := push.Keys{Public: other.Public, Private: keys.Private}
	if _, err := push.NewSender(mixed, subject, nil); err == nil {
		t.Error("mismatched Keys accepted")
	}
}

func TestSendInsecureServer(t *testing.T) {
	srv := pushtest.NewInsecureServer(t)
	sender, _ := newSender(t, srv)
	sub, dev := srv.Subscribe()
	data := fmt.Appendf(nil, `{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}`, sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth)
	if _, err := push.ParseSubscription(data, false); err == nil {
		t.Fatal("http endpoint accepted without allowInsecure")
	}
	parsed, err := push.ParseSubscription(data, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(t.Context(), parsed, []byte("hi"), push.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := dev.Received(); len(got) != 1 || string(got[0]) != "hi" {
		t.Fatalf("received %q", got)
	}
}

func TestSendConcurrent(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender, _ := newSender(t, srv)
	const devices, each = 8, 5
	var wg sync.WaitGroup
	devs := make([]*pushtest.Device, devices)
	for i := range devices {
		sub, dev := srv.Subscribe()
		devs[i] = dev
		wg.Go(func() {
			for j := range each {
				if _, err := sender.Send(t.Context(), sub, fmt.Appendf(nil, "%d-%d", i, j), push.Options{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i, dev := range devs {
		got := dev.Received()
		if len(got) != each {
			t.Fatalf("device %d received %d", i, len(got))
		}
		for j, p := range got {
			if want := fmt.Sprintf("%d-%d", i, j); string(p) != want {
				t.Errorf("device %d message %d = %q, want %q", i, j, p, want)
			}
		}
	}
}
