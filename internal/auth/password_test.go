package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// testPHC returns a PHC string built from parts, for malformed-input tests.
func testPHC(alg, ver, params, salt, key string) string {
	return "$" + alg + "$" + ver + "$" + params + "$" + salt + "$" + key
}

func TestHashPasswordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pw   string
	}{
		{"ascii", "correct horse battery staple"},
		{"unicode", "пароль-日本語-パスワード-✓"},
		{"empty", ""},
		{"max length", strings.Repeat("\U0001F600", MaxPasswordRunes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := HashPassword(tt.pw, TestParams)
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("unexpected PHC prefix in %q", enc)
			}
			ok, rehash, err := VerifyPasswordWith(tt.pw, enc, TestParams)
			if err != nil || !ok || rehash {
				t.Fatalf("VerifyPasswordWith(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			ok, rehash, err = VerifyPasswordWith(tt.pw+"x", enc, TestParams)
			if err != nil || ok || rehash {
				t.Fatalf("VerifyPasswordWith(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestHashPasswordFormat(t *testing.T) {
	enc, err := HashPassword("some password", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC(own output): %v", err)
	}
	if len(h.salt) != 16 || len(h.key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(h.salt), len(h.key))
	}
	if h.params != TestParams {
		t.Errorf("params %+v; want %+v", h.params, TestParams)
	}
	// The same password hashes differently each time (random salt).
	enc2, err := HashPassword("some password", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if enc == enc2 {
		t.Error("two hashes of the same password are identical; salt is not random")
	}
}

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 64 * 1024, Time: 2, Threads: 2}
	if DefaultParams != want {
		t.Fatalf("DefaultParams = %+v; want %+v", DefaultParams, want)
	}
	if err := DefaultParams.validate(); err != nil {
		t.Fatalf("DefaultParams invalid: %v", err)
	}
	if err := TestParams.validate(); err != nil {
		t.Fatalf("TestParams invalid: %v", err)
	}
}

func TestVerifyPasswordNeedsRehash(t *testing.T) {
	const pw = "a perfectly fine passphrase"
	weak, err := HashPassword(pw, TestParams)
	if err != nil {
		t.Fatal(err)
	}
	other := Params{Memory: 128, Time: 1, Threads: 1}
	tests := []struct {
		name       string
		pw         string
		current    Params
		wantOK     bool
		wantRehash bool
	}{
		{"same params", pw, TestParams, true, false},
		{"current differs", pw, other, true, true},
		{"defaults differ", pw, DefaultParams, true, true},
		{"wrong password never asks rehash", "wrong", other, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := VerifyPasswordWith(tt.pw, weak, tt.current)
			if err != nil || ok != tt.wantOK || rehash != tt.wantRehash {
				t.Fatalf("got %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.wantOK, tt.wantRehash)
			}
		})
	}
	// VerifyPassword compares with the default parameters.
	ok, rehash, err := VerifyPassword(pw, weak)
	if err != nil || !ok || !rehash {
		t.Fatalf("VerifyPassword(TestParams hash) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestVerifyPasswordIgnoresDefaultParamsVar(t *testing.T) {
	// Assigning the exported variable must not change what is current.
	saved := DefaultParams
	t.Cleanup(func() { DefaultParams = saved })
	DefaultParams = TestParams
	enc, err := HashPassword("x", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, rehash, _ := VerifyPassword("x", enc); !rehash {
		t.Fatal("VerifyPassword followed a reassigned DefaultParams")
	}
}

func TestVerifyPasswordNonStandardLengths(t *testing.T) {
	// A hash with a 24-byte salt and a 64-byte key verifies and asks for
	// a rehash to the standard lengths.
	salt := []byte("0123456789abcdefghijklmn")
	key := argon2Key("pw", salt, TestParams, 64)
	enc := testPHC("argon2id", "v=19", "m=64,t=1,p=1", b64().EncodeToString(salt), b64().EncodeToString(key))
	ok, rehash, err := VerifyPasswordWith("pw", enc, TestParams)
	if err != nil || !ok || !rehash {
		t.Fatalf("got %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, err := HashPassword("pw", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	tests := []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", ErrMalformedHash},
		{"garbage", "not a hash", ErrMalformedHash},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", ErrMalformedHash},
		{"argon2i", testPHC("argon2i", "v=19", "m=64,t=1,p=1", salt, key), ErrUnsupportedHash},
		{"argon2d", testPHC("argon2d", "v=19", "m=64,t=1,p=1", salt, key), ErrUnsupportedHash},
		{"version 16", testPHC("argon2id", "v=16", "m=64,t=1,p=1", salt, key), ErrUnsupportedHash},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"bad version", testPHC("argon2id", "v=x", "m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"leading prefix", "x" + good, ErrMalformedHash},
		{"extra field", good + "$", ErrMalformedHash},
		{"params order", testPHC("argon2id", "v=19", "t=1,m=64,p=1", salt, key), ErrMalformedHash},
		{"params missing", testPHC("argon2id", "v=19", "m=64,t=1", salt, key), ErrMalformedHash},
		{"params extra", testPHC("argon2id", "v=19", "m=64,t=1,p=1,k=2", salt, key), ErrMalformedHash},
		{"param empty", testPHC("argon2id", "v=19", "m=,t=1,p=1", salt, key), ErrMalformedHash},
		{"param sign", testPHC("argon2id", "v=19", "m=+64,t=1,p=1", salt, key), ErrMalformedHash},
		{"param negative", testPHC("argon2id", "v=19", "m=64,t=-1,p=1", salt, key), ErrMalformedHash},
		{"param leading zero", testPHC("argon2id", "v=19", "m=064,t=1,p=1", salt, key), ErrMalformedHash},
		{"param huge", testPHC("argon2id", "v=19", "m=99999999999999999999999,t=1,p=1", salt, key), ErrInvalidParams},
		{"memory over 1 GiB", testPHC("argon2id", "v=19", "m=1048577,t=1,p=1", salt, key), ErrInvalidParams},
		{"memory below 8p", testPHC("argon2id", "v=19", "m=15,t=1,p=2", salt, key), ErrInvalidParams},
		{"time zero", testPHC("argon2id", "v=19", "m=64,t=0,p=1", salt, key), ErrInvalidParams},
		{"time too high", testPHC("argon2id", "v=19", "m=64,t=17,p=1", salt, key), ErrInvalidParams},
		{"threads zero", testPHC("argon2id", "v=19", "m=64,t=1,p=0", salt, key), ErrInvalidParams},
		{"threads too high", testPHC("argon2id", "v=19", "m=1024,t=1,p=17", salt, key), ErrInvalidParams},
		{"threads overflow uint8", testPHC("argon2id", "v=19", "m=4096,t=1,p=257", salt, key), ErrInvalidParams},
		{"salt not base64", testPHC("argon2id", "v=19", "m=64,t=1,p=1", "!!!!", key), ErrMalformedHash},
		{"salt padded", testPHC("argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key), ErrMalformedHash},
		{"salt too short", testPHC("argon2id", "v=19", "m=64,t=1,p=1", "c2FsdA", key), ErrMalformedHash},
		{"salt empty", testPHC("argon2id", "v=19", "m=64,t=1,p=1", "", key), ErrMalformedHash},
		{"key too short", testPHC("argon2id", "v=19", "m=64,t=1,p=1", salt, "a2V5"), ErrMalformedHash},
		{"key too long", testPHC("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 88)), ErrMalformedHash},
		{"key not base64", testPHC("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:len(key)-1]+"*"), ErrMalformedHash},
		{"oversized", good + strings.Repeat("A", 600), ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword("pw", tt.encoded)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
			if ok || rehash {
				t.Fatalf("ok, rehash = %v, %v on error", ok, rehash)
			}
			if tt.encoded != "" && strings.Contains(err.Error(), tt.encoded) {
				t.Fatal("error echoes the encoded hash")
			}
		})
	}
}

func TestHashPasswordErrors(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		p    Params
		want error
	}{
		{"zero params", "pw", Params{}, ErrInvalidParams},
		{"memory over 1 GiB", "pw", Params{Memory: 1<<20 + 1, Time: 1, Threads: 1}, ErrInvalidParams},
		{"time over limit", "pw", Params{Memory: 64, Time: 17, Threads: 1}, ErrInvalidParams},
		{"threads over limit", "pw", Params{Memory: 1024, Time: 1, Threads: 17}, ErrInvalidParams},
		{"too long", "secret-" + strings.Repeat("x", MaxPasswordBytes), TestParams, ErrPasswordTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := HashPassword(tt.pw, tt.p)
			if !errors.Is(err, tt.want) || enc != "" {
				t.Fatalf("HashPassword = %q, %v; want \"\", %v", enc, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Fatal("error echoes the password")
			}
		})
	}
}

func TestVerifyPasswordTooLong(t *testing.T) {
	enc, err := HashPassword("pw", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := VerifyPasswordWith(strings.Repeat("x", MaxPasswordBytes+1), enc, TestParams)
	if ok || rehash || err != nil {
		t.Fatalf("got %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in      string
		limit   uint64
		want    uint64
		wantErr bool
	}{
		{"0", 10, 0, false},
		{"10", 10, 10, false},
		{"11", 10, 0, true},
		{"01", 10, 0, true},
		{"", 10, 0, true},
		{"1a", 10, 0, true},
		{"-1", 10, 0, true},
		{"18446744073709551616", 1 << 62, 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := parseDecimal(tt.in, tt.limit)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseDecimal(%q, %d) = %d, %v; want %d, err %v", tt.in, tt.limit, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzVerifyPassword(f *testing.F) {
	good, err := HashPassword("pw", TestParams)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("pw", good)
	f.Add("pw", "")
	f.Add("", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("pw", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("pw", "$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("pw", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		h, perr := parsePHC(encoded)
		if perr == nil && h.params.Memory > 4096 {
			// Valid but expensive: parsing is what is under test, and
			// argon2 at up to 1 GiB per input would stall the fuzzer.
			return
		}
		ok, rehash, err := VerifyPassword(pw, encoded)
		if err != nil && (ok || rehash) {
			t.Fatalf("ok=%v rehash=%v with error %v", ok, rehash, err)
		}
		if (err == nil) != (perr == nil) {
			t.Fatalf("VerifyPassword err %v disagrees with parsePHC err %v", err, perr)
		}
		// Short inputs can occur in the fixed message text by chance.
		if err != nil && len(encoded) >= 24 && strings.Contains(err.Error(), encoded) {
			t.Fatal("error echoes the encoded hash")
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

// argon2Key derives a key as HashPassword does, for hand-built hashes.
func argon2Key(pw string, salt []byte, p Params, n uint32) []byte {
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, n)
}
