package media

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// checkHEIC asserts that out equals in except for the ranges in zeroed,
// which must be all zeros, and that no secret survives.
func checkHEIC(t *testing.T, in, out []byte, zeroed []span) {
	t.Helper()
	if len(out) != len(in) {
		t.Fatalf("length changed from %d to %d", len(in), len(out))
	}
	assertNoSecrets(t, out)
	inZero := func(i int) bool {
		for _, s := range zeroed {
			if i >= s.start && i < s.end {
				return true
			}
		}
		return false
	}
	for i := range in {
		switch {
		case inZero(i) && out[i] != 0:
			t.Fatalf("byte %d not zeroed", i)
		case !inZero(i) && out[i] != in[i]:
			t.Fatalf("byte %d changed from %#x to %#x", i, in[i], out[i])
		}
	}
}

func TestCleanHEIC(t *testing.T) {
	for _, v := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("iloc v%d", v), func(t *testing.T) {
			f := heicSample(v)
			if !bytes.Contains(f.data, []byte(secretGPS)) || !bytes.Contains(f.data, []byte(secretSerial)) {
				t.Fatal("sample lacks the secrets")
			}
			out, ct, err := Clean(f.data)
			if err != nil || ct != HEIC {
				t.Fatalf("Clean = %q, %v", ct, err)
			}
			checkHEIC(t, f.data, out, f.zeroed)
			for _, s := range f.image {
				if !bytes.Equal(out[s.start:s.end], f.data[s.start:s.end]) {
					t.Errorf("hvc1 extent %v changed", s)
				}
			}
			checkIdempotent(t, f.data, out, ct)
		})
	}
}

// replaceBox returns data with the first box of type typ replaced by repl.
func replaceBox(t *testing.T, data []byte, typ string, repl []byte) []byte {
	t.Helper()
	i := bytes.Index(data, []byte(typ)) - 4
	if i < 0 {
		t.Fatalf("no %s box", typ)
	}
	b, err := readBox(data, i, len(data))
	if err != nil {
		t.Fatal(err)
	}
	return cat(data[:i], repl, data[b.end:])
}

func TestCleanHEICUserData(t *testing.T) {
	f := heicSample(0)
	udta := bmff("udta", bmff("\xa9xyz", []byte("+48.8584+002.2945/")))
	moov := bmff("moov", bmff("mvhd", make([]byte, 8)), udta,
		bmff("trak", bmff("tkhd", make([]byte, 8)), bmff("meta", []byte(secretSerial))))
	uuid := bmff("uuid", make([]byte, 16), []byte(secretCity))
	in := cat(f.data, moov, uuid)
	out, _, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("+48.8584")) {
		t.Error("moov/udta location survived")
	}
	assertNoSecrets(t, out)
	if !bytes.Equal(out[len(f.data):len(f.data)+24], in[len(f.data):len(f.data)+24]) {
		t.Error("moov header or mvhd changed")
	}
	checkIdempotent(t, in, out, HEIC)
}

func TestCleanHEICOldInfe(t *testing.T) {
	// An infe of version 1 has no item_type; its item is MIME data.
	f := heicSample(0)
	old := fullBox("infe", 1, u16(3), u16(0), []byte("xmp1\x00application/rdf+xml\x00"))
	i := bytes.Index(f.data, infe(2, 3, "mime", "application/rdf+xml\x00"))
	mime := infe(2, 3, "mime", "application/rdf+xml\x00")
	if len(old) != len(mime) {
		t.Fatalf("test setup: %d != %d", len(old), len(mime))
	}
	in := bytes.Clone(f.data)
	copy(in[i:], old)
	out, _, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	checkHEIC(t, in, out, f.zeroed)
}

