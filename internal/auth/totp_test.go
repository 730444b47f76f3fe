package auth

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 key of RFC 4226 Appendix D and RFC 6238 Appendix B.
var rfcSecret = []byte("12345678901234567890")

func TestHOTPRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := hotp(rfcSecret, uint64(counter), 6); got != w {
			t.Errorf("hotp(counter %d) = %s; want %s", counter, got, w)
		}
	}
}

func TestTOTPRFC6238(t *testing.T) {
	tests := []struct {
		unix  int64
		step  int64
		code8 string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.unix), func(t *testing.T) {
			at := time.Unix(tt.unix, 0).UTC()
			if got := totpStep(at); got != tt.step {
				t.Fatalf("step = %#x; want %#x", got, tt.step)
			}
			if got := hotp(rfcSecret, uint64(tt.step), 8); got != tt.code8 {
				t.Fatalf("8-digit code = %s; want %s", got, tt.code8)
			}
			want6 := tt.code8[2:]
			if got := TOTPCode(rfcSecret, at); got != want6 {
				t.Fatalf("TOTPCode = %s; want %s", got, want6)
			}
			if step, ok := VerifyTOTP(rfcSecret, want6, at, 0); !ok || step != tt.step {
				t.Fatalf("VerifyTOTP = %d, %v; want %d, true", step, ok, tt.step)
			}
		})
	}
}

func TestTOTPStepFloor(t *testing.T) {
	tests := []struct {
		unix, step int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {-1, -1}, {-30, -1}, {-31, -2},
	}
	for _, tt := range tests {
		if got := totpStep(time.Unix(tt.unix, 0)); got != tt.step {
			t.Errorf("totpStep(%d) = %d; want %d", tt.unix, got, tt.step)
		}
	}
	// Sub-second parts do not matter.
	if totpStep(time.Unix(59, 999_999_999)) != 1 {
		t.Error("totpStep(59.999s) != 1")
	}
}

