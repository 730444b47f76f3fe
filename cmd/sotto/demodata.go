package main

import (
	"fmt"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// demoPatient is an invented patient of the demo practice.
type demoPatient struct {
	given, family, birth string
	sex                  sotto.Sex
	lang, tz             string
	dept                 string // department of the patient's care team
}

// demoPatients are a dozen invented people ("Demo" in every family name).
var demoPatients = []demoPatient{
	{"Alma", "Demo-Rivera", "1958-03-14", sotto.SexFemale, "es", "America/Chicago", "Cardiology"},
	{"Ben", "Demo-Okafor", "1984-11-02", sotto.SexMale, "en", "America/Chicago", "Nursing"},
	{"Carla", "Demo-Nguyen", "1991-06-21", sotto.SexFemale, "en", "America/New_York", "Nursing"},
	{"Dmitri", "Demo-Ivanov", "1947-01-30", sotto.SexMale, "en", "America/Chicago", "Cardiology"},
	{"Esperanza", "Demo-Peña", "2015-09-09", sotto.SexFemale, "es", "America/Denver", "Nursing"},
	{"Farah", "Demo-Haddad", "1979-12-12", sotto.SexFemale, "en", "America/Chicago", "Nursing"},
	{"Gus", "Demo-Lindqvist", "1966-04-04", sotto.SexMale, "en", "America/Chicago", "Cardiology"},
	{"Hana", "Demo-Sato", "2001-08-17", sotto.SexFemale, "en", "America/Los_Angeles", "Nursing"},
	{"Ike", "Demo-Brennan", "1939-02-28", sotto.SexMale, "en", "America/Chicago", "Cardiology"},
	{"Jules", "Demo-Moreau", "1995-05-05", sotto.SexOther, "en", "America/Chicago", "Nursing"},
	{"Kofi", "Demo-Mensah", "1973-07-19", sotto.SexMale, "en", "America/New_York", "Nursing"},
	{"Lucía", "Demo-Gómez", "1988-10-10", sotto.SexFemale, "es", "America/Chicago", "Nursing"},
}

// demoPortalPatient is the index of the demo patient with a portal account.
const demoPortalPatient = 2

// demoThread is an invented conversation: who wrote what, in order.
type demoThread struct {
	patient  int
	category sotto.Category
	subject  string
	dept     string
	refill   *sotto.RefillRequest
	lines    []string // alternating: staff member, then the text (prefix "!" for an internal note)
}

var demoThreads = []demoThread{
	{0, sotto.CategoryRefill, "Refill request (demo)", "Cardiology", &sotto.RefillRequest{Medication: "Demo-statin", Dose: "20 mg", Pharmacy: "Demo Pharmacy"},
		[]string{"provider", "Refill sent to Demo Pharmacy. This is invented demo text.", "nurse", "!Demo note: remind about the lab draw next visit."}},
	{1, sotto.CategoryAppointment, "Reschedule my visit (demo)", "Front Desk", nil,
		[]string{"front_desk", "We can offer Tuesday at 10:00 or Thursday at 14:30 (demo)."}},
	{2, sotto.CategoryGeneral, "Question after my visit (demo)", "Nursing", nil,
		[]string{"nurse", "Thanks for your message. Keep the bandage dry for two days (demo text)."}},
	{3, sotto.CategoryLabResult, "Your lab results (demo)", "Cardiology", nil,
		[]string{"provider", "Your invented demo results are in the normal range."}},
	{5, sotto.CategoryBilling, "Question about a bill (demo)", "Billing", nil,
		[]string{"billing", "We have corrected the demo invoice. Nothing is owed."}},
}

// seedDemoPatients adds the demo patients (with care teams) and a few
// conversations to the demo practice inside the seeding transaction.
// portal is the patient user of DEMO-0003 (index demoPortalPatient).
func seedDemoPatients(tx *store.Tx, orgID string, depts map[string]*sotto.Department, users map[sotto.Role]*sotto.User, portal *sotto.User) error {
	var ids []string
	for i, d := range demoPatients {
		p := &sotto.Patient{OrgID: orgID, GivenName: d.given, FamilyName: d.family, BirthDate: d.birth, Sex: d.sex,
			MRN: fmt.Sprintf("DEMO-%04d", i+1), Phone: fmt.Sprintf("+1555555%04d", 100+i), Email: fmt.Sprintf("patient%02d@demo.lakeside.example", i+1),
			Language: d.lang, TimeZone: d.tz, DepartmentIDs: []string{depts[d.dept].ID}}
		if d.dept == "Cardiology" {
			p.CareTeamUserIDs = []string{users[sotto.RoleProvider].ID}
		}
		if i == demoPortalPatient {
			p.UserID = portal.ID
		}
		if err := tx.InsertPatient(p); err != nil {
			return err
		}
		if err := audit.Append(tx, cliEvent(orgID, sotto.AuditPatientCreate, "patient", p.ID)); err != nil {
			return err
		}
		ids = append(ids, p.ID)
	}
	for i, th := range demoThreads {
		c := &sotto.Conversation{OrgID: orgID, PatientID: ids[th.patient], DepartmentID: depts[th.dept].ID, Subject: th.subject,
			Category: th.category, CreatedBy: users[sotto.Role(th.lines[0])].ID, Refill: th.refill}
		if _, err := tx.InsertConversation(c); err != nil {
			return err
		}
		for j := 0; j+1 < len(th.lines); j += 2 {
			u := users[sotto.Role(th.lines[j])]
			body, internal := th.lines[j+1], false
			if body[0] == '!' {
				body, internal = body[1:], true
			}
			m := &sotto.Message{Body: body, Internal: internal, SenderID: u.ID, SenderRole: u.Role, IdempotencyKey: fmt.Sprintf("demo-%d-%d", i, j)}
			if _, _, err := tx.InsertMessage(c, m, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
