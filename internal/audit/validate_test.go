package audit_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"sotto"
)

func TestAuditEventValidate(t *testing.T) {
	const org = "0190f3c2-0000-7000-8000-000000000001"
	ok := func() *sotto.AuditEvent { return sampleEvent(org, 1) }
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	system := &sotto.AuditEvent{OrgID: sotto.SystemOrgID, ActorRole: sotto.AuditRoleAnonymous,
		Action: sotto.AuditSignInFailed, Outcome: sotto.AuditFailure, SourceIP: "2001:db8::1"}
	if err := system.Validate(); err != nil {
		t.Fatalf("system-org event: %v", err)
	}
	secret := "Jane Doe 1970-01-01" // PHI-looking text must be refused and never echoed
	for name, mut := range map[string]func(e *sotto.AuditEvent){
		"empty org":          func(e *sotto.AuditEvent) { e.OrgID = "" },
		"upper-case org":     func(e *sotto.AuditEvent) { e.OrgID = strings.ToUpper(org) },
		"org not uuid":       func(e *sotto.AuditEvent) { e.OrgID = "acme" },
		"empty action":       func(e *sotto.AuditEvent) { e.Action = "" },
		"action one word":    func(e *sotto.AuditEvent) { e.Action = "view" },
		"action upper case":  func(e *sotto.AuditEvent) { e.Action = "Patient.View" },
		"action too long":    func(e *sotto.AuditEvent) { e.Action = "patient." + strings.Repeat("v", 40) },
		"action free text":   func(e *sotto.AuditEvent) { e.Action = secret },
		"empty role":         func(e *sotto.AuditEvent) { e.ActorRole = "" },
		"role with space":    func(e *sotto.AuditEvent) { e.ActorRole = "front desk" },
		"bad target type":    func(e *sotto.AuditEvent) { e.TargetType = "Patient!" },
		"target id no type":  func(e *sotto.AuditEvent) { e.TargetType = "" },
		"empty outcome":      func(e *sotto.AuditEvent) { e.Outcome = "" },
		"unknown outcome":    func(e *sotto.AuditEvent) { e.Outcome = "ok" },
		"actor id text":      func(e *sotto.AuditEvent) { e.ActorID = secret },
		"patient id text":    func(e *sotto.AuditEvent) { e.PatientID = secret },
		"target id too long": func(e *sotto.AuditEvent) { e.TargetID = strings.Repeat("a", 129) },
		"request id control": func(e *sotto.AuditEvent) { e.RequestID = "a\nb" },
		"source ip not ip":   func(e *sotto.AuditEvent) { e.SourceIP = "example.com" },
		"source ip port":     func(e *sotto.AuditEvent) { e.SourceIP = "192.0.2.1:443" },
	} {
		e := ok()
		mut(e)
		err := e.Validate()
		if sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Errorf("%s: err = %v, want invalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), "Jane") {
			t.Errorf("%s: error repeats the value: %v", name, err)
		}
	}
}

func TestAuditEventValidateCleansUserAgent(t *testing.T) {
	e := sampleEvent("0190f3c2-0000-7000-8000-000000000001", 1)
	e.UserAgent = "bot\r\n\x00\xff" + strings.Repeat("é", 400) // 800+ bytes of 2-byte runes
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(e.UserAgent) > sotto.MaxAuditUserAgentLen || len(e.UserAgent) < sotto.MaxAuditUserAgentLen-3 {
		t.Fatalf("user agent length %d, want just under %d", len(e.UserAgent), sotto.MaxAuditUserAgentLen)
	}
	if !utf8.ValidString(e.UserAgent) || strings.ContainsAny(e.UserAgent, "\r\n\x00") {
		t.Fatalf("user agent not cleaned: %q", e.UserAgent[:20])
	}
	if !strings.HasPrefix(e.UserAgent, "bot\uFFFD\uFFFD\uFFFD\uFFFDé") {
		t.Fatalf("user agent prefix = %q", e.UserAgent[:20])
	}
}
