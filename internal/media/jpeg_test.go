package media

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// markers lists the marker bytes of the segments of a JPEG up to SOS.
func markers(t *testing.T, b []byte) []byte {
	t.Helper()
	var ms []byte
	for pos := 2; pos+4 <= len(b); {
		m := b[pos+1]
		ms = append(ms, m)
		if m == markerSOS {
			return ms
		}
		pos += 2 + int(binary.BigEndian.Uint16(b[pos+2:]))
	}
	t.Fatal("no SOS")
	return nil
}

func TestCleanJPEG(t *testing.T) {
	in, plain := jpegSample(t, 0)
	out, ct, err := Clean(in)
	if err != nil || ct != JPEG {
		t.Fatalf("Clean = %q, %v", ct, err)
	}
	assertNoSecrets(t, out)
	for _, gone := range []string{"Exif\x00\x00", "http://ns.adobe.com", "MPF\x00", "Photoshop", "trailer"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("output still contains %q", gone)
		}
	}
	for _, kept := range [][]byte{segment(0xE0, jfifCore+"\x00\x00"), segment(0xE2, iccChunk), segment(0xEE, adobeCore)} {
		if !bytes.Contains(out, kept) {
			t.Errorf("output lost segment %q", kept)
		}
	}
	if !bytes.HasPrefix(out, []byte{0xFF, 0xD8, 0xFF, 0xE0}) || !bytes.HasSuffix(out, []byte{0xFF, 0xD9}) {
		t.Error("output does not start with SOI+APP0 and end with EOI")
	}
	// The rest of the file is the encoder's output, unchanged.
	if !bytes.HasSuffix(out, plain[2:]) {
		t.Error("non-metadata segments or scan data changed")
	}
	for _, m := range markers(t, out) {
		if m >= 0xE1 && m <= 0xEF && m != 0xE2 && m != 0xEE || m == markerCOM {
			t.Errorf("output keeps marker %#x", m)
		}
	}
	samePixels(t, decode(t, in), decode(t, out))
	samePixels(t, decode(t, plain), decode(t, out))
	checkIdempotent(t, in, out, ct)
}

func TestCleanJPEGOrientation(t *testing.T) {
	for o := uint16(0); o <= 9; o++ {
		in, _ := jpegSample(t, o)
		out, _, err := Clean(in)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, out)
		i := bytes.Index(out, exifID)
		if o < 2 || o > 8 {
			if i >= 0 {
				t.Errorf("orientation %d: Exif kept", o)
			}
			continue
		}
		if i < 0 || !bytes.Equal(out[i-4:i+32], orientationSegment(o)) {
			t.Fatalf("orientation %d: minimal Exif segment missing", o)
		}
		if got := exifOrientation(out[i+6 : i+32]); got != o {
			t.Errorf("orientation %d: cleaned Exif says %d", o, got)
		}
		checkIdempotent(t, in, out, JPEG)
	}
	le := append([]byte("Exif\x00\x00"), tiffWithSecrets(binary.LittleEndian, 8)...)
	if got := exifOrientation(le[6:]); got != 8 {
		t.Errorf("little-endian orientation = %d, want 8", got)
	}
}

func TestCleanJPEGThumbnailAndFill(t *testing.T) {
	_, plain := jpegSample(t, 0)
	// JFIF with a 1x1 RGB thumbnail, a JFXX extension, and fill bytes
	// before markers.
	var in []byte
	in = append(in, 0xFF, 0xD8)
	in = append(in, segment(0xE0, jfifCore+"\x01\x01"+secretSerial[:3])...)
	in = append(in, segment(0xE0, "JFXX\x00\x10"+secretSerial)...)
	in = append(in, 0xFF, 0xFF)
	in = append(in, plain[2:]...)
	out, _, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0xFF, 0xD8}, segment(0xE0, jfifCore+"\x00\x00")...)
	want = append(want, plain[2:]...)
	if !bytes.Equal(out, want) {
		t.Errorf("got  %x\nwant %x", out[:40], want[:40])
	}
	samePixels(t, decode(t, plain), decode(t, out))

	// Standalone markers (TEM, RSTn) outside a scan have no length and are
	// copied; fill bytes before them are dropped.
	in = append([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0x01, 0xFF, 0xD3}, plain[2:]...)
	out, _, err = Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{0xFF, 0xD8, 0xFF, 0x01, 0xFF, 0xD3}, plain[2:]...); !bytes.Equal(out, want) {
		t.Errorf("standalone markers: got %x", out[:8])
	}
}

func TestCleanJPEGMalformed(t *testing.T) {
	_, plain := jpegSample(t, 0)
	sos := bytes.Index(plain, []byte{0xFF, markerSOS})
	tests := map[string][]byte{
		"SOI only":           {0xFF, 0xD8, 0xFF},
		"no SOS":             append(bytes.Clone(plain[:sos]), 0xFF, 0xD9),
		"truncated in scan":  plain[:len(plain)-2],
		"length overruns":    {0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00, 'E', 'x'},
		"length 1":           {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x01, 0xFF, 0xD9},
		"garbage":            cat([]byte{0xFF, 0xD8}, segment(0xE0, jfifCore+"\x00\x00"), []byte("x"), plain[2:]),
		"second SOI":         append([]byte{0xFF, 0xD8, 0xFF, 0xD8}, plain[2:]...),
		"FF00 outside scan":  append([]byte{0xFF, 0xD8, 0xFF, 0x00}, plain[2:]...),
		"only fill bytes":    {0xFF, 0xD8, 0xFF, 0xFF, 0xFF},
		"header cut":         {0xFF, 0xD8, 0xFF, 0xC0, 0x00},
		"EOI straight after": {0xFF, 0xD8, 0xFF, 0xD9},
	}
	for name, in := range tests {
		_, _, err := Clean(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, ErrMalformed)
	}
}
