package sotto

import (
	"strings"
	"time"
)

// Org is a tenant: one medical practice. Nothing of one Org is ever visible
// to another.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Location is a site of an Org (a clinic building).
type Location struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Department is a queue of staff inside an Org, e.g. Front Desk or Nursing.
type Department struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"org_id"`
	LocationID string    `json:"location_id,omitempty"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// MaxNameLen bounds organization, location and department names.
const MaxNameLen = 200

// ValidateName checks a display name of an organization, location or
// department. It returns a KindInvalid *Error naming field.
func ValidateName(field, name string) error {
	return validateText(field, strings.TrimSpace(name), MaxNameLen, true)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Validate checks o before it is stored.
func (o *Org) Validate() error { return ValidateName("name", o.Name) }

// Validate checks l before it is stored.
func (l *Location) Validate() error { return ValidateName("name", l.Name) }

// Validate checks d before it is stored.
func (d *Department) Validate() error { return ValidateName("name", d.Name) }
