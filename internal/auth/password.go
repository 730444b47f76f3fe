package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors returned by the password functions. They are wrapped with %w and
// extra detail (never the password or the hash itself), so test for them
// with errors.Is.
var (
	// ErrMalformedHash means a stored hash string is not a well-formed
	// argon2id PHC string. It points at a corrupt or foreign database row.
	ErrMalformedHash = errors.New("auth: malformed password hash")
	// ErrUnsupportedHash means a stored hash is well formed but uses an
	// algorithm or version this package does not verify (e.g. argon2i).
	ErrUnsupportedHash = errors.New("auth: unsupported password hash")
	// ErrInvalidParams means argon2 parameters are outside the accepted
	// bounds, whether passed to HashPassword or parsed from a stored hash.
	ErrInvalidParams = errors.New("auth: argon2 parameters out of bounds")
	// ErrPasswordTooLong means HashPassword was given more than
	// MaxPasswordBytes bytes.
	ErrPasswordTooLong = errors.New("auth: password too long to hash")
)

// Params are argon2id cost parameters. Memory is in KiB (as in the PHC
// "m=" field), Time is the number of passes and Threads the parallelism.
// The salt (16 bytes) and key (32 bytes) lengths are fixed by the package.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
}

// Defaults, kept as constants so that nothing can change what
// VerifyPassword treats as current by assigning to DefaultParams.
const (
	defaultMemoryKiB = 64 * 1024
	defaultTime      = 2
	defaultThreads   = 2

	saltLen = 16
	keyLen  = 32
)

// Bounds applied to parameters passed to HashPassword and, more
// importantly, to parameters parsed from stored hashes: a corrupt or
// malicious row must not make a login burn a gigabyte or a minute of CPU.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxTime       = 16
	maxThreads    = 16
	minStoredSalt = 8
	maxStoredSalt = 64
	minStoredKey  = 16
	maxStoredKey  = 64
	maxEncodedLen = 512
)

// MaxPasswordBytes bounds the input to HashPassword. It is 256 runes of at
// most 4 bytes each, the most CheckPasswordPolicy lets through.
const MaxPasswordBytes = 4 * MaxPasswordRunes

// DefaultParams are the production argon2id parameters, chosen for the
// 2-core server sotto targets: 64 MiB of memory, 2 passes, 2 lanes (the
// OWASP "m=64 MiB" tier with one extra pass). Measured with
// BenchmarkHashPassword on the 2-core reference machine (AMD EPYC,
// linux/amd64, Go 1.26): about 72 ms wall-clock per hash on an otherwise
// idle machine and 130-150 ms under heavy load from other processes;
// about 100 ms of CPU time across both cores and 64 MiB allocated per
// hash. One login thus costs ~0.1 core-second, so the server can verify
// roughly 20 passwords a second at most: keep Throttle in front of
// VerifyPassword so that guessing cannot exhaust CPU or memory.
//
// Treat DefaultParams as read-only. This package never reads the variable
// itself: VerifyPassword compares against private constants of the same
// value, so assigning to it changes nothing but the caller's own hashes.
var DefaultParams = Params{Memory: defaultMemoryKiB, Time: defaultTime, Threads: defaultThreads}

// TestParams are the cheapest parameters the package accepts (64 KiB,
// 1 pass, 1 lane). Only tests may use them, to keep suites fast; a hash
// made with them reports needsRehash under DefaultParams.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

// validate reports whether p is inside the accepted bounds.
func (p Params) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("%w: threads %d not in [1, %d]", ErrInvalidParams, p.Threads, maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d not in [1, %d]", ErrInvalidParams, p.Time, maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrInvalidParams, p.Memory, 8*uint32(p.Threads), maxMemoryKiB)
	}
	return nil
}

// b64 returns the PHC string encoding: standard alphabet, no padding, and
// strict so that every hash has exactly one textual form.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// HashPassword hashes pw with argon2id under p and a fresh 16-byte random
// salt, returning a PHC string such as
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// The store layer calls it when a password is set or rehashed, after
// CheckPasswordPolicy has accepted the password. It returns an error
// wrapping ErrInvalidParams if p is out of bounds, ErrPasswordTooLong if
// pw exceeds MaxPasswordBytes, or the crypto/rand error if the salt cannot
// be read. The result must not be logged.
func HashPassword(pw string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	if len(pw) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: %w (limit %d bytes)", ErrPasswordTooLong, MaxPasswordBytes)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		b64().EncodeToString(salt), b64().EncodeToString(key)), nil
}

