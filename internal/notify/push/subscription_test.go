package push

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testSubscription returns a valid subscription with fresh keys.
func testSubscription(tb testing.TB, endpoint string) Subscription {
	tb.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return Subscription{Endpoint: endpoint, Keys: SubscriptionKeys{
		P256dh: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
	}}
}

func subJSON(endpoint, p256dh, auth string) []byte {
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": p256dh, "auth": auth}})
	return b
}

func TestParseSubscription(t *testing.T) {
	const endpoint = "https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBhIGRldmljZQ:APA91b"
	s := testSubscription(t, endpoint)
	got, err := ParseSubscription(subJSON(endpoint, s.Keys.P256dh, s.Keys.Auth), false)
	if err != nil {
		t.Fatal(err)
	}
	if got != s {
		t.Fatalf("got %#v", got) // prints the origin only
	}

	// Padded keys parse to the canonical unpadded form.
	p, _ := base64.RawURLEncoding.DecodeString(s.Keys.P256dh)
	a, _ := base64.RawURLEncoding.DecodeString(s.Keys.Auth)
	padded, err := ParseSubscription(subJSON(endpoint, base64.URLEncoding.EncodeToString(p), base64.URLEncoding.EncodeToString(a)), false)
	if err != nil || padded != s {
		t.Fatalf("padded keys: %v, equal %v", err, padded == s)
	}

	// http on loopback only with allowInsecure.
	for _, ep := range []string{"http://127.0.0.1:8080/push/x", "http://localhost/push/x", "http://[::1]:1/p"} {
		if _, err := ParseSubscription(subJSON(ep, s.Keys.P256dh, s.Keys.Auth), true); err != nil {
			t.Errorf("%s with allowInsecure: %v", ep, err)
		}
		if _, err := ParseSubscription(subJSON(ep, s.Keys.P256dh, s.Keys.Auth), false); !errors.Is(err, ErrInvalidSubscription) {
			t.Errorf("%s without allowInsecure: err = %v", ep, err)
		}
	}
}

func TestParseSubscriptionRefuses(t *testing.T) {
	const ep = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABsecretdeviceid"
	s := testSubscription(t, ep)
	p, a := s.Keys.P256dh, s.Keys.Auth
	pb, _ := base64.RawURLEncoding.DecodeString(p)
	offCurve := append([]byte(nil), pb...)
	offCurve[64] ^= 1
	compressed := append([]byte{2 + pb[64]&1}, pb[1:33]...)
	b64 := base64.RawURLEncoding.EncodeToString
	tests := map[string]struct {
		data []byte
		want string
	}{
		"too long":         {[]byte(`{"endpoint":"` + ep + strings.Repeat("a", MaxSubscriptionJSON) + `"}`), "longer than 4096"},
		"not json":         {[]byte("endpoint=" + ep), "not a JSON object"},
		"wrong type":       {[]byte(`{"endpoint":42,"keys":{}}`), "not a JSON object"},
		"array":            {[]byte(`[]`), "not a JSON object"},
		"null":             {[]byte(`null`), "endpoint is missing"},
		"no endpoint":      {subJSON("", p, a), "endpoint is missing"},
		"relative":         {subJSON("/wpush/v2/x", p, a), "absolute URL"},
		"http":             {subJSON("http://push.example/x", p, a), "http on a host other than loopback"},
		"ftp":              {subJSON("ftp://push.example/x", p, a), "not an https URL"},
		"no host":          {subJSON("https:///x", p, a), "no host"},
		"opaque":           {subJSON("https:opaque", p, a), "absolute URL"},
		"user info":        {subJSON("https://user:pw@push.example/x", p, a), "user info"},
		"fragment":         {subJSON(ep+"#frag", p, a), "fragment"},
		"space":            {subJSON(ep+" x", p, a), "printable ASCII"},
		"non-ascii":        {subJSON(ep+"é", p, a), "printable ASCII"},
		"bad escape":       {subJSON(ep+"%zz", p, a), "absolute URL"},
		"no p256dh":        {subJSON(ep, "", a), "keys.p256dh is missing"},
		"p256dh std b64":   {subJSON(ep, base64.StdEncoding.EncodeToString(pb[:63])+"+/", a), "keys.p256dh is not base64url"},
		"p256dh newline":   {subJSON(ep, p[:20]+"\n"+p[20:], a), "keys.p256dh is not base64url"},
		"p256dh bad pad":   {subJSON(ep, p+"===", a), "keys.p256dh is not base64url"},
		"p256dh short":     {subJSON(ep, b64(pb[:64]), a), "uncompressed P-256 point"},
		"p256dh compress":  {subJSON(ep, b64(compressed), a), "uncompressed P-256 point"},
		"p256dh off curve": {subJSON(ep, b64(offCurve), a), "not a point on P-256"},
		"no auth":          {subJSON(ep, p, ""), "keys.auth is missing"},
		"auth not b64":     {subJSON(ep, p, "!!!!"), "keys.auth is not base64url"},
		"auth 15 bytes":    {subJSON(ep, p, b64(make([]byte, 15))), "keys.auth is not 16 bytes"},
		"auth 32 bytes":    {subJSON(ep, p, b64(make([]byte, 32))), "keys.auth is not 16 bytes"},
	}
	for name, tc := range tests {
		_, err := ParseSubscription(tc.data, true)
		if !errors.Is(err, ErrInvalidSubscription) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidSubscription saying %q", name, err, tc.want)
			continue
		}
		for _, secret := range []string{"secretdeviceid", "push.example", p[:20], a[:12], "user:pw"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q echoes the input", name, err)
			}
		}
	}
}

func TestSubscriptionFormatHidesEndpoint(t *testing.T) {
	s := testSubscription(t, "https://web.push.apple.com/QGuQyavXutnMH")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, s)
		if strings.Contains(got, "QGuQyavXutnMH") || strings.Contains(got, s.Keys.Auth) || !strings.Contains(got, "https://web.push.apple.com") {
			t.Errorf("%s: %q", verb, got)
		}
	}
}

func FuzzParseSubscription(f *testing.F) {
	s := testSubscription(f, "https://fcm.googleapis.com/fcm/send/abc:def")
	p, _ := base64.RawURLEncoding.DecodeString(s.Keys.P256dh)
	f.Add(subJSON(s.Endpoint, s.Keys.P256dh, s.Keys.Auth), false)
	f.Add(subJSON("http://127.0.0.1:9/push/x?q=1", base64.URLEncoding.EncodeToString(p), s.Keys.Auth+"=="), true)
	f.Add([]byte(`{"endpoint":"https://a/\u00e9","keys":{"p256dh":"`+s.Keys.P256dh+`","auth":"`+s.Keys.Auth+`"},"Endpoint":"https://b"}`), false)
	f.Add([]byte(`{"endpoint":"https://[::1]:443/x","keys":null}`), true)
	f.Add([]byte(`null`), false)
	f.Add([]byte(`{"endpoint":"https://x/y","keys":{"p256dh":"BAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}`), false)
	f.Fuzz(func(t *testing.T, data []byte, allowInsecure bool) {
		got, err := ParseSubscription(data, allowInsecure)
		if err != nil {
			if !errors.Is(err, ErrInvalidSubscription) {
				t.Fatalf("error %v does not wrap ErrInvalidSubscription", err)
			}
			return
		}
		if err := got.check(allowInsecure); err != nil {
			t.Fatalf("accepted subscription fails its own check: %v", err)
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSubscription(b, allowInsecure)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if again != got {
			t.Fatalf("re-parse differs: %q vs %q", again.Endpoint, got.Endpoint)
		}
	})
}
