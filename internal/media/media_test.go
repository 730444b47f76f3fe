package media

import (
	"bytes"
	"errors"
	"testing"
)

func TestSniff(t *testing.T) {
	jpg, _ := jpegSample(t, 0)
	pngData, _ := pngSample(t)
	// name is what a client might call the upload; Sniff never sees it.
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"photo.jpg (really PNG)", pngData, PNG},
		{"scan.png (really JPEG)", jpg, JPEG},
		{"image.heic", heicSample(0).data, HEIC},
		{"x.pdf", []byte(pdfSample), PDF},
		{"avif via mif1", bmff("ftyp", []byte("avif"), u32(0), []byte("mif1miaf")), HEIC},
		{"sequence msf1", bmff("ftyp", []byte("msf1"), u32(0)), HEIC},
		{"largesize ftyp", cat(u32(1), []byte("ftyp"), make([]byte, 4), u32(28), []byte("isom"), u32(0), []byte("heix")), HEIC},
		{"ftyp size 0", cat(u32(0), []byte("ftypmif1"), u32(0)), HEIC},
		{"brand past box end", cat(u32(16), []byte("ftypisom"), u32(0), []byte("heic")), ""},
		{"mp4", bmff("ftyp", []byte("isom"), u32(0), []byte("isomavc1mp41")), ""},
		{"notes.txt", []byte("just some random text, nothing to see"), ""},
		{"anim.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ""},
		{"page.png (HTML)", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ""},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ""},
		{"empty", nil, ""},
		{"JPEG magic, 2 bytes", []byte{0xFF, 0xD8}, ""},
		{"PNG signature prefix", pngSignature[:7], ""},
		{"pdf lower case", []byte("%pdf-1.4"), ""},
		{"PDF not at start", []byte(" %PDF-1.4\n%%EOF"), ""},
	}
	for _, tc := range tests {
		got, err := Sniff(tc.data)
		if got != tc.want {
			t.Errorf("%s: Sniff = %q, want %q", tc.name, got, tc.want)
		}
		if (tc.want == "") != errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestCleanRejects(t *testing.T) {
	_, ct, err := Clean(nil)
	wantErr(t, err, ErrUnsupported)
	if ct != "" {
		t.Errorf("content type %q on error", ct)
	}
	_, _, err = Clean([]byte("<html><body>hi</body></html>"))
	wantErr(t, err, ErrUnsupported)

	big := make([]byte, MaxSize+1)
	copy(big, pdfSample)
	copy(big[len(big)-6:], "%%EOF\n")
	_, _, err = Clean(big)
	wantErr(t, err, ErrTooLarge)
	if _, _, err := Clean(big[:MaxSize]); err != nil {
		t.Fatalf("PDF of exactly MaxSize: %v", err)
	}
}

func TestCleanPDF(t *testing.T) {
	in := []byte(pdfSample)
	out, ct, err := Clean(in)
	if err != nil || ct != PDF {
		t.Fatalf("Clean = %q, %v", ct, err)
	}
	if !bytes.Equal(out, in) {
		t.Fatal("PDF changed")
	}
	out[0] = 'X'
	if in[0] != '%' {
		t.Fatal("output aliases input")
	}

	// %%EOF within the last 1024 bytes, followed by padding, is fine.
	padded := append([]byte(pdfSample), bytes.Repeat([]byte(" "), 1000)...)
	if _, _, err := Clean(padded); err != nil {
		t.Errorf("padded PDF: %v", err)
	}
	// Too far from the end, missing, or truncated: malformed.
	for name, data := range map[string][]byte{
		"no EOF":    []byte("%PDF-1.7\n1 0 obj <<>> endobj\n"),
		"far EOF":   append([]byte(pdfSample), bytes.Repeat([]byte(" "), 1024)...),
		"truncated": []byte(pdfSample[:len(pdfSample)-4]),
		"header":    []byte("%PDF-"),
	} {
		if _, _, err := Clean(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// TestTruncatedAndCorrupted cuts every sample at every length and flips
// bytes: Clean must fail cleanly (ErrMalformed, or ErrUnsupported once the
// magic number itself is gone) or succeed, never panic.
func TestTruncatedAndCorrupted(t *testing.T) {
	jpg, _ := jpegSample(t, 6)
	pngData, _ := pngSample(t)
	samples := map[string][]byte{
		"jpeg": jpg, "png": pngData, "pdf": []byte(pdfSample),
		"heic0": heicSample(0).data, "heic1": heicSample(1).data, "heic2": heicSample(2).data,
	}
	for name, data := range samples {
		valid := len(data) // shortest prefix that is still a complete file
		switch name {
		case "pdf":
			valid = len(data) - 1 // still ends with %%EOF
		case "jpeg":
			valid = bytes.LastIndex(data, []byte{0xFF, 0xD9}) + 2 // then a trailer
		}
		for n := range valid {
			_, _, err := Clean(data[:n])
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%s cut to %d bytes: err = %v", name, n, err)
			}
			if n >= 16 && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s cut to %d bytes: err = %v, want ErrMalformed", name, n, err)
			}
		}
		for i := range data {
			for _, x := range []byte{0xFF, 0x80, 0x01} {
				c := bytes.Clone(data)
				c[i] ^= x
				out, ct, err := Clean(c)
				if err != nil {
					if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
						t.Fatalf("%s byte %d ^ %#x: err = %v", name, i, x, err)
					}
					continue
				}
				checkIdempotent(t, c, out, ct)
			}
		}
	}
}

// checkIdempotent asserts the invariants of a successful Clean of in.
func checkIdempotent(t *testing.T, in, out []byte, ct string) {
	t.Helper()
	if want, _ := Sniff(in); ct != want {
		t.Fatalf("content type %q, Sniff says %q", ct, want)
	}
	if (ct == HEIC || ct == PDF) && len(out) != len(in) {
		t.Fatalf("%s: length changed from %d to %d", ct, len(in), len(out))
	}
	if len(out) > len(in)+64 {
		t.Fatalf("%s: output grew from %d to %d bytes", ct, len(in), len(out))
	}
	again, ct2, err := Clean(out)
	if err != nil || ct2 != ct {
		t.Fatalf("Clean(Clean(x)) = %q, %v; first pass gave %q", ct2, err, ct)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("%s: Clean is not idempotent", ct)
	}
}
