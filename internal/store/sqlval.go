package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"sotto"
)

// NewID returns a new UUIDv7: unique and ordered by creation time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s is a canonical UUID string, so that malformed
// ids from outside are rejected before they reach a query.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// micros converts t to stored form: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts stored microseconds back to a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// notFound maps sql.ErrNoRows to a KindNotFound error with msg.
func notFound(err error, op, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: msg, Err: err}
	}
	return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
}

// isUniqueViolation reports whether err is a unique-constraint failure in
// either dialect.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// isForeignKeyViolation reports whether err is a foreign-key failure in
// either dialect.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "FOREIGN KEY constraint failed") || strings.Contains(s, "SQLSTATE 23503")
}
