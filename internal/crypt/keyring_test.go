package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 16)
	o, _ := testOrg(t, kr, "org-1")
	d, _ := testData(t, kr, o, "pat-1")
	ciphers := map[string]interface {
		Seal(p, ad []byte) ([]byte, error)
		Open(c, ad []byte) ([]byte, error)
	}{"org": o, "data": d}
	msgs := [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("body "), 1000)}
	for name, c := range ciphers {
		for i, msg := range msgs {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				ad := AD("messages", "body", "row-1")
				ct, err := c.Seal(msg, ad)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg) >= 16 && bytes.Contains(ct, msg) {
					t.Fatal("ciphertext contains plaintext")
				}
				pt, err := c.Open(ct, ad)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pt, msg) {
					t.Errorf("Open = %q, want %q", pt, msg)
				}
			})
		}
	}
}

func TestOpenRejectsMovedAndModified(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 16)
	o, _ := testOrg(t, kr, "org-1")
	other, _ := testOrg(t, kr, "org-2")
	d, _ := testData(t, kr, o, "pat-1")
	d2, _ := testData(t, kr, o, "pat-2")

	plaintext := []byte("Patient reports chest pain")
	ad := AD("messages", "body", "row-1")
	orgCT, err := o.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	dataCT, err := d.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	type opener interface {
		Open(c, ad []byte) ([]byte, error)
	}
	tests := []struct {
		name string
		key  opener
		ct   []byte
		ad   []byte
	}{
		{"org other row", o, orgCT, AD("messages", "body", "row-2")},
		{"org other column", o, orgCT, AD("messages", "subject", "row-1")},
		{"org other table", o, orgCT, AD("notes", "body", "row-1")},
		{"org nil ad", o, orgCT, nil},
		{"org other org key", other, orgCT, ad},
		{"org truncated", o, orgCT[:len(orgCT)-1], ad},
		{"org empty", o, nil, ad},
		{"data other row", d, dataCT, AD("messages", "body", "row-2")},
		{"data other column", d, dataCT, AD("messages", "subject", "row-1")},
		{"data other patient key", d2, dataCT, ad},
		{"data under org key", o, dataCT, ad},
		{"org under data key", d, orgCT, ad},
	}
	for i := range orgCT {
		tests = append(tests, struct {
			name string
			key  opener
			ct   []byte
			ad   []byte
		}{fmt.Sprintf("org flip byte %d", i), o, flip(orgCT, i), ad})
	}
	for i := range dataCT {
		tests = append(tests, struct {
			name string
			key  opener
			ct   []byte
			ad   []byte
		}{fmt.Sprintf("data flip byte %d", i), d, flip(dataCT, i), ad})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := tc.key.Open(tc.ct, tc.ad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("Open = %q, %v; want ErrTampered", pt, err)
			}
			if strings.Contains(err.Error(), string(plaintext)) {
				t.Error("error contains plaintext")
			}
		})
	}
}

func TestWrappedKeysBoundToOwner(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 0) // no cache: every call unwraps
	o, orgWrapped := testOrg(t, kr, "org-1")
	other, _ := testOrg(t, kr, "org-2")
	_, dataWrapped := testData(t, kr, o, "pat-1")

	tests := []struct {
		name string
		call func() error
	}{
		{"org key under other org id", func() error { _, err := kr.Org("org-2", orgWrapped); return err }},
		{"org key flipped", func() error { _, err := kr.Org("org-1", flip(orgWrapped, len(orgWrapped)-1)); return err }},
		{"org key empty", func() error { _, err := kr.Org("org-1", nil); return err }},
		{"data key other patient", func() error { _, err := kr.Data(o, "pat-2", dataWrapped); return err }},
		{"data key other org", func() error { _, err := kr.Data(other, "pat-1", dataWrapped); return err }},
		{"data key flipped", func() error { _, err := kr.Data(o, "pat-1", flip(dataWrapped, 10)); return err }},
		{"rewrap data key other patient", func() error { _, err := o.RewrapDataKey("pat-2", dataWrapped); return err }},
		{"rewrap org key other org", func() error { _, err := kr.RewrapOrgKey("org-2", orgWrapped); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrTampered) {
				t.Errorf("err = %v, want ErrTampered", err)
			}
		})
	}

	// Wrong master: a keyring on a different master cannot unwrap.
	kr2 := NewKeyring(newTestMaster(t), 4)
	if _, err := kr2.Org("org-1", orgWrapped); !errors.Is(err, ErrTampered) {
		t.Errorf("Org with wrong master err = %v, want ErrTampered", err)
	}
}