// VerifyPassword checks pw against encoded, a PHC string made by
// HashPassword, taking DefaultParams as the current parameters: the login
// handler calls it and, when needsRehash is true, stores
// HashPassword(pw, DefaultParams). Results and errors are as for
// VerifyPasswordWith (ErrMalformedHash, ErrUnsupportedHash or
// ErrInvalidParams, wrapped, for a bad stored hash).
func VerifyPassword(pw, encoded string) (ok bool, needsRehash bool, err error) {
	return VerifyPasswordWith(pw, encoded, Params{Memory: defaultMemoryKiB, Time: defaultTime, Threads: defaultThreads})
}

// VerifyPasswordWith checks pw against encoded, a PHC string made by
// HashPassword, comparing in constant time. The login handler calls it; a
// server configured with other parameters than DefaultParams passes them
// as current.
//
// ok reports whether pw matches. needsRehash is true only when ok is true
// and encoded was made with parameters (or salt or key lengths) other than
// current: the caller should then store HashPassword(pw, current).
//
// A malformed encoded yields an error wrapping ErrMalformedHash, a foreign
// algorithm or version ErrUnsupportedHash, and parameters beyond the
// package bounds (such as more than 1 GiB of memory) ErrInvalidParams;
// the function never panics. A pw longer than MaxPasswordBytes cannot
// have been hashed and simply does not match (ok false, nil error). The
// error never contains pw or encoded.
func VerifyPasswordWith(pw, encoded string, current Params) (ok bool, needsRehash bool, err error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if len(pw) > MaxPasswordBytes {
		return false, false, nil
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	if subtle.ConstantTimeCompare(key, h.key) != 1 {
		return false, false, nil
	}
	rehash := h.params != current || len(h.salt) != saltLen || len(h.key) != keyLen
	return true, rehash, nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// parsePHC parses and bounds-checks "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func parsePHC(s string) (phc, error) {
	if len(s) > maxEncodedLen {
		return phc{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return phc{}, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return phc{}, fmt.Errorf("%w: algorithm is not argon2id", ErrUnsupportedHash)
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return phc{}, fmt.Errorf("%w: missing version", ErrMalformedHash)
	}
	ver, err := parseDecimal(v, argon2.Version)
	if err != nil {
		return phc{}, fmt.Errorf("%w: version: %w", ErrMalformedHash, err)
	}
	if ver != argon2.Version {
		return phc{}, fmt.Errorf("%w: version %d", ErrUnsupportedHash, ver)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return phc{}, fmt.Errorf("%w: want parameters m, t, p", ErrMalformedHash)
	}
	var n [3]uint64
	for i, f := range [3]struct {
		name  string
		limit uint64
	}{{"m", maxMemoryKiB}, {"t", maxTime}, {"p", maxThreads}} {
		val, ok := strings.CutPrefix(fields[i], f.name+"=")
		if !ok {
			return phc{}, fmt.Errorf("%w: parameter %d is not %s", ErrMalformedHash, i+1, f.name)
		}
		if n[i], err = parseDecimal(val, f.limit); err != nil {
			if errors.Is(err, errTooLarge) {
				return phc{}, fmt.Errorf("%w: %s: %w", ErrInvalidParams, f.name, err)
			}
			return phc{}, fmt.Errorf("%w: %s: %w", ErrMalformedHash, f.name, err)
		}
	}
	// The limits above make these conversions lossless.
	p := Params{Memory: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2])}
	if err := p.validate(); err != nil {
		return phc{}, err
	}
	salt, err := b64().DecodeString(parts[4])
	if err != nil {
		return phc{}, fmt.Errorf("%w: salt encoding", ErrMalformedHash)
	}
	if len(salt) < minStoredSalt || len(salt) > maxStoredSalt {
		return phc{}, fmt.Errorf("%w: salt length %d not in [%d, %d]", ErrMalformedHash, len(salt), minStoredSalt, maxStoredSalt)
	}
	key, err := b64().DecodeString(parts[5])
	if err != nil {
		return phc{}, fmt.Errorf("%w: key encoding", ErrMalformedHash)
	}
	if len(key) < minStoredKey || len(key) > maxStoredKey {
		return phc{}, fmt.Errorf("%w: key length %d not in [%d, %d]", ErrMalformedHash, len(key), minStoredKey, maxStoredKey)
	}
	return phc{params: p, salt: salt, key: key}, nil
}

// errTooLarge marks a decimal field that exceeds its limit.
var errTooLarge = errors.New("value too large")

// parseDecimal parses a canonical unsigned decimal (ASCII digits only, no
// sign, no leading zero) no larger than limit.
func parseDecimal(s string, limit uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("%w (limit %d)", errTooLarge, limit)
	}
	return n, nil
}
