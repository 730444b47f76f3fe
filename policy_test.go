package sotto

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	p := DefaultPermissions()
	const org, other = "org-a", "org-b"
	conv := Subject{OrgID: org, PatientID: "pat-1", DepartmentID: "dept-nursing", Category: CategoryGeneral,
		CareTeam: []string{"u-provider"}, PatientDepartments: []string{"dept-cardio"}}
	nurse := Actor{UserID: "u-nurse", OrgID: org, Role: RoleNurse, DepartmentIDs: []string{"dept-nursing"}}
	cases := []struct {
		name       string
		a          Actor
		s          Subject
		act        Action
		allow      bool
		breakGlass bool
		code       string
	}{
		{"nurse in the queue's department", nurse, conv, ActionRead, true, false, ""},
		{"another org is not found", Actor{UserID: "u-x", OrgID: other, Role: RoleAdmin, DepartmentIDs: []string{"dept-nursing"}}, conv, ActionRead, false, false, "not_found"},
		{"care team provider", Actor{UserID: "u-provider", OrgID: org, Role: RoleProvider}, conv, ActionReply, true, false, ""},
		{"patient's department member", Actor{UserID: "u-c", OrgID: org, Role: RoleNurse, DepartmentIDs: []string{"dept-cardio"}}, conv, ActionRead, true, false, ""},
		{"assignee", Actor{UserID: "u-a", OrgID: org, Role: RoleNurse}, withAssignee(conv, "u-a"), ActionClose, true, false, ""},
		{"out of scope nurse", Actor{UserID: "u-o", OrgID: org, Role: RoleNurse}, conv, ActionRead, false, false, "out_of_scope"},
		{"break-glass grant", Actor{UserID: "u-o", OrgID: org, Role: RoleNurse, BreakGlass: []string{"pat-1"}}, conv, ActionRead, true, true, ""},
		{"break-glass does not lift the role matrix", Actor{UserID: "u-b", OrgID: org, Role: RoleBilling, BreakGlass: []string{"pat-1"}}, conv, ActionRead, false, false, "forbidden"},
		{"front desk cannot read lab results", Actor{UserID: "u-f", OrgID: org, Role: RoleFrontDesk, DepartmentIDs: []string{"dept-nursing"}}, withCategory(conv, CategoryLabResult), ActionRead, false, false, "forbidden"},
		{"front desk handles appointments", Actor{UserID: "u-f", OrgID: org, Role: RoleFrontDesk, DepartmentIDs: []string{"dept-nursing"}}, withCategory(conv, CategoryAppointment), ActionAssign, true, false, ""},
		{"billing sees billing", Actor{UserID: "u-b", OrgID: org, Role: RoleBilling, DepartmentIDs: []string{"dept-nursing"}}, withCategory(conv, CategoryBilling), ActionReply, true, false, ""},
		{"compliance reads no messages", Actor{UserID: "u-c", OrgID: org, Role: RoleCompliance, DepartmentIDs: []string{"dept-nursing"}}, conv, ActionRead, false, false, "forbidden"},
		{"nurse cannot export", nurse, conv, ActionExport, false, false, "forbidden"},
		{"nurse shares lab results", nurse, withCategory(conv, CategoryLabResult), ActionShareLabResult, true, false, ""},
		{"share_lab_result only on lab results", nurse, conv, ActionShareLabResult, false, false, "forbidden"},
		{"patient reads own", Actor{UserID: "u-p", OrgID: org, Role: RolePatient, PatientIDs: []string{"pat-1"}}, conv, ActionRead, true, false, ""},
		{"patient cannot close", Actor{UserID: "u-p", OrgID: org, Role: RolePatient, PatientIDs: []string{"pat-1"}}, conv, ActionClose, false, false, "forbidden"},
		{"patient never sees internal", Actor{UserID: "u-p", OrgID: org, Role: RolePatient, PatientIDs: []string{"pat-1"}}, withCategory(conv, CategoryInternal), ActionRead, false, false, "not_found"},
		{"another patient is not found", Actor{UserID: "u-q", OrgID: org, Role: RolePatient, PatientIDs: []string{"pat-2"}}, conv, ActionRead, false, false, "not_found"},
		{"proxy acts for the patient", Actor{UserID: "u-x", OrgID: org, Role: RoleProxy, PatientIDs: []string{"pat-1"}}, conv, ActionReply, true, false, ""},
		{"internal thread reaches its creator", Actor{UserID: "u-o", OrgID: org, Role: RoleNurse}, Subject{OrgID: org, Category: CategoryInternal, CreatedBy: "u-o"}, ActionRead, true, false, ""},
		{"internal thread is closed to others", Actor{UserID: "u-z", OrgID: org, Role: RoleNurse}, Subject{OrgID: org, Category: CategoryInternal, CreatedBy: "u-o"}, ActionRead, false, false, "out_of_scope"},
		{"unknown role", Actor{UserID: "u-z", OrgID: org, Role: "janitor"}, conv, ActionRead, false, false, "not_found"},
	}
	for _, c := range cases {
		d := Decide(p, c.a, c.s, c.act)
		if d.Allow != c.allow || d.BreakGlass != c.breakGlass {
			t.Errorf("%s: allow=%v breakGlass=%v, want %v %v", c.name, d.Allow, d.BreakGlass, c.allow, c.breakGlass)
			continue
		}
		if !c.allow && (d.Err == nil || d.Err.Code != c.code) {
			t.Errorf("%s: error %v, want code %s", c.name, d.Err, c.code)
		}
		if c.allow && d.Err != nil {
			t.Errorf("%s: allowed with error %v", c.name, d.Err)
		}
	}
}

