package auth

import (
	"crypto/rand"
	"fmt"
)

// Enrollment holds the secrets a new account starts with. Password is set
// only when it was generated (to be shown once); the store keeps only
// PasswordHash and the encrypted TOTPSecret.
type Enrollment struct {
	Password     string
	PasswordHash string
	TOTPSecret   []byte // nil for accounts without TOTP (patients)
	TOTPURI      string
}

// GeneratePassword returns a random 20-character password from the base32 alphabet (100 bits).
func GeneratePassword() string {
	return rand.Text()[:20]
}

// Enroll prepares a new account's secrets: it checks password against the
// policy (or generates one when it is empty), hashes it with p, and, when
// withTOTP is set, creates a TOTP secret and its otpauth:// URI labelled
// issuer:email. Intended callers: the admin CLI and the first-run setup.
// Errors: a KindInvalid *sotto.Error from the password policy, or an
// internal error from the random source or hashing.
func Enroll(issuer, name, email, password string, withTOTP bool, p Params) (*Enrollment, error) {
	e := &Enrollment{}
	personal := PersonalStrings(name, email)
	if password == "" {
		// A random password can, rarely, contain a short name part or a
		// predictable run; draw again until one passes the policy.
		for range 100 {
			if password = GeneratePassword(); CheckPasswordPolicy(password, personal...) == nil {
				break
			}
		}
		e.Password = password
	}
	if err := CheckPasswordPolicy(password, personal...); err != nil {
		return nil, err
	}
	h, err := HashPassword(password, p)
	if err != nil {
		return nil, fmt.Errorf("auth: enroll: %w", err)
	}
	e.PasswordHash = h
	if withTOTP {
		if e.TOTPSecret, err = NewTOTPSecret(); err != nil {
			return nil, fmt.Errorf("auth: enroll: %w", err)
		}
		e.TOTPURI = TOTPURI(issuer, email, e.TOTPSecret)
	}
	return e, nil
}
