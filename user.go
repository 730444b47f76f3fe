package sotto

import (
	"net/mail"
	"strings"
	"time"
)

// Role is what a user is within an Org. Staff have exactly one staff role;
// patients and proxies sign in to the patient portal.
type Role string

// Roles.
const (
	RoleAdmin      Role = "admin"
	RoleProvider   Role = "provider"
	RoleNurse      Role = "nurse"
	RoleFrontDesk  Role = "front_desk"
	RoleBilling    Role = "billing"
	RoleCompliance Role = "compliance"
	RolePatient    Role = "patient"
	RoleProxy      Role = "proxy"
)

// StaffRoles lists the staff roles in a stable order.
var StaffRoles = []Role{RoleAdmin, RoleProvider, RoleNurse, RoleFrontDesk, RoleBilling, RoleCompliance}

// IsStaff reports whether r is a staff role.
func (r Role) IsStaff() bool {
	for _, s := range StaffRoles {
		if r == s {
			return true
		}
	}
	return false
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.IsStaff() || r == RolePatient || r == RoleProxy }

// User is a person who can sign in: a staff member, a patient or a proxy.
// Name and Email are personal data: the store keeps them encrypted, and
// they never appear in logs or errors.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Role      Role      `json:"role"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxEmailLen bounds e-mail addresses (RFC 5321 path limit).
const MaxEmailLen = 254

// NormalizeEmail lower-cases and trims an e-mail address for lookup.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks that s is a plain address (no display name). The
// returned error never repeats the address.
func ValidateEmail(s string) error {
	if s == "" {
		return Errorf(KindInvalid, "email is required.")
	}
	if len(s) > MaxEmailLen {
		return Errorf(KindInvalid, "email must be at most %d characters.", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return Errorf(KindInvalid, "email is not a valid address.")
	}
	return nil
}

// Validate checks u before it is stored; Email must already be normalized.
func (u *User) Validate() error {
	if !u.Role.Valid() {
		return Errorf(KindInvalid, "role must be one of admin, provider, nurse, front_desk, billing, compliance, patient, proxy.")
	}
	if err := ValidateName("name", u.Name); err != nil {
		return err
	}
	return ValidateEmail(u.Email)
}
