package main

import (
	"context"
	"fmt"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// demoOrgName marks the demo practice; sotto never seeds beside real data.
const demoOrgName = "Lakeside Clinic (DEMO - fake data)"

// demoPassword is the shared password of every demo account. It is printed
// on purpose: the demo holds only invented people.
const demoPassword = "harbor violet quartz 71"

// demoPortalEmail signs in the demo patient who has a portal account
// (Carla Demo-Nguyen, DEMO-0003).
const demoPortalEmail = "patient@lakeside.example"

// seedDemo creates the fake Lakeside Clinic: two locations, departments,
// one user of each staff role, a dozen invented patients and a few
// conversations, then prints the staff sign-ins. It refuses a
// database that already holds any other organization.
func seedDemo(ctx context.Context, env *environ, a *app, orgs int) error {
	if orgs > 0 {
		var demo bool
		rows, err := a.db.Query(ctx, `SELECT name FROM orgs`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			if name != demoOrgName {
				rows.Close()
				return fmt.Errorf("--demo refuses to seed a database that already holds real data; use an empty --data directory")
			}
			demo = true
		}
		rows.Close()
		if demo {
			fmt.Fprintf(env.stdout, "Demo practice already seeded; sign in as <role>@lakeside.example with password %s.\n", demoPassword)
			return nil
		}
	}
	type staff struct {
		role sotto.Role
		name string
		dept string
	}
	people := []staff{
		{sotto.RoleAdmin, "Avery Admin (demo)", ""},
		{sotto.RoleProvider, "Dr. Parker Provider (demo)", "Cardiology"},
		{sotto.RoleNurse, "Noel Nurse (demo)", "Nursing"},
		{sotto.RoleFrontDesk, "Frankie Frontdesk (demo)", "Front Desk"},
		{sotto.RoleBilling, "Bailey Billing (demo)", "Billing"},
		{sotto.RoleCompliance, "Casey Compliance (demo)", ""},
	}
	type signIn struct{ email, uri string }
	var signIns []signIn
	users := map[sotto.Role]*sotto.User{}
	err := a.db.Write(ctx, func(tx *store.Tx) error {
		signIns = signIns[:0] // a write function may run more than once
		o := &sotto.Org{Name: demoOrgName}
		if err := tx.InsertOrg(o); err != nil {
			return err
		}
		if err := audit.Append(tx, cliEvent(o.ID, sotto.AuditOrgCreate, "org", o.ID)); err != nil {
			return err
		}
		main := &sotto.Location{OrgID: o.ID, Name: "Lakeside Main Street (demo)"}
		north := &sotto.Location{OrgID: o.ID, Name: "Lakeside North (demo)"}
		for _, l := range []*sotto.Location{main, north} {
			if err := tx.InsertLocation(l); err != nil {
				return err
			}
		}
		depts := map[string]*sotto.Department{}
		for _, name := range []string{"Front Desk", "Nursing", "Billing", "Cardiology"} {
			d := &sotto.Department{OrgID: o.ID, LocationID: main.ID, Name: name}
			if name == "Cardiology" {
				d.LocationID = north.ID
			}
			if err := tx.InsertDepartment(d); err != nil {
				return err
			}
			depts[name] = d
		}
		for _, p := range people {
			email := strings.ReplaceAll(string(p.role), "_", "") + "@lakeside.example"
			en, err := auth.Enroll("Lakeside Clinic", p.name, email, demoPassword, true, auth.DefaultParams)
			if err != nil {
				return err
			}
			u := &sotto.User{OrgID: o.ID, Role: p.role, Email: email, Name: p.name}
			if err := tx.InsertUser(u, store.Credentials{PasswordHash: en.PasswordHash, TOTPSecret: en.TOTPSecret}); err != nil {
				return err
			}
			if err := audit.Append(tx, cliEvent(o.ID, sotto.AuditUserCreate, "user", u.ID)); err != nil {
				return err
			}
			if d := depts[p.dept]; d != nil {
				if err := tx.AddDepartmentMember(d.ID, u.ID); err != nil {
					return err
				}
			}
			signIns = append(signIns, signIn{email, en.TOTPURI})
			users[p.role] = u
		}
		// One invented patient has a portal account, so that the demo
		// shows a patient's side and the notifications it receives.
		en, err := auth.Enroll("Lakeside Clinic", "Carla Demo-Nguyen", demoPortalEmail, demoPassword, false, auth.DefaultParams)
		if err != nil {
			return err
		}
		portal := &sotto.User{OrgID: o.ID, Role: sotto.RolePatient, Email: demoPortalEmail, Name: "Carla Demo-Nguyen"}
		if err := tx.InsertUser(portal, store.Credentials{PasswordHash: en.PasswordHash}); err != nil {
			return err
		}
		if err := audit.Append(tx, cliEvent(o.ID, sotto.AuditUserCreate, "user", portal.ID)); err != nil {
			return err
		}
		signIns = append(signIns, signIn{demoPortalEmail, "(patient portal: password only)"})
		return seedDemoPatients(tx, o.ID, depts, users, portal)
	})
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	fmt.Fprintf(env.stdout, "Seeded the demo practice %q with %d invented patients (all people in it are invented).\nDemo sign-ins (password %s; add each TOTP URI to an authenticator app):\n", demoOrgName, len(demoPatients), demoPassword)
	for _, s := range signIns {
		fmt.Fprintf(env.stdout, "  %-28s %s\n", s.email, s.uri)
	}
	return nil
}
