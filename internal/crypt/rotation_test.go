package crypt

import (
	"errors"
	"testing"
)

func TestMasterRotationRewrapRetire(t *testing.T) {
	m := newTestMaster(t)
	kr := NewKeyring(m, 0) // no cache, so every Org call really unwraps
	oldMasterID := m.PrimaryKeyID()

	o, wrapped := testOrg(t, kr, "org-1")
	if id, ok := KeyIDOf(wrapped); !ok || id != oldMasterID {
		t.Fatalf("wrapped org key id = %d, %v; want master key %d", id, ok, oldMasterID)
	}
	ad := AD("staff", "phone", "s-1")
	ct, err := o.Seal([]byte("+15551234567"), ad)
	if err != nil {
		t.Fatal(err)
	}

	if err := m.Rotate(); err != nil {
		t.Fatal(err)
	}
	newMasterID := m.PrimaryKeyID()

	// Wrapped before rotation still unwraps.
	if _, err := kr.Org("org-1", wrapped); err != nil {
		t.Fatalf("Org(old wrap) after master rotate: %v", err)
	}
	rewrapped, err := kr.RewrapOrgKey("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(rewrapped); id != newMasterID {
		t.Errorf("rewrapped key id = %d, want new master %d", id, newMasterID)
	}
	// New org keys are wrapped under the new master key too.
	w2, err := kr.NewOrgKey("org-2")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(w2); id != newMasterID {
		t.Errorf("new org key wrapped under %d, want %d", id, newMasterID)
	}

	if err := m.Retire(oldMasterID); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Org("org-1", wrapped); !errors.Is(err, ErrTampered) {
		t.Errorf("Org(old wrap) after retire err = %v, want ErrTampered", err)
	}
	o2, err := kr.Org("org-1", rewrapped)
	if err != nil {
		t.Fatalf("Org(rewrapped) after retire: %v", err)
	}
	// Same org keys: records sealed before still open.
	if pt, err := o2.Open(ct, ad); err != nil || string(pt) != "+15551234567" {
		t.Errorf("Open after master rotation = %q, %v", pt, err)
	}
}

func TestOrgRotationRewrapRetire(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 0)
	o, wrapped := testOrg(t, kr, "org-1")
	oldID := o.PrimaryKeyID()
	d, dataWrapped := testData(t, kr, o, "pat-1")
	if id, _ := KeyIDOf(dataWrapped); id != oldID {
		t.Fatalf("data key wrapped under %d, want org key %d", id, oldID)
	}
	recAD := AD("patients", "name", "pat-1")
	recCT, err := d.Seal([]byte("Jane Doe"), recAD)
	if err != nil {
		t.Fatal(err)
	}
	staffAD := AD("staff", "email", "s-1")
	staffCT, err := o.Seal([]byte("nurse@clinic.example"), staffAD)
	if err != nil {
		t.Fatal(err)
	}

	rotated, err := kr.RotateOrgKey("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	or, err := kr.Org("org-1", rotated)
	if err != nil {
		t.Fatal(err)
	}
	newID := or.PrimaryKeyID()
	if newID == oldID {
		t.Fatal("RotateOrgKey did not change the primary key")
	}
	checkVersions(t, or.Versions(), map[uint32]KeyStatus{oldID: StatusEnabled, newID: StatusPrimary})
	// The original wrapped bytes are untouched and still usable.
	if o.PrimaryKeyID() != oldID {
		t.Error("rotation mutated the existing OrgKey")
	}

	// Old data key wrap and old records still open under the rotated org key.
	if _, err := kr.Data(or, "pat-1", dataWrapped); err != nil {
		t.Fatalf("Data(old wrap) after org rotate: %v", err)
	}
	rewrapped, err := or.RewrapDataKey("pat-1", dataWrapped)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(rewrapped); id != newID {
		t.Errorf("rewrapped data key id = %d, want %d", id, newID)
	}
	resealed, err := or.Reseal(staffCT, staffAD)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(resealed); id != newID {
		t.Errorf("resealed staff record key id = %d, want %d", id, newID)
	}

	if _, err := kr.RetireOrgKey("org-1", rotated, newID); err == nil {
		t.Error("RetireOrgKey(primary) succeeded, want refusal")
	}
	retired, err := kr.RetireOrgKey("org-1", rotated, oldID)
	if err != nil {
		t.Fatal(err)
	}
	ot, err := kr.Org("org-1", retired)
	if err != nil {
		t.Fatal(err)
	}
	checkVersions(t, ot.Versions(), map[uint32]KeyStatus{oldID: StatusDisabled, newID: StatusPrimary})
	if _, err := kr.Data(ot, "pat-1", dataWrapped); !errors.Is(err, ErrTampered) {
		t.Errorf("Data(old wrap) after retire err = %v, want ErrTampered", err)
	}
	if _, err := ot.Open(staffCT, staffAD); !errors.Is(err, ErrTampered) {
		t.Errorf("Open(old staff record) after retire err = %v, want ErrTampered", err)
	}
	d2, err := kr.Data(ot, "pat-1", rewrapped)
	if err != nil {
		t.Fatalf("Data(rewrapped) after retire: %v", err)
	}
	// The data key itself did not change: patient records need no rewrite.
	if pt, err := d2.Open(recCT, recAD); err != nil || string(pt) != "Jane Doe" {
		t.Errorf("patient record after org rotation = %q, %v", pt, err)
	}
	if pt, err := ot.Open(resealed, staffAD); err != nil || string(pt) != "nurse@clinic.example" {
		t.Errorf("resealed staff record = %q, %v", pt, err)
	}
}
