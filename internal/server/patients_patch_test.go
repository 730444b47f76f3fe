package server

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPatchPatient: the front desk corrects a phone number and moves the
// patient to another care team; the change is audited; the new care team
// member can now read the patient's record; bad input is a clear 400.
func TestPatchPatient(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	path := "/api/v1/patients/" + w.p1.ID
	before := w.countAudit(w.orgA, sotto.AuditPatientUpdate)
	var got sotto.Patient
	unmarshal(t, w.must("front_desk", jsonReq("PATCH", path, map[string]any{"phone": "+1 (500) 555-0177",
		"care_team_user_ids": []string{w.users["provider"].ID, w.users["nurse"].ID}}), 200), &got)
	if got.Phone != "+15005550177" || got.GivenName != w.p1.GivenName || len(got.CareTeamUserIDs) != 2 {
		t.Fatalf("patched patient = %+v", got)
	}
	stored, err := w.db.Patient(context.Background(), w.orgA, w.p1.ID)
	if err != nil || stored.Phone != "+15005550177" || stored.BirthDate != w.p1.BirthDate {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
	if w.countAudit(w.orgA, sotto.AuditPatientUpdate) != before+1 {
		t.Fatal("the correction was not audited")
	}
	for _, body := range []map[string]any{{"birth_date": "1980-13-40"}, {"phone": "call me"}, {"language": "tlh"},
		{"care_team_user_ids": []string{w.users["patient"].ID}}} {
		w.must("front_desk", jsonReq("PATCH", path, body), 400)
	}
	w.must("other_admin", jsonReq("PATCH", path, map[string]any{"time_zone": "UTC"}), 404)
	w.must("billing", jsonReq("PATCH", path, map[string]any{"time_zone": "UTC"}), 403)
	w.must("front_desk", jsonReq("PATCH", "/api/v1/patients/"+store.NewID(), map[string]any{"time_zone": "UTC"}), 404)
}
