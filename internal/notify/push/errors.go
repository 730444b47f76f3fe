package push

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Error classes. Every error Sender.Send returns matches exactly one of
// ErrTemporary and ErrPermanent under errors.Is; ErrGone errors are also
// ErrPermanent. IsTemporary and IsPermanent are shorthands.
var (
	// ErrTemporary: the push service was unreachable, timed out, reset
	// the connection, was overloaded (5xx) or rate-limited this server
	// (429). Retry later, not before Error.RetryAfter if it is set.
	ErrTemporary = errors.New("push: temporary failure")
	// ErrPermanent: the push service refused the message (400, 403 for a
	// VAPID key it does not accept, 413 ...), or the message, options or
	// subscription were refused before sending. Retrying cannot help.
	ErrPermanent = errors.New("push: permanent failure")
	// ErrGone: the push service answered 404 or 410: the subscription
	// expired or the user revoked it. Delete it; never send to it again.
	ErrGone = errors.New("push: subscription is gone")
	// ErrTooLarge: the payload is longer than MaxPayload. Also ErrPermanent.
	ErrTooLarge = errors.New("push: payload too large")
	// ErrInvalidSubscription: ParseSubscription or Send refused a
	// subscription; the wrapping error names the field, never its value.
	ErrInvalidSubscription = errors.New("push: invalid subscription")
)

// maxRetryAfter bounds a push service's Retry-After.
const maxRetryAfter = 24 * time.Hour

// Error describes a failed send. It holds no endpoint, key or payload:
// the cause, if any, is a network error, a context error or one of this
// package's sentinels, and Error() prints none of the cause's own text
// (network errors name addresses). Get it with errors.As.
type Error struct {
	Status     int           // the push service's HTTP status; 0 when no answer arrived or Send refused locally
	RetryAfter time.Duration // the push service's Retry-After, if it sent one (temporary errors only)
	Temporary  bool          // matches ErrTemporary if true, ErrPermanent if not
	Gone       bool          // matches ErrGone (and ErrPermanent)
	What       string        // a fixed description, e.g. "service answered 503"
	cause      error
}

// Error implements error, e.g. "push: service answered 503 (temporary,
// retry after 2m0s)".
func (e *Error) Error() string {
	s := "push: " + e.What
	switch {
	case e.Temporary && e.RetryAfter > 0:
		s += " (temporary, retry after " + e.RetryAfter.String() + ")"
	case e.Temporary:
		s += " (temporary)"
	case e.Gone:
		s += " (subscription gone)"
	default:
		s += " (permanent)"
	}
	return s
}

// Is makes errors.Is follow the class: ErrTemporary, ErrPermanent, ErrGone.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTemporary:
		return e.Temporary
	case ErrPermanent:
		return !e.Temporary
	case ErrGone:
		return e.Gone
	}
	return false
}

// Unwrap returns the cause: a network or context error, ErrTooLarge or an
// ErrInvalidSubscription error, or nil.
func (e *Error) Unwrap() error { return e.cause }

// IsTemporary reports whether err is a push failure worth retrying later.
// The notification job calls it to choose between retry and give up.
func IsTemporary(err error) bool { return errors.Is(err, ErrTemporary) }

// IsPermanent reports whether err is a push failure that retrying cannot
// fix, including ErrGone.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// RetryAfter returns how long the push service asked to wait before the
// next attempt, or 0 if err carries no such hint.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// permanent returns a local, permanent *Error.
func permanent(what string, cause error) *Error {
	return &Error{What: what, cause: cause}
}

// statusError classifies a non-2xx answer of a push service.
func statusError(status int, h http.Header, now time.Time) *Error {
	e := &Error{Status: status, What: "service answered " + strconv.Itoa(status)}
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		e.Gone = true
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		e.Temporary = true
		e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), now)
	}
	return e
}

// networkError classifies a failure to get an answer: all are temporary.
// cause keeps the error chain (context.DeadlineExceeded,
// syscall.ECONNREFUSED ...) for errors.Is; What names the kind only.
func networkError(cause error) *Error {
	what := "no answer from service"
	var ne net.Error
	switch {
	case errors.As(cause, &ne) && ne.Timeout():
		what = "service timed out"
	case errors.Is(cause, syscall.ECONNREFUSED):
		what = "service unreachable: connection refused"
	case errors.Is(cause, syscall.ECONNRESET):
		what = "service reset the connection"
	case errors.Is(cause, context.Canceled):
		what = "send cancelled"
	case errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF):
		what = "service closed the connection"
	}
	return &Error{Temporary: true, What: what, cause: cause}
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3), relative to now. Invalid, past or absent
// values give 0; values beyond maxRetryAfter are capped.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), maxRetryAfter)
}
