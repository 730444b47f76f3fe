package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// exportEvents returns a fixed, chained trail touching every mapping.
func exportEvents() []*sotto.AuditEvent {
	const org = "0190f3c2-0000-7000-8000-000000000001"
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	evs := []*sotto.AuditEvent{
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "provider", Action: sotto.AuditSignIn,
			Outcome: sotto.AuditSuccess, SourceIP: "198.51.100.7", UserAgent: "=HYPERLINK(\"x\")", RequestID: "req-1"},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "provider", Action: sotto.AuditPatientView,
			TargetType: "patient", TargetID: "0190f3c2-0000-7000-8000-0000000000b2",
			PatientID: "0190f3c2-0000-7000-8000-0000000000b2", Outcome: sotto.AuditSuccess, SourceIP: "198.51.100.7"},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a2", ActorRole: "front_desk", Action: sotto.AuditPatientSearch,
			TargetType: "patient", Outcome: sotto.AuditSuccess, SourceIP: "2001:db8::5"},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000c3", ActorRole: "patient", Action: sotto.AuditMessageSend,
			TargetType: "message", TargetID: "0190f3c2-0000-7000-8000-0000000000d4",
			PatientID: "0190f3c2-0000-7000-8000-0000000000b2", Outcome: sotto.AuditSuccess, RequestID: "req-4"},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a2", ActorRole: "front_desk", Action: sotto.AuditConversationView,
			TargetType: "conversation", TargetID: "0190f3c2-0000-7000-8000-0000000000e5",
			PatientID: "0190f3c2-0000-7000-8000-0000000000b2", Outcome: sotto.AuditDenied},
		{ActorRole: sotto.AuditRoleAnonymous, Action: sotto.AuditSignInFailed, Outcome: sotto.AuditFailure, SourceIP: "203.0.113.9"},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "admin", Action: sotto.AuditBreakGlass,
			PatientID: "0190f3c2-0000-7000-8000-0000000000b2", Outcome: sotto.AuditSuccess},
		{ActorRole: sotto.AuditRoleSystem, Action: sotto.AuditKeyShred, TargetType: "patient_key",
			TargetID: "0190f3c2-0000-7000-8000-0000000000f6", Outcome: sotto.AuditSuccess},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a9", ActorRole: "compliance", Action: sotto.AuditExport,
			TargetType: "org", TargetID: org, Outcome: sotto.AuditSuccess},
		{ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "provider", Action: sotto.AuditSignOut, Outcome: sotto.AuditSuccess},
	}
	prev := audit.GenesisHash()
	for i, e := range evs {
		e.OrgID, e.Seq, e.At, e.PrevHash = org, int64(i+1), at.Add(time.Duration(i)*time.Second), prev
		e.ID = "0190f3c2-7a1e-7c3d-9d2f-00000000000" + string(rune('0'+i))
		e.Hash = audit.EntryHash(e)
		prev = e.Hash
	}
	return evs
}

func TestWriteCSV(t *testing.T) {
	evs := exportEvents()
	var buf bytes.Buffer
	if err := audit.WriteCSV(&buf, evs); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v", err)
	}
	if len(recs) != len(evs)+1 || strings.Join(recs[0], ",") !=
		"org_id,seq,id,at,actor_id,actor_role,action,target_type,target_id,patient_id,outcome,source_ip,user_agent,request_id,prev_hash,hash" {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	for i, r := range recs[1:] {
		e := evs[i]
		if r[1] != strings.TrimLeft(r[1], "0") || r[6] != e.Action || r[15] != hex.EncodeToString(e.Hash) ||
			r[14] != hex.EncodeToString(e.PrevHash) || r[3] != e.At.Format("2006-01-02T15:04:05.000000Z07:00") {
			t.Fatalf("row %d = %v", i, r)
		}
	}
	if ua := recs[1][12]; ua != `'=HYPERLINK("x")` {
		t.Fatalf("formula not defused: %q", ua)
	}
	// Header only for no events.
	buf.Reset()
	if err := audit.WriteCSV(&buf, nil); err != nil || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("empty export %q, %v", buf.String(), err)
	}
}

func TestWriteFHIRBundleGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := audit.WriteFHIRBundle(&buf, exportEvents(), "Lakeside Clinic"); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "fhir_bundle.golden.json")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("FHIR bundle differs from %s (run with -update if intended):\n%s", golden, buf.String())
	}
}

func TestWriteFHIRBundleShape(t *testing.T) {
	evs := exportEvents()
	var buf bytes.Buffer
	if err := audit.WriteFHIRBundle(&buf, evs, "Lakeside Clinic"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "HYPERLINK") {
		t.Fatal("the user agent leaked into the FHIR export")
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" || len(b.Entry) != len(evs) {
		t.Fatalf("bundle %s/%s with %d entries", b.ResourceType, b.Type, len(b.Entry))
	}
	wantOutcome := map[string]string{sotto.AuditSuccess: "0", sotto.AuditFailure: "4", sotto.AuditDenied: "4"}
	for i, en := range b.Entry {
		r, e := en.Resource, evs[i]
		if r["resourceType"] != "AuditEvent" || r["id"] != e.ID || en.FullURL != "urn:uuid:"+e.ID {
			t.Fatalf("entry %d: %v %v %v", i, r["resourceType"], r["id"], en.FullURL)
		}
		if rec, _ := time.Parse(time.RFC3339Nano, r["recorded"].(string)); !rec.Equal(e.At) {
			t.Errorf("entry %d recorded %v, want %v", i, r["recorded"], e.At)
		}
		if r["outcome"] != wantOutcome[e.Outcome] {
			t.Errorf("entry %d outcome %v for %s", i, r["outcome"], e.Outcome)
		}
		if a := r["action"].(string); !strings.Contains("CRUDE", a) || len(a) != 1 {
			t.Errorf("entry %d action %q", i, a)
		}
		if _, ok := r["type"].(map[string]any)["code"]; !ok {
			t.Errorf("entry %d has no type code", i)
		}
		found := false
		for _, s := range r["subtype"].([]any) {
			s := s.(map[string]any)
			found = found || (s["system"] == "urn:sotto:audit-action" && s["code"] == e.Action)
		}
		if !found {
			t.Errorf("entry %d lacks the sotto action subtype", i)
		}
		agent := r["agent"].([]any)[0].(map[string]any)
		if agent["requestor"] != true {
			t.Errorf("entry %d agent is not the requestor", i)
		}
		if e.PatientID != "" && !strings.Contains(toJSON(r["entity"]), `"Patient/`+e.PatientID+`"`) {
			t.Errorf("entry %d does not reference its patient", i)
		}
	}
	// Spot checks of the BALP-style mapping.
	first := b.Entry[0].Resource
	if tc := first["type"].(map[string]any); tc["code"] != "110114" {
		t.Errorf("sign-in type %v", tc)
	}
	if who := toJSON(b.Entry[1].Resource["agent"]); !strings.Contains(who, `"Practitioner/0190f3c2-0000-7000-8000-0000000000a1"`) ||
		!strings.Contains(who, `"address":"198.51.100.7"`) {
		t.Errorf("provider agent %s", who)
	}
	if who := toJSON(b.Entry[3].Resource["agent"]); !strings.Contains(who, `"Patient/0190f3c2-0000-7000-8000-0000000000c3"`) {
		t.Errorf("patient agent %s", who)
	}
	if who := toJSON(b.Entry[7].Resource["agent"]); !strings.Contains(who, `"Device/sotto"`) {
		t.Errorf("system agent %s", who)
	}
	if tc := b.Entry[2].Resource["type"].(map[string]any); tc["code"] != "110112" || b.Entry[2].Resource["action"] != "E" {
		t.Errorf("search type %v action %v", tc, b.Entry[2].Resource["action"])
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
