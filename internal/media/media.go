// Package media decides what an uploaded attachment is and strips metadata
// from photos.
//
// Attachments are untrusted, attacker-controlled bytes. Their type is decided
// by content sniffing only ([Sniff]); file names and client-supplied
// Content-Type headers are never consulted. [Clean] validates the structure
// of the sniffed type and returns a copy with metadata removed:
//
//   - JPEG: Exif, XMP, IPTC/Photoshop, FlashPix/MPF, maker and comment
//     segments are dropped, as is everything after EOI (multi-picture
//     secondary images, vendor trailers). JFIF (without its thumbnail), ICC
//     profiles and Adobe colour-transform segments are kept. The Exif
//     Orientation value, and nothing else, is carried over (see jpeg.go).
//   - PNG: only chunks needed to render the image correctly are kept; text,
//     eXIf, tIME, animation and unknown ancillary chunks are dropped.
//   - HEIC: the file is edited in place so no offset moves: the data of Exif,
//     MIME (XMP) and URI items is overwritten with zeros, and free/skip/uuid/
//     udta boxes (and user data in a sequence's moov) become zeroed free boxes.
//   - PDF: the structure is checked superficially and the bytes are returned
//     unchanged; PDF metadata (Info dictionary, XMP streams) is NOT rewritten.
//
// Neither function panics, loops without bound, or allocates more than a
// small constant beyond the size of its input, whatever the input.
package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Content types returned by [Sniff] and [Clean]. HEIC stands for every HEIF
// image brand accepted by [Sniff], including the generic mif1/msf1 brands.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	HEIC = "image/heic"
	PDF  = "application/pdf"
)

// MaxSize is the largest attachment, in bytes, that [Clean] accepts. Callers
// should also cap how much of a request body they read (for example with
// http.MaxBytesReader at MaxSize+1) so that an oversized upload is never
// buffered whole.
const MaxSize = 20 << 20

// Errors returned, possibly wrapped, by [Sniff] and [Clean]. Test for them
// with errors.Is; the wrapping text says what was wrong and where, and never
// echoes file content.
var (
	// ErrUnsupported means the content is not one of JPEG, PNG, HEIC or PDF
	// (or is empty).
	ErrUnsupported = errors.New("media: unsupported file type")
	// ErrMalformed means the content claims one of the supported types but
	// its structure is broken, truncated, or uses a feature that cannot be
	// cleaned safely.
	ErrMalformed = errors.New("media: malformed file")
	// ErrTooLarge means the content is longer than MaxSize.
	ErrTooLarge = errors.New("media: file too large")
)

var (
	pngSignature = []byte("\x89PNG\r\n\x1a\n")
	pdfMagic     = []byte("%PDF-")
	pdfEOF       = []byte("%%EOF")
)

// Sniff returns the content type of data from its leading bytes (magic
// numbers); the file name and any client-supplied Content-Type play no part.
// JPEG starts FF D8 FF; PNG with its 8-byte signature; PDF with "%PDF-";
// HEIC is an ISO BMFF file whose leading 'ftyp' box lists one of the brands
// heic, heix, hevc, hevx, heim, heis, mif1 or msf1 (mif1 and msf1, the
// generic HEIF brands, are treated as HEIC).
//
// Any code may call it; it only reads data and is safe for concurrent use.
// Sniff does not validate the rest of the file (use [Clean] for that) and so
// needs only the first few hundred bytes. It returns ErrUnsupported, and an
// empty type, for empty input and for anything else.
func Sniff(data []byte) (string, error) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG, nil
	case bytes.HasPrefix(data, pngSignature):
		return PNG, nil
	case bytes.HasPrefix(data, pdfMagic):
		return PDF, nil
	case isHEIF(data):
		return HEIC, nil
	}
	return "", ErrUnsupported
}

// isHEIF reports whether data starts with an ftyp box naming a HEIF brand.
// Only the bytes present are examined: a box that claims to be longer than
// data is scanned up to the end of data.
func isHEIF(data []byte) bool {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return false
	}
	size := uint64(binary.BigEndian.Uint32(data))
	hdr := 8
	switch size {
	case 0:
		size = uint64(len(data))
	case 1:
		if len(data) < 24 {
			return false
		}
		size, hdr = binary.BigEndian.Uint64(data[8:]), 16
	}
	end := len(data)
	if size < uint64(end) {
		end = int(size)
	}
	if end < hdr+4 {
		return false
	}
	// Major brand, then a minor version, then compatible brands.
	if heifBrand(data[hdr : hdr+4]) {
		return true
	}
	for p := hdr + 8; p+4 <= end; p += 4 {
		if heifBrand(data[p : p+4]) {
			return true
		}
	}
	return false
}

func heifBrand(b []byte) bool {
	switch string(b) {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
		return true
	}
	return false
}

// Clean sniffs data (see [Sniff]), validates its structure, and returns a
// copy with metadata removed, plus the sniffed content type. The package
// documentation lists what is removed and kept for each type. The result
// never aliases data, and data is not modified. Cleaning is idempotent:
// cleaning the output again returns identical bytes.
//
// Any code may call it, concurrently. It returns an error wrapping
// ErrTooLarge if len(data) > MaxSize, ErrUnsupported if the content is not
// JPEG, PNG, HEIC or PDF (including empty input), and ErrMalformed if it
// claims one of those types but is broken or cannot be cleaned safely; on
// error out is nil and contentType is empty.
func Clean(data []byte) (out []byte, contentType string, err error) {
	if len(data) > MaxSize {
		return nil, "", fmt.Errorf("%w: %d bytes, limit is %d", ErrTooLarge, len(data), MaxSize)
	}
	ct, err := Sniff(data)
	if err != nil {
		return nil, "", err
	}
	switch ct {
	case JPEG:
		out, err = cleanJPEG(data)
	case PNG:
		out, err = cleanPNG(data)
	case HEIC:
		out, err = cleanHEIC(data)
	default:
		out, err = cleanPDF(data)
	}
	if err != nil {
		return nil, "", err
	}
	return out, ct, nil
}

// cleanPDF checks the header and that an end-of-file marker appears in the
// last 1024 bytes, and returns an unchanged copy. PDF metadata (the Info
// dictionary and XMP metadata streams) is deliberately not rewritten: doing
// so safely needs a full PDF parser and writer.
func cleanPDF(data []byte) ([]byte, error) {
	if !bytes.Contains(data[max(0, len(data)-1024):], pdfEOF) {
		return nil, malformed("pdf: no %%%%EOF marker in the last 1024 bytes")
	}
	return bytes.Clone(data), nil
}

// malformed returns an error wrapping ErrMalformed with a formatted detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
