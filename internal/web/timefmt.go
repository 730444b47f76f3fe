package web

import (
	"strconv"
	"time"
)

// Ago formats t relative to the page's moment, in words of the viewer's
// language: "just now", "12 min ago", "3 h ago", "yesterday", "4 days
// ago", and beyond a week the date. Future times (clock skew) read "just
// now".
func (l *Locale) Ago(t time.Time) string {
	d := l.Now.Sub(t)
	switch {
	case d < time.Minute:
		return l.T("time.now")
	case d < time.Hour:
		return l.T("time.min_ago", int(d/time.Minute))
	case d < 24*time.Hour && l.dayDiff(t) == 0:
		return l.T("time.h_ago", int(d/time.Hour))
	}
	switch n := l.dayDiff(t); {
	case n <= 1:
		return l.T("time.yesterday")
	case n < 7:
		return l.T("time.days_ago", n)
	}
	return l.Date(t)
}

// dayDiff counts calendar days from t to the page's moment in the
// viewer's zone.
func (l *Locale) dayDiff(t time.Time) int {
	a, b := t.In(l.Zone), l.Now.In(l.Zone)
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

// Date formats t's calendar day in the viewer's zone: "Mon 2 Mar 2026".
func (l *Locale) Date(t time.Time) string {
	t = t.In(l.Zone)
	return l.T("time.date", l.T("wd."+strconv.Itoa(int(t.Weekday()))), t.Day(), l.T("mon."+strconv.Itoa(int(t.Month()))), t.Year())
}

// Exact formats t in full in the viewer's zone, for title attributes:
// "Mon 2 Mar 2026, 09:05 CST".
func (l *Locale) Exact(t time.Time) string {
	z := t.In(l.Zone)
	return l.T("time.exact", l.Date(t), z.Format("15:04"), z.Format("MST"))
}

// Clock formats t's time of day in the viewer's zone: "09:05".
func (l *Locale) Clock(t time.Time) string { return t.In(l.Zone).Format("15:04") }

// Day names t's calendar day for a day separator: "Today", "Yesterday"
// or the date.
func (l *Locale) Day(t time.Time) string {
	switch l.dayDiff(t) {
	case 0:
		return l.T("time.today")
	case 1:
		return l.T("time.yesterday_cap")
	}
	return l.Date(t)
}

// SameDay reports whether a and b fall on the same calendar day in the
// viewer's zone.
func (l *Locale) SameDay(a, b time.Time) bool {
	a, b = a.In(l.Zone), b.In(l.Zone)
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// ISO formats t for a <time datetime> attribute.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }
