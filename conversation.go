package sotto

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Category is what a conversation is about; the permission matrix grants
// actions per category.
type Category string

// Conversation categories.
const (
	CategoryGeneral     Category = "general"
	CategoryRefill      Category = "refill"
	CategoryAppointment Category = "appointment"
	CategoryBilling     Category = "billing"
	CategoryLabResult   Category = "lab_result"
	CategoryFollowUp    Category = "follow_up"
	CategoryUrgent      Category = "urgent"
	CategoryInternal    Category = "internal"
)

// Categories lists every category in a stable order.
var Categories = []Category{CategoryGeneral, CategoryRefill, CategoryAppointment, CategoryBilling,
	CategoryLabResult, CategoryFollowUp, CategoryUrgent, CategoryInternal}

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Status is where a conversation stands.
type Status string

// Conversation statuses.
const (
	StatusOpen           Status = "open"
	StatusPendingPatient Status = "pending_patient"
	StatusClosed         Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusOpen || s == StatusPendingPatient || s == StatusClosed
}

// Conversation is a thread about one patient (or, for CategoryInternal, a
// staff-only thread with no patient), addressed to a department queue.
// Subject and the request details are PHI and stored encrypted.
type Conversation struct {
	ID             string              `json:"id"`
	OrgID          string              `json:"org_id"`
	PatientID      string              `json:"patient_id,omitempty"`
	DepartmentID   string              `json:"department_id,omitempty"`
	Subject        string              `json:"subject"`
	Category       Category            `json:"category"`
	Status         Status              `json:"status"`
	AssigneeID     string              `json:"assignee_id,omitempty"`
	CreatedBy      string              `json:"created_by"`
	CreatedAt      time.Time           `json:"created_at"`
	LastActivityAt time.Time           `json:"last_activity_at"`
	Refill         *RefillRequest      `json:"refill,omitempty"`
	Appointment    *AppointmentRequest `json:"appointment,omitempty"`
	// IdempotencyKey, when the creator gives one, makes creating the
	// conversation idempotent for that creator (a retry finds the first).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// RefillRequest is the structured part of a refill conversation.
type RefillRequest struct {
	Medication string `json:"medication"`
	Dose       string `json:"dose,omitempty"`
	Pharmacy   string `json:"pharmacy,omitempty"`
}

// AppointmentRequest is the structured part of an appointment conversation:
// the times the patient prefers, free text such as "Tuesday mornings".
type AppointmentRequest struct {
	PreferredTimes []string `json:"preferred_times"`
}

// Conversation limits.
const (
	MaxSubjectLen    = 200
	MaxDetailLen     = 200
	MaxPreferredTime = 5
)

// Validate checks c before it is created: subject, category and the
// structured request matching the category. Errors are KindInvalid and
// never repeat the values.
func (c *Conversation) Validate() error {
	if len(c.IdempotencyKey) > MaxIdempotencyKeyLen || strings.ContainsFunc(c.IdempotencyKey, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return Errorf(KindInvalid, "idempotency_key must be at most %d visible ASCII characters.", MaxIdempotencyKeyLen)
	}
	c.Subject = strings.TrimSpace(c.Subject)
	if err := validateText("subject", c.Subject, MaxSubjectLen, true); err != nil {
		return err
	}
	if !c.Category.Valid() {
		return Errorf(KindInvalid, "category must be one of general, refill, appointment, billing, lab_result, follow_up, urgent, internal.")
	}
	// An internal thread may still be about a patient; the category only
	// hides it from the patient.
	if c.Category != CategoryInternal && c.PatientID == "" {
		return Errorf(KindInvalid, "patient_id is required unless the category is internal.")
	}
	if c.Status == "" {
		c.Status = StatusOpen
	}
	if !c.Status.Valid() {
		return Errorf(KindInvalid, "status must be one of open, pending_patient, closed.")
	}
	if c.Refill != nil {
		if c.Category != CategoryRefill {
			return Errorf(KindInvalid, "refill is only allowed in a refill conversation.")
		}
		if err := validateText("refill.medication", c.Refill.Medication, MaxDetailLen, true); err != nil {
			return err
		}
		if err := validateText("refill.dose", c.Refill.Dose, MaxDetailLen, false); err != nil {
			return err
		}
		if err := validateText("refill.pharmacy", c.Refill.Pharmacy, MaxDetailLen, false); err != nil {
			return err
		}
	}
	if c.Appointment != nil {
		if c.Category != CategoryAppointment {
			return Errorf(KindInvalid, "appointment is only allowed in an appointment conversation.")
		}
		if n := len(c.Appointment.PreferredTimes); n == 0 || n > MaxPreferredTime {
			return Errorf(KindInvalid, "appointment.preferred_times must list 1 to %d times.", MaxPreferredTime)
		}
		for _, t := range c.Appointment.PreferredTimes {
			if err := validateText("appointment.preferred_times", t, MaxDetailLen, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// PolicySubject describes c for Decide; the caller adds the patient's care team.
func (c *Conversation) PolicySubject() Subject {
	return Subject{OrgID: c.OrgID, PatientID: c.PatientID, DepartmentID: c.DepartmentID, Category: c.Category,
		AssigneeID: c.AssigneeID, CreatedBy: c.CreatedBy}
}

// IsInternal reports whether c is a staff-only thread.
func (c *Conversation) IsInternal() bool { return c.Category == CategoryInternal }

// validateText checks a short free-text field: valid UTF-8, no control
// characters, at most max characters.
func validateText(field, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return Errorf(KindInvalid, "%s is required.", field)
	case !utf8.ValidString(s):
		return Errorf(KindInvalid, "%s must be valid UTF-8 text.", field)
	case utf8.RuneCountInString(s) > max:
		return Errorf(KindInvalid, "%s must be at most %d characters.", field, max)
	case strings.ContainsFunc(s, isControl):
		return Errorf(KindInvalid, "%s must not contain control characters.", field)
	}
	return nil
}