func TestVerifyTOTP(t *testing.T) {
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := totpStep(now)
	codeAt := func(step int64) string { return hotp(rfcSecret, uint64(step), 6) }
	tests := []struct {
		name     string
		secret   []byte
		code     string
		lastUsed int64
		wantStep int64
		wantOK   bool
	}{
		{"current", rfcSecret, codeAt(cur), 0, cur, true},
		{"previous step", rfcSecret, codeAt(cur - 1), 0, cur - 1, true},
		{"next step", rfcSecret, codeAt(cur + 1), 0, cur + 1, true},
		{"two behind", rfcSecret, codeAt(cur - 2), 0, 0, false},
		{"two ahead", rfcSecret, codeAt(cur + 2), 0, 0, false},
		{"replay same step", rfcSecret, codeAt(cur), cur, 0, false},
		{"older than last used", rfcSecret, codeAt(cur - 1), cur - 1, 0, false},
		{"previous after current used", rfcSecret, codeAt(cur - 1), cur, 0, false},
		{"next after current used", rfcSecret, codeAt(cur + 1), cur, cur + 1, true},
		{"wrong code", rfcSecret, wrongCode(codeAt(cur-1), codeAt(cur), codeAt(cur+1)), 0, 0, false},
		{"five digits", rfcSecret, codeAt(cur)[:5], 0, 0, false},
		{"seven digits", rfcSecret, codeAt(cur) + "0", 0, 0, false},
		{"spaces", rfcSecret, codeAt(cur)[:3] + " " + codeAt(cur)[3:], 0, 0, false},
		{"non-digits", rfcSecret, "12a456", 0, 0, false},
		{"unicode digits", rfcSecret, "１２３４５６", 0, 0, false},
		{"empty", rfcSecret, "", 0, 0, false},
		{"nil secret", nil, hotp(nil, uint64(cur), 6), 0, 0, false},
		{"short secret", rfcSecret[:15], hotp(rfcSecret[:15], uint64(cur), 6), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := VerifyTOTP(tt.secret, tt.code, now, tt.lastUsed)
			if step != tt.wantStep || ok != tt.wantOK {
				t.Fatalf("VerifyTOTP = %d, %v; want %d, %v", step, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
}

// wrongCode returns a 6-digit code equal to none of codes.
func wrongCode(codes ...string) string {
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if !strings.Contains(strings.Join(codes, ","), c) {
			return c
		}
	}
}

func TestVerifyTOTPPrefersLatestStep(t *testing.T) {
	// With the RFC key, steps 910737 and 910738 share the code 911617
	// (found by search; adjacent codes coincide with chance 1e-6). When a
	// code matches two steps the later one is returned, so that storing
	// it as lastUsedStep blocks both.
	const step, code = 910737, "911617"
	if hotp(rfcSecret, step, 6) != code || hotp(rfcSecret, step+1, 6) != code {
		t.Fatal("fixture: steps do not share the code")
	}
	tests := []struct {
		name     string
		now      int64 // current step
		lastUsed int64
		wantStep int64
		wantOK   bool
	}{
		{"both in window", step, 0, step + 1, true},
		{"later one used", step, step + 1, 0, false},
		{"earlier one used", step, step, step + 1, true},
		{"only earlier in window", step - 1, 0, step, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := VerifyTOTP(rfcSecret, code, time.Unix(tt.now*30, 0), tt.lastUsed)
			if got != tt.wantStep || ok != tt.wantOK {
				t.Fatalf("VerifyTOTP = %d, %v; want %d, %v", got, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
}

func TestNewTOTPSecret(t *testing.T) {
	a, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("lengths %d, %d; want 20", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
	now := time.Now()
	if _, ok := VerifyTOTP(a, TOTPCode(a, now), now, 0); !ok {
		t.Fatal("fresh secret does not verify its own code")
	}
}

func TestTOTPURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	const b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct {
		name, issuer, account, want string
	}{
		{"plain", "Sotto", "alice@example.org",
			"otpauth://totp/Sotto:alice@example.org?secret=" + b32 + "&issuer=Sotto&algorithm=SHA1&digits=6&period=30"},
		{"spaces and ampersand", "Acme Family Practice & Co", "bob smith@example.org",
			"otpauth://totp/Acme%20Family%20Practice%20&%20Co:bob%20smith@example.org?secret=" + b32 +
				"&issuer=Acme%20Family%20Practice%20%26%20Co&algorithm=SHA1&digits=6&period=30"},
		{"colon and slash", "A:B/C", "x:y?z#",
			"otpauth://totp/A%3AB%2FC:x%3Ay%3Fz%23?secret=" + b32 + "&issuer=A%3AB%2FC&algorithm=SHA1&digits=6&period=30"},
		{"plus and unicode", "Clínica+1", "zoë+mfa@example.org",
			"otpauth://totp/Cl%C3%ADnica+1:zo%C3%AB+mfa@example.org?secret=" + b32 + "&issuer=Cl%C3%ADnica%2B1&algorithm=SHA1&digits=6&period=30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TOTPURI(tt.issuer, tt.account, secret)
			if got != tt.want {
				t.Fatalf("TOTPURI =\n %s\nwant\n %s", got, tt.want)
			}
			// It must parse back to the same parts.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("url.Parse: %v", err)
			}
			label := strings.TrimPrefix(u.Path, "/")
			iss, acct, found := strings.Cut(u.EscapedPath()[1:], ":")
			if !found || u.Scheme != "otpauth" || u.Host != "totp" {
				t.Fatalf("bad structure: scheme %q host %q label %q", u.Scheme, u.Host, label)
			}
			if s, _ := url.PathUnescape(iss); s != tt.issuer {
				t.Errorf("label issuer = %q; want %q", s, tt.issuer)
			}
			if s, _ := url.PathUnescape(acct); s != tt.account {
				t.Errorf("label account = %q; want %q", s, tt.account)
			}
			q := u.Query()
			if q.Get("issuer") != tt.issuer {
				t.Errorf("issuer param = %q; want %q", q.Get("issuer"), tt.issuer)
			}
			dec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(q.Get("secret"))
			if err != nil || !bytes.Equal(dec, secret) {
				t.Errorf("secret param decodes to %q, %v", dec, err)
			}
		})
	}
}

func FuzzVerifyTOTP(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "287082", int64(59), int64(0))
	f.Add([]byte{}, "", int64(0), int64(-1))
	f.Add([]byte("short"), "12345", int64(-1<<62), int64(1<<62))
	f.Add([]byte("12345678901234567890"), "１２３４５", int64(20000000000), int64(0))
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix, lastUsed int64) {
		now := time.Unix(unix, 0)
		step, ok := VerifyTOTP(secret, code, now, lastUsed)
		if !ok {
			if step != 0 {
				t.Fatalf("step %d on failure", step)
			}
			return
		}
		cur := totpStep(now)
		if len(code) != 6 || len(secret) < 16 {
			t.Fatalf("accepted code %q with %d-byte secret", code, len(secret))
		}
		if step <= lastUsed || step < cur-1 || step > cur+1 {
			t.Fatalf("step %d outside (%d, [%d, %d]]", step, lastUsed, cur-1, cur+1)
		}
		if hotp(secret, uint64(step), 6) != code {
			t.Fatalf("accepted a code that is not the code of step %d", step)
		}
	})
}
