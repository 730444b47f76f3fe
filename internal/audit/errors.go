package audit

import (
	"fmt"
	"time"

	"sotto"
)

// internal wraps a database or I/O failure as a KindInternal *sotto.Error.
// The cause is for logs; it never holds event contents.
func internal(op, what string, err error) error {
	return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: fmt.Errorf("%s: %w", what, err)}
}

// invalid returns a KindInvalid *sotto.Error with a client-safe message.
func invalid(op, msg string) error {
	return &sotto.Error{Kind: sotto.KindInvalid, Op: op, Msg: msg}
}

// validOrgID reports whether s has the shape of an org id (a lowercase
// UUID, SystemOrgID included).
func validOrgID(s string) bool {
	e := sotto.AuditEvent{OrgID: s, Action: "x.y", ActorRole: "x", Outcome: sotto.AuditSuccess}
	return e.Validate() == nil
}

// fromMicros converts stored Unix microseconds to a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
