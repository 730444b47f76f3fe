package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

const adminUsage = `Usage: sotto admin <subcommand> [flags]

Subcommands (output is JSON on stdout; messages go to stderr):
  create-org         --name NAME
  create-user        --org ORG_ID --role ROLE --email EMAIL --name NAME [--password-stdin]
  create-department  --org ORG_ID --name NAME [--location LOCATION_ID]
  add-member         --department DEPT_ID --user USER_ID
  shred-patient      --org ORG_ID --patient PATIENT_ID --confirm PATIENT_ID
                     destroy the patient's data key: every record sealed under it (demographics,
                     messages, attachments), in the database and in every backup, becomes
                     unreadable for good. For retention expiry or a verified erasure request,
                     where law allows. Audited; cannot be undone.

Every subcommand also takes the data settings of "sotto serve" (--data,
--database, --master-key, ...) and is safe to run while the server runs.
`

// admin runs the administrative subcommands.
func admin(ctx context.Context, env *environ, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.stderr, adminUsage)
		if len(args) == 0 {
			return usageError{"admin needs a subcommand"}
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	var name, org, role, email, dept, user, location, patient, confirm string
	var pwStdin bool
	var summary string
	var register func(fs *flag.FlagSet)
	switch sub {
	case "create-org":
		summary = "Create an organization (a practice)."
		register = func(fs *flag.FlagSet) { fs.StringVar(&name, "name", "", "organization name (required)") }
	case "create-user":
		summary = "Create a user. Staff set up their authenticator at first sign-in; a password is generated unless --password-stdin."
		register = func(fs *flag.FlagSet) {
			fs.StringVar(&org, "org", "", "organization id (required)")
			fs.StringVar(&role, "role", "", "role: admin, provider, nurse, front_desk, billing, compliance (required)")
			fs.StringVar(&email, "email", "", "sign-in e-mail address (required)")
			fs.StringVar(&name, "name", "", "full name (required)")
			fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		}
	case "create-department":
		summary = "Create a department (a queue of staff)."
		register = func(fs *flag.FlagSet) {
			fs.StringVar(&org, "org", "", "organization id (required)")
			fs.StringVar(&name, "name", "", "department name (required)")
			fs.StringVar(&location, "location", "", "location id (optional)")
		}
	case "add-member":
		summary = "Add a user to a department."
		register = func(fs *flag.FlagSet) {
			fs.StringVar(&dept, "department", "", "department id (required)")
			fs.StringVar(&user, "user", "", "user id (required)")
		}
	case "shred-patient":
		summary = "Crypto-shred a patient: destroy their data key. Irreversible."
		register = func(fs *flag.FlagSet) {
			fs.StringVar(&org, "org", "", "organization id (required)")
			fs.StringVar(&patient, "patient", "", "patient id (required)")
			fs.StringVar(&confirm, "confirm", "", "the patient id again, to confirm (required)")
		}
	default:
		fmt.Fprint(env.stderr, adminUsage)
		return usageError{fmt.Sprintf("unknown admin subcommand %q", sub)}
	}
	a, err := env.openData(ctx, "admin "+sub, summary, rest, true, register)
	if err != nil {
		return err
	}
	defer a.db.Close()

	var out any
	switch sub {
	case "create-org":
		o := &sotto.Org{Name: trimmed(name)}
		err = a.db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOrg(o); err != nil {
				return err
			}
			return audit.Append(tx, cliEvent(o.ID, sotto.AuditOrgCreate, "org", o.ID))
		})
		out = map[string]string{"id": o.ID}
	case "create-user":
		out, err = createUser(ctx, env, a, org, role, email, name, pwStdin)
	case "create-department":
		dp := &sotto.Department{OrgID: org, LocationID: location, Name: trimmed(name)}
		if _, err = a.db.Org(ctx, org); err == nil {
			err = a.db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.InsertDepartment(dp); err != nil {
					return err
				}
				return audit.Append(tx, cliEvent(org, sotto.AuditDepartmentCreate, "department", dp.ID))
			})
		}
		out = map[string]string{"id": dp.ID}
	case "add-member":
		var d *sotto.Department
		if d, err = a.db.Department(ctx, dept); err == nil {
			err = a.db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.AddDepartmentMember(dept, user); err != nil {
					return err
				}
				return audit.Append(tx, cliEvent(d.OrgID, sotto.AuditDepartmentMember, "user", user))
			})
		}
		out = map[string]string{"department_id": dept, "user_id": user}
	case "shred-patient":
		if patient == "" || confirm != patient {
			return usageError{"shred-patient needs --patient ID and --confirm with the same id"}
		}
		err = a.db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ShredPatient(org, patient); err != nil {
				return err
			}
			ev := cliEvent(org, sotto.AuditKeyShred, "patient", patient)
			ev.PatientID = patient
			return audit.Append(tx, ev)
		})
		out = map[string]string{"patient_id": patient, "shredded": "true"}
	}
	if err != nil {
		return cliError(err)
	}
	return json.NewEncoder(env.stdout).Encode(out)
}

func createUser(ctx context.Context, env *environ, a *app, orgID, role, email, name string, pwStdin bool) (any, error) {
	o, err := a.db.Org(ctx, orgID)
	if err != nil {
		return nil, err
	}
	r := sotto.Role(role)
	if !r.IsStaff() {
		return nil, sotto.Errorf(sotto.KindInvalid, "--role must be one of admin, provider, nurse, front_desk, billing, compliance (patients are invited by staff).")
	}
	password := ""
	if pwStdin {
		b, err := io.ReadAll(io.LimitReader(env.stdin, 4096))
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password = strings.TrimRight(password, "\r")
		if password == "" {
			return nil, sotto.Errorf(sotto.KindInvalid, "--password-stdin: standard input held no password.")
		}
	}
	u := &sotto.User{OrgID: o.ID, Role: r, Email: email, Name: trimmed(name)}
	u.Email = sotto.NormalizeEmail(u.Email)
	if err := u.Validate(); err != nil {
		return nil, err
	}
	// No TOTP secret: the user sets up their own authenticator at first
	// sign-in, so no one else ever sees their second factor.
	en, err := auth.Enroll(o.Name, u.Name, u.Email, password, false, auth.DefaultParams)
	if err != nil {
		return nil, err
	}
	err = a.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertUser(u, store.Credentials{PasswordHash: en.PasswordHash, TOTPSecret: en.TOTPSecret}); err != nil {
			return err
		}
		return audit.Append(tx, cliEvent(o.ID, sotto.AuditUserCreate, "user", u.ID))
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{"id": u.ID, "mfa": "enroll_at_first_sign_in"}
	if en.Password != "" {
		out["password"] = en.Password
	}
	return out, nil
}

// cliEvent is the audit record of an admin command: the actor is the
// operator at the server's console.
func cliEvent(orgID, action, targetType, targetID string) *sotto.AuditEvent {
	return &sotto.AuditEvent{OrgID: orgID, ActorRole: sotto.AuditRoleSystem, ActorID: "cli", Action: action,
		TargetType: targetType, TargetID: targetID, Outcome: sotto.AuditSuccess}
}

// cliError turns a domain error into a one-line message for the terminal:
// the client-safe message, or the full chain for internal errors (which
// carry no PHI).
func cliError(err error) error {
	if k := sotto.ErrorKind(err); k != sotto.KindInternal && k != "" {
		return fmt.Errorf("%s: %s", sotto.ErrorCode(err), sotto.ErrorMessage(err))
	}
	return err
}
