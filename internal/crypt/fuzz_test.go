package crypt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary ciphertexts to OrgKey.Open, DataKey.Open and the
// wrapped-key unwrapping paths. None may panic, and anything that is not a
// genuine ciphertext must fail with ErrTampered.
func FuzzOpen(f *testing.F) {
	m, err := OpenMasterFile(filepath.Join(f.TempDir(), "master.json"))
	if err != nil {
		f.Fatal(err)
	}
	kr := NewKeyring(m, 0)
	o, orgWrapped := testOrg(f, kr, "org-1")
	d, dataWrapped := testData(f, kr, o, "pat-1")
	ad := AD("messages", "body", "m-1")
	orgCT, _ := o.Seal([]byte("hello"), ad)
	dataCT, _ := d.Seal([]byte("hello"), ad)
	for _, seed := range [][]byte{nil, {1}, {1, 0, 0, 0, 0}, orgCT, dataCT, orgWrapped, dataWrapped, flip(orgCT, 7)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ct []byte) {
		for name, open := range map[string]func() error{
			"org":  func() error { _, err := o.Open(ct, ad); return err },
			"data": func() error { _, err := d.Open(ct, ad); return err },
			"Data": func() error { _, err := kr.Data(o, "pat-1", ct); return err },
			"Org":  func() error { _, err := kr.Org("org-1", ct); return err },
		} {
			if err := open(); err != nil && !errors.Is(err, ErrTampered) {
				t.Errorf("%s: err = %v, want ErrTampered", name, err)
			}
		}
		// The plaintext containers must also survive arbitrary bytes.
		_, _ = unmarshalOrgKeysets(ct)
		_, _ = unmarshalDataKey(ct)
	})
}

// FuzzOpenMasterFile feeds arbitrary file content to OpenMasterFile: it
// must return an error or a working master, never panic, and never modify
// the file.
func FuzzOpenMasterFile(f *testing.F) {
	seedPath := filepath.Join(f.TempDir(), "seed.json")
	if _, err := OpenMasterFile(seedPath); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "{}", "null", `{"primaryKeyId":1,"key":[{}]}`, string(valid), string(valid[:len(valid)/2])} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "master.json")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := OpenMasterFile(path)
		if err != nil {
			return
		}
		ct, err := m.Encrypt([]byte("x"), nil)
		if err != nil {
			return // e.g. a keyset whose primary cannot encrypt
		}
		if pt, err := m.Decrypt(ct, nil); err != nil || string(pt) != "x" {
			t.Errorf("accepted keyset does not round-trip: %v", err)
		}
	})
}
