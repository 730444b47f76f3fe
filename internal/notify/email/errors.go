package email

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"

	"github.com/wneessen/go-mail/smtp"
)

// Classification sentinels. Every error returned by [Sender.Send] matches
// exactly one of them with errors.Is, so a caller (the notification queue)
// can decide between "retry later" and "give up" without parsing strings.
var (
	// ErrTemporary marks a failure that may succeed on a later attempt:
	// SMTP 4xx replies, connection and timeout errors, TLS handshake
	// failures, context cancellation, a connection dropped mid-session.
	ErrTemporary = errors.New("email: temporary failure")
	// ErrPermanent marks a failure that will not go away by retrying the
	// same message: SMTP 5xx replies, a server that does not offer
	// STARTTLS, authentication rejected, an invalid message.
	ErrPermanent = errors.New("email: permanent failure")
)

// Specific causes, each of which also matches [ErrPermanent].
var (
	// ErrInvalidConfig is returned (wrapped) by [New] for a bad [Config].
	ErrInvalidConfig = errors.New("email: invalid config")
	// ErrInvalidMessage is returned by [Sender.Send] for a [Message] that
	// is refused before any connection is made (bad address, CR/LF or other
	// control characters in a header field, oversized or non-UTF-8 text).
	ErrInvalidMessage = errors.New("email: invalid message")
	// ErrNoSTARTTLS means the server did not offer STARTTLS in starttls
	// mode. Nothing beyond EHLO was sent in clear; it is a policy
	// violation and therefore permanent.
	ErrNoSTARTTLS = errors.New("email: server does not offer STARTTLS")
	// ErrNoAuthMechanism means credentials are configured but the server
	// offers neither AUTH PLAIN nor AUTH LOGIN over TLS.
	ErrNoAuthMechanism = errors.New("email: server offers no usable AUTH mechanism (PLAIN, LOGIN)")
)

// errMalformedReply replaces parse errors whose text quotes server output.
var errMalformedReply = errors.New("malformed server reply")

// SMTPError is the error returned by [Sender.Send] for every failure after
// the message was validated. Its text names the protocol stage, the reply
// code and the enhanced status code; it never contains the server's reply
// text (which may echo the recipient), the recipient address or the body.
type SMTPError struct {
	// Stage is the protocol step that failed: "dial", "greeting", "ehlo",
	// "starttls", "auth", "mail", "rcpt", "data" or "data-end" (the
	// server's verdict after the message body).
	Stage string
	// Code is the SMTP reply code, or 0 when the failure was not a reply
	// (network, TLS, timeout, policy).
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.1.1") when the
	// server sent one, else "".
	Enhanced string
	// Temporary reports whether retrying later may succeed.
	Temporary bool

	cause error // never a *textproto.Error; safe to print
}

// Error implements error without any recipient or message content.
func (e *SMTPError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	s := fmt.Sprintf("email: smtp %s failed (%s)", e.Stage, kind)
	if e.Code != 0 {
		s += fmt.Sprintf(": reply %d", e.Code)
		if e.Enhanced != "" {
			s += " " + e.Enhanced
		}
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the sanitized underlying cause (a network, TLS or context
// error, or one of this package's sentinels), or nil for SMTP replies.
func (e *SMTPError) Unwrap() error { return e.cause }

// Is makes errors.Is(err, ErrTemporary) / errors.Is(err, ErrPermanent)
// follow the Temporary field.
func (e *SMTPError) Is(target error) bool {
	return (target == ErrTemporary && e.Temporary) || (target == ErrPermanent && !e.Temporary)
}

// invalidError is a configuration or message validation failure. Its reason
// is a fixed description and never quotes the offending value.
type invalidError struct {
	kind   error // ErrInvalidConfig or ErrInvalidMessage
	reason string
}

func (e *invalidError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *invalidError) Unwrap() error { return e.kind }
func (e *invalidError) Is(target error) bool {
	return target == ErrPermanent
}

func invalidConfig(reason string) error {
	return &invalidError{kind: ErrInvalidConfig, reason: reason}
}

func invalidMessage(reason string) error {
	return &invalidError{kind: ErrInvalidMessage, reason: reason}
}

var enhancedRE = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// classify turns an error from the SMTP client into an *SMTPError. A server
// reply wins over a concurrent context expiry because it is definitive.
func classify(ctx context.Context, stage string, err error) *SMTPError {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return &SMTPError{
			Stage:     stage,
			Code:      reply.Code,
			Enhanced:  enhancedRE.FindString(reply.Msg),
			Temporary: reply.Code < 500 || reply.Code > 599, // 4xx, or a reply out of protocol
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &SMTPError{Stage: stage, Temporary: true, cause: ctxErr}
	}
	var perr textproto.ProtocolError
	switch {
	case errors.As(err, &perr):
		err = errMalformedReply
	case errors.Is(err, smtp.ErrUnexpectedServerResponse):
		err = smtp.ErrUnexpectedServerResponse // drop the quoted server text
	case errors.Is(err, smtp.ErrUnencrypted), errors.Is(err, smtp.ErrWrongHostname):
		return &SMTPError{Stage: stage, cause: err}
	}
	return &SMTPError{Stage: stage, Temporary: true, cause: err}
}
