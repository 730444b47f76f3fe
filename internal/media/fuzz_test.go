package media

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds returns every generated sample plus a few edge cases.
func fuzzSeeds(f *testing.F) [][]byte {
	jpgOriented, _ := jpegSample(f, 6)
	jpg, plainJPEG := jpegSample(f, 0)
	pngData, plainPNG := pngSample(f)
	return [][]byte{
		nil, {0xFF, 0xD8, 0xFF}, pngSignature, []byte("%PDF-"),
		jpg, jpgOriented, plainJPEG, pngData, plainPNG, []byte(pdfSample),
		heicSample(0).data, heicSample(1).data, heicSample(2).data,
		bmff("ftyp", []byte("heic"), u32(0)),
		[]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
	}
}

// FuzzClean feeds arbitrary bytes to Clean. It must not panic; on failure it
// returns one of the package errors and no output; on success the type
// agrees with Sniff, HEIC and PDF keep their length, output never grows by
// more than a small constant, and cleaning the output again succeeds with
// the same type and identical bytes.
func FuzzClean(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		out, ct, err := Clean(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Clean modified its input")
		}
		if err != nil {
			if out != nil || ct != "" {
				t.Fatalf("error %v with output %d bytes, type %q", err, len(out), ct)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(data) > 0 && len(out) > 0 && &out[0] == &data[0] {
			t.Fatal("output aliases input")
		}
		checkIdempotent(t, data, out, ct)
	})
}

// FuzzSniff checks that Sniff never panics, returns either a supported
// type or ErrUnsupported, and for the fixed-magic types depends only on the
// leading bytes.
func FuzzSniff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := Sniff(data)
		switch ct {
		case JPEG, PNG, HEIC, PDF:
			if err != nil {
				t.Fatalf("type %q with error %v", ct, err)
			}
		case "":
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("no type, error %v", err)
			}
			return
		default:
			t.Fatalf("unknown type %q", ct)
		}
		if ct != HEIC {
			if ext, _ := Sniff(append(bytes.Clone(data), "trailing"...)); ext != ct {
				t.Fatalf("appending bytes changed %q to %q", ct, ext)
			}
		}
	})
}