func TestCleanHEICMalformed(t *testing.T) {
	f := heicSample(0)
	ftypLen := 24
	meta, err := readBox(f.data, ftypLen, len(f.data))
	if err != nil || meta.typ != typeMeta {
		t.Fatalf("sample layout: %v %v", meta.typ, err)
	}
	hdlr := fullBox("hdlr", 0, u32(0), []byte("pict"), make([]byte, 12), []byte("\x00"))
	iinf := fullBox("iinf", 0, u16(1), infe(2, 2, "Exif", ""))
	metaWith := func(parts ...[]byte) []byte {
		return cat(f.data[:ftypLen], fullBox("meta", 0, append([][]byte{hdlr}, parts...)...), f.data[meta.end:])
	}
	mdatStart := len(f.data) - 8 - (len(hvcTileA) + len(exifItem) + len(hvcTileB) + len(xmpItem))
	exifAt := func(off uint64) []byte {
		return iloc(0, 4, 4, 0, 0, []ilocItem{{id: 2, extents: []ilocExtent{{0, off, uint64(len(exifItem))}}}})
	}
	largeBox := cat(u32(1), []byte("free"), []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	tests := map[string][]byte{
		"no meta":             cat(f.data[:ftypLen], f.data[meta.end:]),
		"two metas":           cat(f.data[:meta.end], f.data[ftypLen:]),
		"no iloc":             metaWith(iinf),
		"no iinf":             metaWith(exifAt(uint64(mdatStart + 8 + len(hvcTileA)))),
		"exif in meta":        metaWith(iinf, exifAt(uint64(ftypLen))),
		"exif past end":       metaWith(iinf, exifAt(uint64(len(f.data)-4))),
		"exif overflows":      metaWith(iinf, iloc(0, 8, 8, 0, 0, []ilocItem{{id: 2, extents: []ilocExtent{{0, 1<<64 - 4, 8}}}})),
		"exif zero length":    metaWith(iinf, iloc(0, 4, 0, 0, 0, []ilocItem{{id: 2, extents: []ilocExtent{{0, uint64(mdatStart + 8), 0}}}})),
		"exif method 2":       metaWith(iinf, iloc(1, 4, 4, 0, 0, []ilocItem{{id: 2, method: 2, extents: []ilocExtent{{0, 0, 4}}}})),
		"exif in missing idt": metaWith(iinf, iloc(1, 4, 4, 0, 0, []ilocItem{{id: 2, method: 1, extents: []ilocExtent{{0, 0, 4}}}})),
		"method 3":            metaWith(iinf, iloc(1, 4, 4, 0, 0, []ilocItem{{id: 7, method: 3}})),
		"offset size 2":       metaWith(iinf, iloc(0, 2, 4, 0, 0, nil)),
		"iloc version 3":      metaWith(iinf, fullBox("iloc", 3, []byte{0x44, 0}, u16(0))),
		"iloc truncated":      metaWith(iinf, exifAt(0)[:20]),
		"iloc count lies":     metaWith(iinf, fullBox("iloc", 0, []byte{0x44, 0}, u16(0xFFFF))),
		"infe version 4":      metaWith(fullBox("iinf", 0, u16(1), fullBox("infe", 4, u16(2))), exifAt(0)),
		"infe truncated":      metaWith(fullBox("iinf", 0, u16(1), fullBox("infe", 2, u16(2))), exifAt(0)),
		"two ilocs":           metaWith(iinf, exifAt(0), exifAt(0)),
		"box overflows":       cat(f.data, u32(0xFFFFFFF0), []byte("free")),
		"largesize overflows": cat(f.data, largeBox),
		"tiny box size":       cat(f.data, u32(4), []byte("free")),
		"trailing bytes":      cat(f.data, []byte{0, 0, 0}),
		"meta version 1":      replaceBox(t, f.data, "meta", cat(f.data[meta.start:meta.start+8], []byte{1}, f.data[meta.start+9:meta.end])),
	}
	// Sniff only accepts a leading ftyp; cleanHEIC checks it again.
	if _, err := cleanHEIC(cat(staleBox, f.data)); !errors.Is(err, ErrMalformed) {
		t.Errorf("ftyp not first: err = %v", err)
	}
	for name, data := range tests {
		if got, _ := Sniff(data); got != HEIC {
			t.Fatalf("%s: test input sniffs as %q", name, got)
		}
		_, _, err := Clean(data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, ErrMalformed)
	}
}
