package audit

import (
	"encoding/csv"
	"encoding/hex"
	"io"
	"strconv"

	"sotto"
)

// csvColumns returns the header row: the AuditEvent fields in canonical
// order, then the hash.
func csvColumns() [16]string {
	return [16]string{"org_id", "seq", "id", "at", "actor_id", "actor_role", "action", "target_type",
		"target_id", "patient_id", "outcome", "source_ip", "user_agent", "request_id", "prev_hash", "hash"}
}

// csvTime is the At format in CSV: RFC 3339, UTC, always six fractional
// digits (the stored precision), so that rows sort as text.
const csvTime = "2006-01-02T15:04:05.000000Z07:00"

// CSVWriter writes audit entries as RFC 4180 CSV with a header row. Hashes
// are lowercase hex. A text cell that a spreadsheet would run as a formula
// (one starting with =, +, -, @, tab, carriage return or ') is prefixed
// with a single quote; strip one leading ' to get the stored value back.
// Only user_agent and request_id can start that way.
type CSVWriter struct {
	w      *csv.Writer
	header bool
	rec    [16]string
}

// NewCSVWriter returns a CSVWriter on w. Callers: the export handlers and
// command; call Flush at the end.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes e as one row (after the header, the first time). Errors:
// those of the underlying writer, unwrapped (export is I/O, not domain).
func (c *CSVWriter) Write(e *sotto.AuditEvent) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	r := &c.rec
	r[0], r[1], r[2], r[3] = e.OrgID, strconv.FormatInt(e.Seq, 10), e.ID, e.At.UTC().Format(csvTime)
	r[4], r[5], r[6], r[7] = e.ActorID, e.ActorRole, e.Action, e.TargetType
	r[8], r[9], r[10], r[11] = e.TargetID, e.PatientID, e.Outcome, e.SourceIP
	r[12], r[13] = defuseFormula(e.UserAgent), defuseFormula(e.RequestID)
	r[14], r[15] = hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)
	return c.w.Write(r[:])
}

// Flush writes the header if no row was written, flushes, and reports any
// write error.
func (c *CSVWriter) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *CSVWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	h := csvColumns()
	return c.w.Write(h[:])
}

// WriteCSV writes events to w as CSV (see CSVWriter). For a whole trail,
// range over Events and use a CSVWriter instead of building a slice.
func WriteCSV(w io.Writer, events []*sotto.AuditEvent) error {
	c := NewCSVWriter(w)
	for _, e := range events {
		if err := c.Write(e); err != nil {
			return err
		}
	}
	return c.Flush()
}

// defuseFormula prefixes s with ' when a spreadsheet would evaluate it.
func defuseFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + s
	}
	return s
}
