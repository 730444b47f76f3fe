package auth

import "time"

// Reasons a session expires, as returned by SessionPolicy.Expired.
const (
	ReasonIdle     = "idle"
	ReasonAbsolute = "absolute"
)

// SessionPolicy says how long a session lives: Idle after the last
// request, and Absolute after sign-in whatever the activity. It is a pure
// value; the store keeps createdAt and lastSeen and the HTTP layer asks
// the policy. Both durations must be positive: a zero limit expires a
// session at once, which fails closed.
type SessionPolicy struct {
	Idle     time.Duration
	Absolute time.Duration
}

// StaffDefault is the policy for staff sessions: 15 minutes idle (HIPAA
// automatic logoff for shared clinical workstations), 12 hours absolute
// (one long shift). Treat as read-only.
var StaffDefault = SessionPolicy{Idle: 15 * time.Minute, Absolute: 12 * time.Hour}

// PatientDefault is the policy for patient and proxy sessions: 30 minutes
// idle, 12 hours absolute. Treat as read-only.
var PatientDefault = SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}

// ExpiresAt returns when a session created at createdAt and last seen at
// lastSeen expires under p: the earlier of createdAt+Absolute and
// lastSeen+Idle. A lastSeen before createdAt (e.g. zero) counts as
// createdAt. Session middleware calls it to set cookie lifetimes and
// store expiry columns; it cannot fail.
func (p SessionPolicy) ExpiresAt(createdAt, lastSeen time.Time) time.Time {
	at, _ := p.deadline(createdAt, lastSeen)
	return at
}

// Expired reports whether the session has expired at now, and why:
// reason is ReasonIdle or ReasonAbsolute when expired, "" otherwise. A
// session is expired from the instant ExpiresAt onwards (the boundary
// itself is expired), and reason names the limit ExpiresAt came from;
// when both fall at the same instant it is ReasonAbsolute. Session
// middleware calls it on every request, before updating lastSeen; it
// cannot fail.
func (p SessionPolicy) Expired(createdAt, lastSeen, now time.Time) (expired bool, reason string) {
	at, reason := p.deadline(createdAt, lastSeen)
	if now.Before(at) {
		return false, ""
	}
	return true, reason
}

// deadline returns the expiry instant and the limit that set it.
func (p SessionPolicy) deadline(createdAt, lastSeen time.Time) (time.Time, string) {
	if lastSeen.Before(createdAt) {
		lastSeen = createdAt
	}
	absolute := createdAt.Add(p.Absolute)
	idle := lastSeen.Add(p.Idle)
	if idle.Before(absolute) {
		return idle, ReasonIdle
	}
	return absolute, ReasonAbsolute
}
