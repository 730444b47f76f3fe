package pushtest

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto/internal/notify/push"
)

func b64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDecryptRFC8291 opens the example message of RFC 8291 Appendix A.
func TestDecryptRFC8291(t *testing.T) {
	ua, err := ecdh.P256().NewPrivateKey(b64(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes()); got != "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4" {
		t.Fatalf("ua_public %s", got)
	}
	auth := b64(t, "BTBZMqHH6r4Tts7J_aSIgg")
	body := b64(t, "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
	plain, rs, err := decrypt(body, ua, auth)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != "When I grow up, I want to be a watermelon" || rs != 4096 {
		t.Fatalf("decrypt = %q, rs %d", plain, rs)
	}

	otherAuth := bytes.Clone(auth)
	otherAuth[0] ^= 1
	tampered := bytes.Clone(body)
	tampered[len(tampered)-1] ^= 1
	badKeyID := bytes.Clone(body)
	badKeyID[20] = 64
	smallRS := bytes.Clone(body)
	copy(smallRS[16:20], []byte{0, 0, 0, 17})
	oneRecordTooMany := bytes.Clone(body)
	copy(oneRecordTooMany[16:20], []byte{0, 0, 0, 40}) // the record is 58 bytes
	other, _ := ecdh.P256().GenerateKey(rand.Reader)
	for name, tc := range map[string]struct {
		body []byte
		ua   *ecdh.PrivateKey
		auth []byte
	}{
		"wrong auth":      {body, ua, otherAuth},
		"wrong key":       {body, other, auth},
		"tampered":        {tampered, ua, auth},
		"truncated":       {body[:20], ua, auth},
		"header only":     {body[:86], ua, auth},
		"keyid length":    {badKeyID, ua, auth},
		"record size 17":  {smallRS, ua, auth},
		"two records":     {oneRecordTooMany, ua, auth},
		"keyid not point": {append(append(bytes.Clone(body[:21]), make([]byte, 65)...), body[86:]...), ua, auth},
	} {
		if _, _, err := decrypt(tc.body, tc.ua, tc.auth); err == nil {
			t.Errorf("%s: decrypted", name)
		}
	}
}

// rewrite is a transport that lets a test alter what a push.Sender sends.
type rewrite struct {
	base http.RoundTripper
	f    func(r *http.Request, body []byte) []byte
}

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body = rw.f(r, body)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return rw.base.RoundTrip(r)
}

// signer makes VAPID headers independently of push and webpush-go.
type signer struct {
	key *ecdsa.PrivateKey
	k   string
}

func newSigner(tb testing.TB) signer {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return signer{key, base64.RawURLEncoding.EncodeToString(pub)}
}

// token returns a JWS signed by s over header and claims.
func (s signer) token(tb testing.TB, header, claims map[string]any) string {
	tb.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(raw)
}

// TestServerVerifies sends messages that are wrong in one way each and
// checks that the fake refuses them as a push service would, so that it
// cannot pass a sender that a real service would refuse.
func TestServerVerifies(t *testing.T) {
	srv := NewServer(t)
	sub, dev := srv.Subscribe()
	good, other := newSigner(t), newSigner(t)
	es256 := map[string]any{"typ": "JWT", "alg": "ES256"}
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"aud": srv.URL, "exp": now.Add(12 * time.Hour).Unix(), "sub": "mailto:ops@lakeside.example"}
		if change != nil {
			change(c)
		}
		return c
	}
	auth := func(s signer, header, c map[string]any, k string) func(*http.Request, []byte) []byte {
		return func(r *http.Request, body []byte) []byte {
			r.Header.Set("Authorization", "vapid t="+s.token(t, header, c)+", k="+k)
			return body
		}
	}
	header := func(name, value string) func(*http.Request, []byte) []byte {
		return func(r *http.Request, body []byte) []byte {
			if value == "" {
				r.Header.Del(name)
			} else {
				r.Header.Set(name, value)
			}
			return body
		}
	}
	wrongAuth := sub
	a := b64(t, sub.Keys.Auth)
	a[0] ^= 1
	wrongAuth.Keys.Auth = base64.RawURLEncoding.EncodeToString(a)

	tests := []struct {
		name   string
		sub    push.Subscription
		f      func(*http.Request, []byte) []byte
		status int
		reason string
	}{
		{"hand-made header (control)", sub, auth(good, es256, claims(nil), good.k), 201, ""},
		{"sender's own header (control)", sub, func(_ *http.Request, b []byte) []byte { return b }, 201, ""},
		{"signed by another key", sub, auth(other, es256, claims(nil), good.k), 401, "signature does not verify"},
		{"k of another key", sub, func(r *http.Request, b []byte) []byte {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, "k=")+2]+other.k)
			return b
		}, 401, "signature does not verify"},
		{"no Authorization", sub, header("Authorization", ""), 401, "not vapid"},
		{"Bearer", sub, header("Authorization", "Bearer "+good.token(t, es256, claims(nil))), 401, "not vapid"},
		{"no k", sub, header("Authorization", "vapid t="+good.token(t, es256, claims(nil))), 401, "missing"},
		{"k not a point", sub, auth(good, es256, claims(nil), base64.RawURLEncoding.EncodeToString(make([]byte, 65))), 401, "not an uncompressed P-256 point"},
		{"alg ES384", sub, auth(good, map[string]any{"alg": "ES384"}, claims(nil), good.k), 401, "not ES256"},
		{"alg none", sub, header("Authorization", "vapid t=eyJhbGciOiJub25lIn0."+base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"`+srv.URL+`"}`))+"., k="+good.k), 401, "not ES256"},
		{"aud of another origin", sub, auth(good, es256, claims(func(c map[string]any) { c["aud"] = "https://push.example" }), good.k), 401, "aud"},
		{"aud with path", sub, auth(good, es256, claims(func(c map[string]any) { c["aud"] = sub.Endpoint }), good.k), 401, "aud"},
		{"expired", sub, auth(good, es256, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), good.k), 401, "expired"},
		{"exp beyond 24h", sub, auth(good, es256, claims(func(c map[string]any) { c["exp"] = now.Add(25 * time.Hour).Unix() }), good.k), 401, "24 hours"},
		{"no exp", sub, auth(good, es256, claims(func(c map[string]any) { delete(c, "exp") }), good.k), 401, "exp missing"},
		{"no sub", sub, auth(good, es256, claims(func(c map[string]any) { delete(c, "sub") }), good.k), 401, "sub"},
		{"bare e-mail sub", sub, auth(good, es256, claims(func(c map[string]any) { c["sub"] = "ops@lakeside.example" }), good.k), 401, "sub"},
		{"no TTL", sub, header("TTL", ""), 400, "TTL"},
		{"TTL not a number", sub, header("TTL", "-1"), 400, "TTL"},
		{"bad urgency", sub, header("Urgency", "urgent"), 400, "urgency"},
		{"bad topic", sub, header("Topic", "a topic"), 400, "topic"},
		{"aesgcm", sub, header("Content-Encoding", "aesgcm"), 415, "aes128gcm"},
		{"no Content-Encoding", sub, header("Content-Encoding", ""), 415, "aes128gcm"},
		{"tampered body", sub, func(_ *http.Request, b []byte) []byte { b[len(b)-1] ^= 1; return b }, 400, "authentication failed"},
		{"truncated body", sub, func(_ *http.Request, b []byte) []byte { return b[:200] }, 400, "authentication failed"},
		{"body over 4096", sub, func(_ *http.Request, b []byte) []byte { return append(b, make([]byte, 4097-len(b))...) }, 413, "4096"},
		{"wrong auth secret", wrongAuth, func(_ *http.Request, b []byte) []byte { return b }, 400, "authentication failed"},
	}
	keys, err := push.GenerateVAPID()
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, tc := range tests {
		client := srv.Client()
		client.Transport = rewrite{client.Transport, tc.f}
		sender, err := push.NewSender(keys, "mailto:ops@lakeside.example", client)
		if err != nil {
			t.Fatal(err)
		}
		before := len(srv.Rejections())
		res, err := sender.Send(t.Context(), tc.sub, []byte("You have a new secure message."), push.Options{})
		if res.Status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, res.Status, err, tc.status)
			continue
		}
		rejections := srv.Rejections()
		if tc.status == 201 {
			accepted++
			if len(rejections) != before {
				t.Errorf("%s: rejected: %v", tc.name, rejections[before:])
			}
			continue
		}
		if !push.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", tc.name, err)
		}
		if len(rejections) != before+1 || !strings.Contains(rejections[before], tc.reason) {
			t.Errorf("%s: rejections %q, want one saying %q", tc.name, rejections[before:], tc.reason)
		}
	}
	if got := len(dev.Received()); got != accepted {
		t.Errorf("device received %d messages, want %d (the controls only)", got, accepted)
	}
}

func TestServerFailures(t *testing.T) {
	srv := NewServer(t)
	keys, _ := push.GenerateVAPID()
	sender, err := push.NewSender(keys, "mailto:ops@lakeside.example", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	sub, dev := srv.Subscribe()
	dev.FailWithRetryAfter(503, 2, "Wed, 21 Oct 2015 07:28:00 GMT")
	for range 2 {
		if res, err := sender.Send(t.Context(), sub, []byte("x"), push.Options{}); res.Status != 503 || !push.IsTemporary(err) {
			t.Fatalf("status %d, err %v", res.Status, err)
		}
	}
	if _, err := sender.Send(t.Context(), sub, []byte("x"), push.Options{}); err != nil {
		t.Fatalf("third send: %v", err)
	}
	if srv.Requests() != 3 || len(dev.Received()) != 1 {
		t.Fatalf("requests %d, received %d", srv.Requests(), len(dev.Received()))
	}

	// Close ends a request held by Delay; the sender sees a temporary error.
	dev.Delay(time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := sender.Send(t.Context(), sub, []byte("x"), push.Options{})
		done <- err
	}()
	for srv.Requests() < 4 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	if err := <-done; !push.IsTemporary(err) {
		t.Fatalf("delayed send after Close: %v", err)
	}
	srv.Close() // idempotent
	if _, err := sender.Send(t.Context(), sub, []byte("x"), push.Options{}); !push.IsTemporary(err) {
		t.Fatalf("send to a closed server: %v", err)
	}
}

func TestServerPayloadless(t *testing.T) {
	srv := NewServer(t)
	sub, dev := srv.Subscribe()
	s := newSigner(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, sub.Endpoint, nil)
	req.Header.Set("TTL", "60")
	req.Header.Set("Authorization", "vapid t="+s.token(t, map[string]any{"alg": "ES256"},
		map[string]any{"aud": srv.URL, "exp": time.Now().Add(time.Hour).Unix(), "sub": "https://lakeside.example"})+", k="+s.k)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Location") == "" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if p := dev.Pushes(); len(p) != 1 || p[0].Payload != nil || p[0].TTL != 60 {
		t.Fatalf("pushes %+v", p)
	}

	get, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, sub.Endpoint, nil)
	resp, err = srv.Client().Do(get)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}
