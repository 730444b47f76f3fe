package crypt

import (
	"path/filepath"
	"testing"
)

// newTestMaster opens a fresh FileMaster in a temporary directory.
func newTestMaster(tb testing.TB) *FileMaster {
	tb.Helper()
	m, err := OpenMasterFile(filepath.Join(tb.TempDir(), "master.json"))
	if err != nil {
		tb.Fatalf("OpenMasterFile: %v", err)
	}
	return m
}

// testOrg creates and unwraps an org key on kr.
func testOrg(tb testing.TB, kr *Keyring, orgID string) (*OrgKey, []byte) {
	tb.Helper()
	wrapped, err := kr.NewOrgKey(orgID)
	if err != nil {
		tb.Fatalf("NewOrgKey(%q): %v", orgID, err)
	}
	o, err := kr.Org(orgID, wrapped)
	if err != nil {
		tb.Fatalf("Org(%q): %v", orgID, err)
	}
	return o, wrapped
}

// testData creates and unwraps a patient data key under o.
func testData(tb testing.TB, kr *Keyring, o *OrgKey, patientID string) (*DataKey, []byte) {
	tb.Helper()
	wrapped, err := o.NewDataKey(patientID)
	if err != nil {
		tb.Fatalf("NewDataKey(%q): %v", patientID, err)
	}
	d, err := kr.Data(o, patientID, wrapped)
	if err != nil {
		tb.Fatalf("Data(%q): %v", patientID, err)
	}
	return d, wrapped
}

// flip returns a copy of b with byte i XORed with 0x01.
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}
