package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238 defaults, the only ones every authenticator
// app supports): HMAC-SHA1, 6 digits, 30-second steps.
const (
	TOTPDigits     = 6
	TOTPPeriod     = 30 * time.Second
	TOTPSecretSize = 20 // bytes: the 160 bits RFC 4226 §4 recommends

	// minTOTPSecret is the 128 bits RFC 4226 §4 requires; VerifyTOTP
	// rejects shorter secrets so that an empty or truncated row can never
	// verify.
	minTOTPSecret = 16
	// totpSkew is how many steps either side of now VerifyTOTP accepts.
	totpSkew = 1
)

// NewTOTPSecret returns a fresh 20-byte random TOTP secret. The MFA
// enrolment handler calls it, shows the secret to the user via TOTPURI and
// stores it (encrypted) only once the user has proved possession with a
// valid code. The only error is a failure to read crypto/rand, wrapped.
func NewTOTPSecret() ([]byte, error) {
	secret := make([]byte, TOTPSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("new totp secret: %w", err)
	}
	return secret, nil
}

// base32NoPad is the secret encoding authenticator apps expect.
func base32NoPad() *base32.Encoding { return base32.StdEncoding.WithPadding(base32.NoPadding) }

// TOTPURI returns the otpauth:// key URI (Google Authenticator key-URI
// format) that enrols secret in an authenticator app, usually rendered as
// a QR code:
//
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// issuer names the practice or service and account the user (typically
// the e-mail address). Both are percent-encoded, including any colon, so
// the label always splits unambiguously. The enrolment handler calls it;
// it cannot fail. The URI holds the secret and personal data: send it to
// the enrolling user only, never log it.
func TOTPURI(issuer, account string, secret []byte) string {
	label := escapeLabel(issuer) + ":" + escapeLabel(account)
	return "otpauth://totp/" + label +
		"?secret=" + base32NoPad().EncodeToString(secret) +
		"&issuer=" + escapeQuery(issuer) +
		"&algorithm=SHA1&digits=6&period=30"
}

// escapeLabel percent-encodes one half of the label. url.PathEscape leaves
// ':' and '@' alone; ':' must be encoded here because it separates issuer
// from account.
func escapeLabel(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// escapeQuery percent-encodes a query value with %20 for spaces, which
// authenticator apps decode more reliably than '+'.
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// totpStep returns the RFC 6238 time step containing t: floor(unix/30).
func totpStep(t time.Time) int64 {
	period := int64(TOTPPeriod / time.Second)
	u := t.Unix()
	s := u / period
	if u%period < 0 {
		s-- // floor, not truncation, before 1970
	}
	return s
}

// TOTPCode returns the 6-digit TOTP code of secret at time t. It is meant
// for tests and tools (e.g. a test client that signs in); servers verify
// with VerifyTOTP. It cannot fail. The code is a credential: never log it.
func TOTPCode(secret []byte, t time.Time) string {
	return hotp(secret, uint64(totpStep(t)), TOTPDigits)
}

// hotp is RFC 4226 HOTP: HMAC-SHA1 of the big-endian counter, dynamic
// truncation, reduced to digits decimal digits (at most 9), zero-padded.
func hotp(secret []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// VerifyTOTP checks a 6-digit code against secret at time now, accepting
// the step before and after the current one for clock skew. lastUsedStep
// is the step of the last code the user successfully used (0 if none):
// any step at or before it is refused, so a code cannot be replayed, not
// even within its 90-second window.
//
// On success it returns ok true and the matched step, which the caller
// must store as the new lastUsedStep (atomically with accepting the
// login, e.g. a conditional UPDATE, or two concurrent requests could both
// use the code). On failure it returns (0, false). Input that is not
// exactly six ASCII digits, and secrets shorter than 16 bytes, always
// fail. All candidate steps are computed and compared in constant time.
// The login handler calls it, behind a Throttle.
func VerifyTOTP(secret []byte, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	if len(secret) < minTOTPSecret || len(code) != TOTPDigits {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	cur := totpStep(now)
	matched := int64(0)
	found := 0
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		eq := subtle.ConstantTimeCompare([]byte(hotp(secret, uint64(s), TOTPDigits)), []byte(code))
		fresh := 0
		if s > lastUsedStep {
			fresh = 1
		}
		// Keep the latest fresh matching step without branching on the
		// comparison: mask is all ones on a hit, zero otherwise.
		hit := eq & fresh
		mask := -int64(hit)
		matched = s&mask | matched&^mask
		found |= hit
	}
	if found == 0 {
		return 0, false
	}
	return matched, true
}
