package server

import (
	"encoding/json"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestComplianceAPI: the compliance officer reads a patient's accounting of
// disclosures (who saw the patient's data), exports it as CSV and FHIR,
// verifies the chain and reviews break-glass grants; none of it holds PHI.
func TestComplianceAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
		w.must("front_desk", jsonReq("POST", "/api/v1/patients/"+w.p1.ID+"/break-glass", map[string]string{"reason": "Test emergency reason"}), 201)
		w.must("front_desk", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)

		res := w.must("compliance", req{method: "GET", path: "/api/v1/audit?patient_id=" + w.p1.ID}, 200)
		var list struct {
			Events []struct {
				ActorID   string `json:"actor_id"`
				Action    string `json:"action"`
				PatientID string `json:"patient_id"`
			} `json:"events"`
		}
		b, _ := json.Marshal(res.body)
		_ = json.Unmarshal(b, &list)
		seen := map[string]bool{}
		for _, e := range list.Events {
			if e.PatientID != w.p1.ID {
				t.Fatalf("entry about another patient in the accounting: %+v", e)
			}
			seen[e.ActorID+" "+e.Action] = true
		}
		for _, want := range []string{w.users["nurse"].ID + " conversation.view", w.users["front_desk"].ID + " access.break_glass",
			w.users["front_desk"].ID + " access.break_glass_use"} {
			if !seen[want] {
				t.Errorf("accounting of disclosures lacks %q: %s", want, res.raw)
			}
		}
		csv := w.must("compliance", req{method: "GET", path: "/api/v1/audit?format=csv&patient_id=" + w.p1.ID}, 200)
		fhir := w.must("compliance", req{method: "GET", path: "/api/v1/audit?format=fhir&action=conversation.view"}, 200)
		if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.raw, "conversation.view") ||
			!strings.Contains(fhir.raw, `"resourceType": "Bundle"`) {
			t.Fatalf("exports: %s / %s", csv.header.Get("Content-Type"), fhir.raw[:min(len(fhir.raw), 200)])
		}
		rep := w.must("compliance", req{method: "GET", path: "/api/v1/audit/verify"}, 200)
		if rep.body["ok"] != true {
			t.Fatalf("verify: %s", rep.raw)
		}
		bg := w.must("compliance", req{method: "GET", path: "/api/v1/break-glass"}, 200)
		if !strings.Contains(bg.raw, "Test emergency reason") || !strings.Contains(bg.raw, w.users["front_desk"].ID) {
			t.Fatalf("break-glass review: %s", bg.raw)
		}
		for _, r := range []result{res, csv, fhir} {
			for _, c := range []string{"Testy", "McTestface", "Test subject canary", "Test body canary"} {
				if strings.Contains(r.raw, c) {
					t.Fatalf("audit output holds PHI %q", c)
				}
			}
		}
		if r := w.do("compliance", req{method: "GET", path: "/api/v1/audit?format=xml"}); r.status != 400 {
			t.Fatalf("bad format: %d", r.status)
		}
	})
}
