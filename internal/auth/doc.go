// Package auth holds sotto's storage-agnostic authentication primitives:
// password hashing and policy, TOTP second factors, recovery codes, opaque
// bearer tokens, failed-attempt throttling and session expiry rules.
//
// Nothing here touches a database, the network or a log. The store layer
// persists what these functions return (password hashes, TOTP secrets,
// recovery-code hashes, token hashes) and the HTTP layer decides when to
// call them. Every dependency is explicit: clocks are passed in as
// func() time.Time or time.Time arguments, randomness comes from
// crypto/rand, and the package keeps no package-level mutable state.
//
// Secrets never leave through errors: no error returned by this package
// contains a password, a TOTP code or secret, a recovery code, a token or
// an e-mail address, so callers may log errors freely. The converse is the
// caller's duty: the values returned by HashPassword, NewToken,
// NewRecoveryCodes, TOTPURI and friends are secrets or personal data and
// must never be logged.
package auth
