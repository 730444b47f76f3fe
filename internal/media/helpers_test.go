package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Recognisable stand-ins for private metadata. None of them may survive Clean.
const (
	secretGPS    = "GPSLatitude"
	secretSerial = "SN-FAKE-12345"
	secretCity   = "IPTC-FAKE-CITY"
	secretNote   = "Location: fake"
)

var secrets = []string{secretGPS, secretSerial, secretCity, secretNote}

// assertNoSecrets fails if any of the fake private strings appears in b.
func assertNoSecrets(t *testing.T, b []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("cleaned output still contains %q", s)
		}
	}
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// testImage returns a small image with distinct pixel values.
func testImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 10), uint8(y * 15), uint8(x*y + 7), 255})
		}
	}
	return img
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffWithSecrets returns a TIFF (Exif) structure in byte order bo whose
// IFD0 holds Orientation (if non-zero) and a BodySerialNumber, followed by
// text containing the GPS marker.
func tiffWithSecrets(bo byteOrder, orientation uint16) []byte {
	b := make([]byte, 8, 128)
	if bo == byteOrder(binary.LittleEndian) {
		copy(b, "II*\x00")
	} else {
		copy(b, "MM\x00*")
	}
	bo.PutUint32(b[4:], 8)
	serial := secretSerial + "\x00"
	dataOff := uint32(8 + 2 + 2*12 + 4)
	b = bo.AppendUint16(b, 2)
	entry := func(tag, typ uint16, count, value uint32) {
		b = bo.AppendUint16(b, tag)
		b = bo.AppendUint16(b, typ)
		b = bo.AppendUint32(b, count)
		b = bo.AppendUint32(b, value)
	}
	if orientation != 0 {
		entry(0x0112, 3, 1, 0)
		bo.PutUint16(b[len(b)-4:], orientation)
	} else {
		entry(0x0131, 2, 4, 0) // Software, harmless
	}
	entry(0xA431, 2, uint32(len(serial)), dataOff)
	b = bo.AppendUint32(b, 0) // no IFD1
	b = append(b, serial...)
	return append(b, secretGPS+"=48.8584N"...)
}

// segment returns a JPEG marker segment.
func segment(m byte, payload string) []byte {
	return append([]byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

var (
	jfifCore  = "JFIF\x00\x01\x02\x01\x00\x48\x00\x48"  // version 1.2, 72x72 dpi, without thumbnail size
	adobeCore = "Adobe\x00\x64\x00\x00\x00\x00\x01"     // transform 1 (YCbCr)
	iccChunk  = "ICC_PROFILE\x00\x01\x01fake-icc-bytes" // one-chunk profile
)

// jpegSample encodes testImage and splices metadata segments in after SOI
// and a trailer after EOI. It returns the file and the plain encoding.
func jpegSample(t testing.TB, orientation uint16) (withMeta, plain []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	plain = buf.Bytes()
	var b []byte
	b = append(b, 0xFF, 0xD8)
	b = append(b, segment(0xE0, jfifCore+"\x00\x00")...)
	b = append(b, segment(0xE1, "Exif\x00\x00"+string(tiffWithSecrets(binary.BigEndian, orientation)))...)
	b = append(b, segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta exif:"+secretGPS+"=\"1\"/>")...)
	b = append(b, segment(0xE2, iccChunk)...)
	b = append(b, segment(0xE2, "MPF\x00"+secretSerial)...)
	b = append(b, segment(0xED, "Photoshop 3.0\x008BIM\x04\x04"+secretCity)...)
	b = append(b, segment(0xEE, adobeCore)...)
	b = append(b, segment(0xFE, "taken by "+secretSerial)...)
	b = append(b, plain[2:]...)
	b = append(b, "\xFF\xD8\xFF\xE1 trailer "+secretGPS...)
	return b, plain
}

// pngChunk returns a PNG chunk with a correct CRC.
func pngChunk(typ, data string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngSample encodes testImage and inserts gAMA (kept) and tEXt, eXIf, tIME,
// zTXt (dropped) chunks after IHDR. It returns the file and the plain
// encoding.
func pngSample(t testing.TB) (withMeta, plain []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		t.Fatal(err)
	}
	plain = buf.Bytes()
	ihdrEnd := 8 + 12 + 13
	var b []byte
	b = append(b, plain[:ihdrEnd]...)
	b = append(b, pngChunk("gAMA", "\x00\x00\xb1\x8f")...)
	b = append(b, pngChunk("tEXt", "Comment\x00"+secretNote)...)
	b = append(b, pngChunk("eXIf", string(tiffWithSecrets(binary.LittleEndian, 1)))...)
	b = append(b, pngChunk("tIME", "\x07\xe9\x03\x0f\x0c\x22\x38")...)
	b = append(b, pngChunk("iTXt", "XML:com.adobe.xmp\x00\x00\x00\x00\x00"+secretGPS)...)
	b = append(b, plain[ihdrEnd:]...)
	return b, plain
}

// pdfSample is a tiny but well-formed PDF.
const pdfSample = "%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n" +
	"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n" +
	"trailer <</Root 1 0 R>>\n%%EOF\n"

// decode decodes an image or fails the test.
func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// samePixels fails unless a and b have the same bounds and pixels.
func samePixels(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v != %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel (%d,%d): %v != %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}
