package sms

import (
	"errors"
	"strconv"
	"time"

	"sotto"
)

// Error classes. Every error Client.Send returns matches exactly one of
// ErrTemporary and ErrPermanent under errors.Is.
var (
	// ErrTemporary: the provider was unreachable, timed out, was
	// overloaded (5xx) or rate-limited the account (429). Retry later
	// with the same idempotency token; ProviderError.RetryAfter says how
	// long the provider asked to wait, if it did.
	ErrTemporary = errors.New("sms: temporary failure")
	// ErrPermanent: the provider refused the message (4xx: invalid or
	// unsubscribed number, bad credentials...), the arguments were
	// invalid, or the provider accepted the message but its answer could
	// not be read. Retrying cannot help and might send a duplicate.
	ErrPermanent = errors.New("sms: permanent failure")
	// ErrBadSignature: a webhook's X-Twilio-Signature is missing or does
	// not match. ReadWebhook returns it wrapped in a KindForbidden error:
	// answer 403, audit, ignore the request.
	ErrBadSignature = errors.New("sms: bad webhook signature")
)

// Twilio error codes a caller may act on (https://www.twilio.com/docs/api/errors).
const (
	CodeInvalidTo    = 21211 // the To number is not a valid phone number
	CodeUnsubscribed = 21610 // the recipient replied STOP: do not text them again
)

// ProviderError describes a failed send. It holds no phone number, no
// body and none of the provider's message text (which may hold the
// number). Get it with errors.As.
type ProviderError struct {
	HTTPStatus int           // provider's HTTP status; 0 when no answer arrived or the arguments were refused locally
	Code       int           // provider's error code, e.g. 21211; 0 if none
	Temporary  bool          // the class: matches ErrTemporary if true, ErrPermanent if not
	RetryAfter time.Duration // the provider's Retry-After, if any
	What       string        // a fixed description of the failure
	cause      error         // network failure, free of request data
}

// Error implements error.
func (e *ProviderError) Error() string {
	s := "sms: " + e.What
	if e.HTTPStatus != 0 {
		s += ": HTTP " + strconv.Itoa(e.HTTPStatus)
	}
	if e.Code != 0 {
		s += ", error " + strconv.Itoa(e.Code)
	}
	if e.Temporary {
		s += " (temporary)"
	} else {
		s += " (permanent)"
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrTemporary) and errors.Is(err, ErrPermanent)
// follow the class.
func (e *ProviderError) Is(target error) bool {
	return (target == ErrTemporary && e.Temporary) || (target == ErrPermanent && !e.Temporary)
}

// Unwrap returns the network failure, if any.
func (e *ProviderError) Unwrap() error { return e.cause }

// ProviderCode returns the provider's error code in err's chain (e.g.
// CodeUnsubscribed), or 0.
func ProviderCode(err error) int {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}

// sendError wraps pe in a *sotto.Error: KindUnavailable when temporary,
// KindInternal when the provider refused the credentials or the account
// (a configuration problem), KindInvalid otherwise.
func sendError(pe *ProviderError) error {
	const op = "sms.Client.Send"
	switch {
	case pe.Temporary:
		return &sotto.Error{Kind: sotto.KindUnavailable, Op: op, Msg: "The SMS provider is temporarily unavailable.", Err: pe}
	case pe.HTTPStatus == 401 || pe.HTTPStatus == 403 || pe.HTTPStatus == 404:
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: pe}
	}
	msg := "The text message was refused."
	if pe.Code != 0 {
		msg = "The SMS provider refused the text message (error " + strconv.Itoa(pe.Code) + ")."
	}
	return &sotto.Error{Kind: sotto.KindInvalid, Code: "sms_refused", Op: op, Msg: msg, Err: pe}
}

// invalid returns a KindInvalid *sotto.Error with a client-safe message.
func invalid(op, msg string) error {
	return &sotto.Error{Kind: sotto.KindInvalid, Op: op, Msg: msg}
}