func withAssignee(s Subject, id string) Subject  { s.AssigneeID = id; return s }
func withCategory(s Subject, c Category) Subject { s.Category = c; return s }

func TestPermissionsValidate(t *testing.T) {
	if err := DefaultPermissions().Validate(); err != nil {
		t.Fatalf("default matrix invalid: %v", err)
	}
	bad := []Permissions{
		{RolePatient: {CategoryGeneral: {ActionRead}}},
		{RoleNurse: {"gossip": {ActionRead}}},
		{RoleNurse: {CategoryGeneral: {"delete"}}},
		{RoleNurse: {CategoryGeneral: {ActionShareLabResult}}},
	}
	for i, p := range bad {
		if err := p.Validate(); ErrorKind(err) != KindInvalid {
			t.Errorf("matrix %d: %v, want invalid", i, err)
		}
	}
}

func TestPatientValidate(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	good := func() *Patient {
		return &Patient{GivenName: " Testy ", FamilyName: "McTestface", BirthDate: "1980-04-02", MRN: " test-0001 ",
			Phone: "+1 (555) 555-0123", Email: " Testy@Example.TEST ", TimeZone: "America/Chicago"}
	}
	p := good()
	p.Normalize()
	if err := p.Validate(now); err != nil {
		t.Fatalf("valid patient: %v", err)
	}
	if p.GivenName != "Testy" || p.MRN != "TEST-0001" || p.Phone != "+15555550123" || p.Email != "testy@example.test" || p.Language != "en" || p.Sex != SexUnknown {
		t.Fatalf("normalized: %+v", p)
	}
	for name, mut := range map[string]func(*Patient){
		"no given name":     func(p *Patient) { p.GivenName = "" },
		"future birth":      func(p *Patient) { p.BirthDate = "2027-01-01" },
		"bad date":          func(p *Patient) { p.BirthDate = "1980-02-30" },
		"ancient":           func(p *Patient) { p.BirthDate = "1850-01-01" },
		"sex":               func(p *Patient) { p.Sex = "x" },
		"no mrn":            func(p *Patient) { p.MRN = "" },
		"mrn spaces":        func(p *Patient) { p.MRN = "TEST 0001" },
		"phone national":    func(p *Patient) { p.Phone = "555-555-0123" },
		"email":             func(p *Patient) { p.Email = "testy at example" },
		"language":          func(p *Patient) { p.Language = "fr" },
		"time zone":         func(p *Patient) { p.TimeZone = "Mars/Olympus" },
		"time zone missing": func(p *Patient) { p.TimeZone = "" },
		"control char":      func(p *Patient) { p.FamilyName = "Mc\x00Test" },
	} {
		p := good()
		p.Normalize()
		mut(p)
		err := p.Validate(now)
		if ErrorKind(err) != KindInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
			continue
		}
		for _, secret := range []string{"McTestface", "555", "example", "Olympus", "TEST-0001"} {
			if strings.Contains(ErrorMessage(err), secret) {
				t.Errorf("%s: message %q repeats input", name, ErrorMessage(err))
			}
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{"+15555550123": "+15555550123", "0044 20 7946 0000": "+442079460000", "+1.555.555.0123": "+15555550123"} {
		if got, err := NormalizePhone(in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5555550123", "+0123456789", "+1234", "+1555555012345678", "+1555abc0123"} {
		if _, err := NormalizePhone(in); err == nil {
			t.Errorf("NormalizePhone(%q) accepted", in)
		}
	}
}

func TestSearchTokensFoldAccents(t *testing.T) {
	got := strings.Join(SearchTokens("María-José Peña O'Brien x"), ",")
	if got != "maria,jose,pena,obrien" {
		t.Fatalf("SearchTokens = %q", got)
	}
}

func TestMessageValidate(t *testing.T) {
	ok := Message{Body: "Test body", IdempotencyKey: "k-1"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", MaxBodyLen+1)
	for name, m := range map[string]Message{
		"empty":        {Body: "  ", IdempotencyKey: "k"},
		"too long":     {Body: long, IdempotencyKey: "k"},
		"invalid utf8": {Body: "\xff\xfe", IdempotencyKey: "k"},
		"nul":          {Body: "a\x00b", IdempotencyKey: "k"},
		"no key":       {Body: "hi"},
		"key spaces":   {Body: "hi", IdempotencyKey: "a b"},
		"attachments":  {Body: "hi", IdempotencyKey: "k", AttachmentIDs: make([]string, MaxAttachments+1)},
	} {
		if err := m.Validate(); ErrorKind(err) != KindInvalid || strings.Contains(ErrorMessage(err), "é") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (&Message{Body: strings.Repeat("é", MaxBodyLen), IdempotencyKey: "k"}).Validate(); err != nil {
		t.Errorf("10,000 characters refused: %v", err)
	}
}

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{"../../etc/passwd": "passwd", `C:\scan "1".pdf`: "scan 1.pdf", "": "attachment", "..": "attachment", "a\x00b.png": "ab.png"} {
		if got := CleanFileName(in); got != want {
			t.Errorf("CleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzMessageValidate(f *testing.F) {
	f.Add("hello", "key-1")
	f.Add("\xff", "k")
	f.Fuzz(func(t *testing.T, body, key string) {
		m := Message{Body: body, IdempotencyKey: key}
		if err := m.Validate(); err != nil {
			if ErrorKind(err) != KindInvalid {
				t.Fatalf("kind %v", ErrorKind(err))
			}
			if len(body) > 8 && strings.Contains(ErrorMessage(err), body) {
				t.Fatalf("message repeats body")
			}
		}
	})
}
