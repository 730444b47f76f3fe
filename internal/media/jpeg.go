package media

import (
	"bytes"
	"encoding/binary"
)

// JPEG marker codes (the byte after 0xFF).
const (
	markerTEM  = 0x01
	markerRST0 = 0xD0
	markerRST7 = 0xD7
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerAPP0 = 0xE0
	markerAPP1 = 0xE1
	markerAPP2 = 0xE2
	markerAPPE = 0xEE
	markerCOM  = 0xFE
)

var (
	jfifID  = []byte("JFIF\x00")
	exifID  = []byte("Exif\x00\x00")
	iccID   = []byte("ICC_PROFILE\x00")
	adobeID = []byte("Adobe")
)

// cleanJPEG walks the marker segments of a JPEG file and rebuilds it
// without metadata:
//
//   - APP0 is kept only for the first JFIF segment, rewritten to its 14-byte
//     core with a 0x0 thumbnail (JFXX and other APP0 segments are dropped).
//   - APP1 (Exif, XMP, extended XMP) is dropped. Orientation: dropping Exif
//     would make portrait phone photos display sideways, because browsers
//     rotate by the Exif Orientation tag and the pixels are stored unrotated.
//     So the Orientation value of the first Exif segment, if valid and not
//     1 (normal), is re-emitted as a freshly built minimal Exif segment
//     holding that single tag. Nothing else from the original Exif (GPS,
//     make/model, serials, dates, thumbnails, maker notes) is copied.
//   - APP2 is kept only for ICC_PROFILE chunks (colour); FlashPix and MPF
//     are dropped.
//   - APP14 is kept only for the first Adobe segment, truncated to its
//     12-byte core (it selects the colour transform).
//   - APP3-APP13, APP15 and COM are dropped.
//   - Every other segment (frame and table definitions, DRI, SOS, ...) and
//     the entropy-coded data of every scan are copied unchanged; fill bytes
//     (0xFF padding) before markers are dropped.
//   - Bytes after EOI (MPF secondary images with their own Exif, vendor
//     trailers) are dropped.
//
// Garbage between segments, a missing SOS or a missing EOI (truncation) is
// malformed.
func cleanJPEG(data []byte) ([]byte, error) {
	n := len(data)
	if n < 4 || data[0] != 0xFF || data[1] != markerSOI {
		return nil, malformed("jpeg: missing SOI")
	}
	out := make([]byte, 0, n+64)
	out = append(out, 0xFF, markerSOI)
	var sawSOS, sawExif, sawJFIF, sawAdobe bool
	pos := 2
	for {
		if pos >= n {
			if !sawSOS {
				return nil, malformed("jpeg: truncated before SOS")
			}
			return nil, malformed("jpeg: truncated, missing EOI")
		}
		if data[pos] != 0xFF {
			return nil, malformed("jpeg: expected marker at offset %d", pos)
		}
		for pos < n && data[pos] == 0xFF { // fill bytes
			pos++
		}
		if pos >= n {
			continue // reported as truncation above
		}
		m := data[pos]
		pos++
		switch {
		case m == 0x00 || m == markerSOI:
			return nil, malformed("jpeg: unexpected marker %#02x at offset %d", m, pos-1)
		case m == markerEOI:
			if !sawSOS {
				return nil, malformed("jpeg: EOI before SOS")
			}
			return append(out, 0xFF, markerEOI), nil
		case m == markerTEM || (m >= markerRST0 && m <= markerRST7):
			out = append(out, 0xFF, m) // standalone marker: no length
			continue
		}
		if n-pos < 2 {
			return nil, malformed("jpeg: truncated segment header at offset %d", pos)
		}
		length := int(binary.BigEndian.Uint16(data[pos:]))
		if length < 2 || length > n-pos {
			return nil, malformed("jpeg: segment %#02x at offset %d has bad length %d", m, pos-2, length)
		}
		payload := data[pos+2 : pos+length]
		pos += length
		switch {
		case m == markerAPP0:
			if !sawJFIF && len(payload) >= 14 && bytes.HasPrefix(payload, jfifID) {
				sawJFIF = true
				out = appendSegment(out, m, payload[:12], []byte{0, 0}) // no thumbnail
			}
		case m == markerAPP1:
			if !sawExif && bytes.HasPrefix(payload, exifID) {
				sawExif = true
				if o := exifOrientation(payload[len(exifID):]); o > 1 {
					out = append(out, orientationSegment(o)...)
				}
			}
		case m == markerAPP2:
			if bytes.HasPrefix(payload, iccID) {
				out = appendSegment(out, m, payload)
			}
		case m == markerAPPE:
			if !sawAdobe && len(payload) >= 12 && bytes.HasPrefix(payload, adobeID) {
				sawAdobe = true
				out = appendSegment(out, m, payload[:12])
			}
		case m > markerAPP2 && m <= 0xEF, m == markerCOM:
			// APP3-APP13, APP15, COM: dropped.
		case m == markerSOS:
			sawSOS = true
			out = appendSegment(out, m, payload)
			end := scanEnd(data, pos)
			out = append(out, data[pos:end]...)
			pos = end
		default:
			out = appendSegment(out, m, payload)
		}
	}
}

// appendSegment appends marker m with a length field and the given payload
// parts (whose total is at most 65533 bytes, as they come from a segment).
func appendSegment(out []byte, m byte, parts ...[]byte) []byte {
	length := 2
	for _, p := range parts {
		length += len(p)
	}
	out = append(out, 0xFF, m, byte(length>>8), byte(length))
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// scanEnd returns the offset of the 0xFF that starts the first marker after
// the entropy-coded data beginning at start, or len(data) if there is none.
// Stuffed zero bytes (FF 00) and restart markers (RST0-7) belong to the
// entropy-coded data; fill bytes before the ending marker do not.
func scanEnd(data []byte, start int) int {
	i := start
	for {
		k := bytes.IndexByte(data[i:], 0xFF)
		if k < 0 {
			return len(data)
		}
		i += k
		j := i + 1
		for j < len(data) && data[j] == 0xFF {
			j++
		}
		if j >= len(data) {
			return len(data)
		}
		if m := data[j]; m != 0x00 && (m < markerRST0 || m > markerRST7) {
			return i
		}
		i = j + 1
	}
}

// exifOrientation returns the Orientation (tag 0x0112) from IFD0 of a TIFF
// structure (the Exif payload after "Exif\0\0"), or 0 if it is absent or
// invalid. It reads at most 65535 fixed-size entries and never follows
// other offsets.
func exifOrientation(t []byte) uint16 {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 0
	}
	ifd := t[off:]
	count := int(bo.Uint16(ifd))
	for i := 0; i < count && 2+12*(i+1) <= len(ifd); i++ {
		e := ifd[2+12*i:]
		if bo.Uint16(e) != 0x0112 {
			continue
		}
		// SHORT, count 1: the value sits in the first two bytes of the field.
		if bo.Uint16(e[2:]) != 3 || bo.Uint32(e[4:]) != 1 {
			return 0
		}
		if o := bo.Uint16(e[8:]); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}

// orientationSegment returns a complete APP1 segment holding an Exif block
// whose IFD0 has a single entry, Orientation = o, and no further IFDs.
func orientationSegment(o uint16) []byte {
	return []byte{
		0xFF, markerAPP1, 0x00, 0x22, // length 34 = 2 + 32-byte payload
		'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0x00, 0x2A, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, // Orientation, SHORT, 1
		0, 0, 0, 0, // no next IFD
	}
}
