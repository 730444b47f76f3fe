// Package sotto holds the domain types and rules of the sotto secure
// messaging server. It imports only the standard library; storage,
// transport and cryptography live in internal packages that depend on it.
package sotto

import (
	"errors"
	"fmt"
)

// Kind classifies an Error so that the HTTP boundary can choose a status
// and clients can branch on a stable code.
type Kind string

// Error kinds. Their string values are the stable "code" clients see,
// unless an Error sets a more specific Code.
const (
	KindInvalid         Kind = "invalid"
	KindUnauthenticated Kind = "unauthenticated"
	KindForbidden       Kind = "forbidden"
	KindNotFound        Kind = "not_found"
	KindConflict        Kind = "conflict"
	KindRateLimited     Kind = "rate_limited"
	KindUnavailable     Kind = "unavailable"
	KindInternal        Kind = "internal"
)

// Error is the one domain error type. Msg is safe to show to the client and
// must never hold patient data; Err carries the underlying cause, which is
// logged but never shown.
type Error struct {
	Kind Kind   // classification
	Code string // optional specific code, e.g. "mfa_required"; defaults to Kind
	Op   string // operation that failed, e.g. "store.CreateOrg"
	Msg  string // human message, safe for clients, free of PHI
	Err  error  // underlying cause, internal only
}

// Error implements the error interface. It includes the cause, so it is for
// logs, never for clients: use ErrorMessage for the client-facing text.
func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a client-safe message.
// Callers must not format patient data into the message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error of kind with the client-safe msg, recording
// op and the cause err for logs.
func WrapError(kind Kind, op, msg string, err error) *Error {
	return &Error{Kind: kind, Op: op, Msg: msg, Err: err}
}

// ErrorKind returns the Kind of the first *Error in err's chain, or
// KindInternal when there is none. A nil err has no kind ("").
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the stable code for err: the first *Error's Code if set,
// otherwise its Kind, or "internal".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Code != "" {
			return e.Code
		}
		return string(e.Kind)
	}
	return string(KindInternal)
}

// ErrorMessage returns the client-safe message of err. Errors that are not
// *Error, and internal errors, get a generic message so that no internal
// detail reaches a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal && e.Msg != "" {
		return e.Msg
	}
	return "An internal error occurred."
}