func TestEmptyIDsRejected(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 4)
	o, w := testOrg(t, kr, "org-1")
	calls := map[string]func() error{
		"NewOrgKey":    func() error { _, err := kr.NewOrgKey(""); return err },
		"Org":          func() error { _, err := kr.Org("", w); return err },
		"NewDataKey":   func() error { _, err := o.NewDataKey(""); return err },
		"Data":         func() error { _, err := kr.Data(o, "", w); return err },
		"Data nil org": func() error { _, err := kr.Data(nil, "p", w); return err },
		"RewrapOrgKey": func() error { _, err := kr.RewrapOrgKey("", w); return err },
		"nil master":   func() error { _, err := NewKeyring(nil, 1).NewOrgKey("o"); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func TestBlindIndex(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 8)
	a, aWrapped := testOrg(t, kr, "org-a")
	b, _ := testOrg(t, kr, "org-b")

	ia := a.BlindIndex("email", "jane@example.com")
	if len(ia) != 32 {
		t.Fatalf("len = %d, want 32", len(ia))
	}
	// Deterministic, also across unwraps (fresh keyring, no cache).
	a2, err := NewKeyring(kr.master, 0).Org("org-a", aWrapped)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ia, a.BlindIndex("email", "jane@example.com")) || !bytes.Equal(ia, a2.BlindIndex("email", "jane@example.com")) {
		t.Error("blind index is not deterministic")
	}
	distinct := map[string][]byte{
		"other org":   b.BlindIndex("email", "jane@example.com"),
		"other kind":  a.BlindIndex("phone", "jane@example.com"),
		"other value": a.BlindIndex("email", "john@example.com"),
		"shifted":     a.BlindIndex("emailjane@", "example.com"),
		"empty kind":  a.BlindIndex("", "jane@example.com"),
	}
	for name, idx := range distinct {
		if bytes.Equal(idx, ia) {
			t.Errorf("%s: blind index collides", name)
		}
	}
	// Org rotation leaves blind indexes unchanged.
	rotated, err := kr.RotateOrgKey("org-a", aWrapped)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := kr.Org("org-a", rotated)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ar.BlindIndex("email", "jane@example.com"), ia) {
		t.Error("org rotation changed blind indexes")
	}
}

func TestSignVerify(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 8)
	o, _ := testOrg(t, kr, "org-1")
	other, _ := testOrg(t, kr, "org-2")
	msg := []byte("checkpoint: seq=42 hash=abcd")
	sig, err := o.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	pub := o.PublicKey()
	if len(pub) != 32 || len(sig) != 64 {
		t.Fatalf("pub %d bytes, sig %d bytes; want 32, 64", len(pub), len(sig))
	}
	if err := VerifySignature(pub, msg, sig); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	bad := []struct {
		name          string
		pub, msg, sig []byte
	}{
		{"modified msg", pub, []byte("checkpoint: seq=43 hash=abcd"), sig},
		{"modified sig", pub, msg, flip(sig, 3)},
		{"other org key", other.PublicKey(), msg, sig},
		{"short sig", pub, msg, sig[:63]},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifySignature(tc.pub, tc.msg, tc.sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("err = %v, want ErrBadSignature", err)
			}
		})
	}
	if err := VerifySignature(pub[:31], msg, sig); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("bad public key err = %v, want invalid key error", err)
	}
	// PublicKey returns a copy.
	pub[0] ^= 0xff
	if err := VerifySignature(o.PublicKey(), msg, sig); err != nil {
		t.Error("mutating PublicKey's result affected the org key")
	}
}

func TestOrgSealRefusesReservedAD(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 4)
	o, _ := testOrg(t, kr, "org-1")
	if _, err := o.Seal([]byte("x"), AD("patient_keys", "keyset", "pat-1")); err == nil {
		t.Error("Seal under the wrapped-data-key AD succeeded")
	}
	if _, err := o.Seal([]byte("x"), AD("patient_keys", "other", "pat-1")); err != nil {
		t.Errorf("Seal under an ordinary AD: %v", err)
	}
}

func TestStringsRedact(t *testing.T) {
	v := NewVaultTransit("http://vault:8200", "s.super-secret-token", "sotto", nil)
	kr := NewKeyring(newTestMaster(t), 4)
	o, _ := testOrg(t, kr, "org-1")
	d, _ := testData(t, kr, o, "pat-1")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, v); strings.Contains(s, "super-secret") {
			t.Errorf("%s of VaultTransit leaks token: %s", verb, s)
		}
	}
	if got := fmt.Sprint(o, d); got != "crypt.OrgKey(org-1) crypt.DataKey(pat-1)" {
		t.Errorf("String = %q", got)
	}
}
