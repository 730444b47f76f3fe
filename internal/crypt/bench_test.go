package crypt

import (
	"bytes"
	"testing"
)

// benchKeys returns an org key and a data key for benchmarks.
func benchKeys(b *testing.B) map[string]interface {
	Seal(p, ad []byte) ([]byte, error)
	Open(c, ad []byte) ([]byte, error)
} {
	b.Helper()
	kr := NewKeyring(newTestMaster(b), 8)
	o, _ := testOrg(b, kr, "org-1")
	d, _ := testData(b, kr, o, "pat-1")
	return map[string]interface {
		Seal(p, ad []byte) ([]byte, error)
		Open(c, ad []byte) ([]byte, error)
	}{"OrgKey": o, "DataKey": d}
}

func BenchmarkSeal1KB(b *testing.B) {
	msg := bytes.Repeat([]byte("a"), 1024)
	ad := AD("messages", "body", "0190f2a6-7f1c-7d2e-9a4b-3c5d6e7f8a9b")
	for _, name := range []string{"OrgKey", "DataKey"} {
		k := benchKeys(b)[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Seal(msg, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen1KB(b *testing.B) {
	msg := bytes.Repeat([]byte("a"), 1024)
	ad := AD("messages", "body", "0190f2a6-7f1c-7d2e-9a4b-3c5d6e7f8a9b")
	for _, name := range []string{"OrgKey", "DataKey"} {
		k := benchKeys(b)[name]
		ct, err := k.Seal(msg, ad)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Open(ct, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnwrap compares a cached Keyring.Data lookup with a cold unwrap.
func BenchmarkUnwrap(b *testing.B) {
	m := newTestMaster(b)
	for _, bc := range []struct {
		name  string
		cache int
	}{{"cached", 16}, {"uncached", 0}} {
		kr := NewKeyring(m, bc.cache)
		o, ow := testOrg(b, kr, "org-1")
		_, dw := testData(b, kr, o, "pat-1")
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				o, err := kr.Org("org-1", ow)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := kr.Data(o, "pat-1", dw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	kr := NewKeyring(newTestMaster(b), 8)
	o, _ := testOrg(b, kr, "org-1")
	b.ReportAllocs()
	for b.Loop() {
		o.BlindIndex("email", "jane.doe@example.com")
	}
}
