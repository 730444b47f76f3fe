package media

import (
	"bytes"
	"testing"
)

func TestCleanPNG(t *testing.T) {
	in, plain := pngSample(t)
	out, ct, err := Clean(in)
	if err != nil || ct != PNG {
		t.Fatalf("Clean = %q, %v", ct, err)
	}
	assertNoSecrets(t, out)
	for _, gone := range []string{"tEXt", "eXIf", "tIME", "iTXt"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("output still contains a %s chunk", gone)
		}
	}
	gama := pngChunk("gAMA", "\x00\x00\xb1\x8f")
	if !bytes.Contains(out, gama) {
		t.Error("gAMA chunk dropped")
	}
	// Removing gAMA again must give back exactly the encoder's output.
	if !bytes.Equal(bytes.Replace(out, gama, nil, 1), plain) {
		t.Error("kept chunks changed")
	}
	samePixels(t, decode(t, in), decode(t, out))
	checkIdempotent(t, in, out, ct)
}

func TestCleanPNGDropsAnimationAndTrailer(t *testing.T) {
	_, plain := pngSample(t)
	iend := len(plain) - 12
	var in []byte
	in = append(in, plain[:33]...)
	in = append(in, pngChunk("acTL", "\x00\x00\x00\x01\x00\x00\x00\x00")...)
	in = append(in, pngChunk("prVt", secretSerial)...)
	in = append(in, plain[33:]...)
	in = append(in, "trailing "+secretGPS...)
	out, _, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, plain) {
		t.Errorf("got %d bytes, want the plain %d-byte encoding", len(out), len(plain))
	}
	if !bytes.HasSuffix(out, plain[iend:]) {
		t.Error("IEND not last")
	}
}

func TestCleanPNGMalformed(t *testing.T) {
	in, plain := pngSample(t)
	badCRC := bytes.Clone(in)
	i := bytes.Index(badCRC, []byte(secretNote))
	badCRC[i] ^= 1 // inside the tEXt chunk, which would be dropped anyway
	noIDAT := append(bytes.Clone(plain[:33]), pngChunk("IEND", "")...)
	tests := map[string][]byte{
		"bad CRC":           badCRC,
		"signature only":    pngSignature,
		"no IEND":           plain[:len(plain)-12],
		"IEND cut":          plain[:len(plain)-1],
		"no IDAT":           noIDAT,
		"IHDR not first":    cat(pngSignature, pngChunk("gAMA", "\x00\x00\xb1\x8f"), plain[8:]),
		"duplicate IHDR":    cat(plain[:33], plain[8:]),
		"unknown critical":  cat(plain[:33], pngChunk("CgBI", "\x50\x00\x20\x02"), plain[33:]),
		"bad chunk type":    cat(plain[:33], pngChunk("g@MA", "1234"), plain[33:]),
		"huge length":       cat(plain[:33], []byte{0x80, 0, 0, 0}, []byte("tEXt")),
		"length overruns":   cat(plain[:33], []byte{0, 0, 0x10, 0}, []byte("tEXtabc")),
		"IEND with payload": cat(plain[:len(plain)-12], pngChunk("IEND", "x")),
	}
	for name, data := range tests {
		_, _, err := Clean(data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, ErrMalformed)
	}
}
