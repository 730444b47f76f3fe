package crypt

import (
	"bytes"
	"testing"
)

func TestADUnambiguous(t *testing.T) {
	triples := [][3]string{
		{"messages", "body", "1"},
		{"messages", "body", "2"},
		{"messages", "bod", "y1"},
		{"messagesbody", "", "1"},
		{"", "messagesbody", "1"},
		{"messages", "body1", ""},
		{"", "", ""},
		{"a\x00", "b", "c"},
		{"a", "\x00b", "c"},
	}
	seen := map[string][3]string{}
	for _, tr := range triples {
		ad := AD(tr[0], tr[1], tr[2])
		if prev, ok := seen[string(ad)]; ok {
			t.Errorf("AD%q == AD%q", tr, prev)
		}
		seen[string(ad)] = tr
		if !bytes.Equal(ad, AD(tr[0], tr[1], tr[2])) {
			t.Errorf("AD%q not deterministic", tr)
		}
	}
	want := []byte{0, 0, 0, 1, 't', 0, 0, 0, 1, 'c', 0, 0, 0, 1, 'r'}
	if got := AD("t", "c", "r"); !bytes.Equal(got, want) {
		t.Errorf("AD encoding = %x, want %x", got, want)
	}
}

func TestKeyIDOf(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		id   uint32
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"short", []byte{1, 0, 0, 0}, 0, false},
		{"raw", []byte{0, 0, 0, 0, 7, 9}, 0, false},
		{"legacy", []byte{0, 1, 2, 3, 4}, 0, false},
		{"tink", []byte{1, 0xde, 0xad, 0xbe, 0xef, 0xff}, 0xdeadbeef, true},
		{"vault", []byte("vault:v1:abcd"), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := KeyIDOf(tc.in)
			if id != tc.id || ok != tc.ok {
				t.Errorf("KeyIDOf = (%d, %v), want (%d, %v)", id, ok, tc.id, tc.ok)
			}
		})
	}
}

func TestReadLP(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"empty", nil, true},
		{"short prefix", []byte{0, 0, 1}, true},
		{"overlong", []byte{0, 0, 0, 5, 'a'}, true},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, true},
		{"ok", []byte{0, 0, 0, 1, 'a', 'b'}, false},
		{"zero", []byte{0, 0, 0, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readLP(tc.in)
			if (err != nil) != tc.wantErr {
				t.Errorf("readLP err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
