package media

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// Limits on HEIC structures. Real photos have one mdat and at most a few
// hundred items and extents; the limits keep memory and time small however
// the boxes are crafted.
const (
	maxMdats   = 64
	maxItems   = 1 << 16 // infe boxes, and iloc entries
	maxExtents = 1 << 16 // iloc extents, over all items
)

// boxType is an ISO BMFF four-character code.
type boxType [4]byte

func (t boxType) String() string { return string(t[:]) }

func fourCC(s string) boxType { return boxType([]byte(s)) }

var (
	typeFtyp = fourCC("ftyp")
	typeMeta = fourCC("meta")
	typeMdat = fourCC("mdat")
	typeMoov = fourCC("moov")
	typeTrak = fourCC("trak")
	typeUdta = fourCC("udta")
	typeUUID = fourCC("uuid")
	typeFree = fourCC("free")
	typeSkip = fourCC("skip")
	typeIinf = fourCC("iinf")
	typeIloc = fourCC("iloc")
	typeIdat = fourCC("idat")
	typeInfe = fourCC("infe")
	typeExif = fourCC("Exif")
	typeMime = fourCC("mime")
	typeURI  = fourCC("uri ")
)

// box is one parsed box; offsets index the whole file.
type box struct {
	typ   boxType
	start int // the size field
	body  int // just past the header (size, type and any largesize)
	end   int // just past the box
}

// span is a half-open byte range [start, end) of the file.
type span struct{ start, end int }

// readBox parses the box header at pos within a container ending at end.
// Size 1 means a 64-bit largesize follows; size 0 means the box extends to
// the end of its container. A box that overruns its container is malformed.
func readBox(data []byte, pos, end int) (box, error) {
	if end-pos < 8 {
		return box{}, malformed("heic: truncated box header at offset %d", pos)
	}
	size := uint64(binary.BigEndian.Uint32(data[pos:]))
	hdr := 8
	switch size {
	case 0:
		size = uint64(end - pos)
	case 1:
		if end-pos < 16 {
			return box{}, malformed("heic: truncated box header at offset %d", pos)
		}
		size, hdr = binary.BigEndian.Uint64(data[pos+8:]), 16
	}
	b := box{typ: boxType(data[pos+4 : pos+8]), start: pos, body: pos + hdr}
	if size < uint64(hdr) || size > uint64(end-pos) {
		return box{}, malformed("heic: box %q at offset %d has bad size %d", b.typ, pos, size)
	}
	b.end = pos + int(size)
	return b, nil
}

// walk calls fn for each box in [start, end). Every box is at least 8 bytes,
// so the loop runs at most (end-start)/8 times.
func walk(data []byte, start, end int, fn func(box) error) error {
	for pos := start; pos < end; {
		b, err := readBox(data, pos, end)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		pos = b.end
	}
	return nil
}

// scrubBox turns b, in out, into a 'free' box of the same size whose body is
// all zeros. Readers skip free boxes, so no offset moves.
func scrubBox(out []byte, b box) {
	copy(out[b.start+4:], typeFree[:])
	clear(out[b.body:b.end])
}

// cleanHEIC returns a copy of an ISO BMFF (HEIF/HEIC) file, of the same
// length, in which:
//
//   - the data of every Exif, mime (XMP and any other MIME metadata) and
//     'uri ' item of the top-level meta box is overwritten with zeros;
//   - top-level free, skip, uuid and udta boxes, and udta/meta boxes inside
//     moov and its tracks (image sequences), become zeroed free boxes, so
//     neither stale data left behind by editors nor QuickTime-style user
//     data (which can hold a location) survives.
//
// Image items, properties and all offsets are untouched. The top-level
// structure must parse, start with ftyp and hold exactly one meta box with
// one iinf and one iloc. Metadata extents must lie inside an mdat box (or
// the meta box's idat) so that zeroing never damages the structure.
//
// Not scrubbed: bytes inside mdat that no item references, and item
// names/properties (for example a 'udes' user description property).
func cleanHEIC(data []byte) ([]byte, error) {
	out := bytes.Clone(data)
	var (
		meta    box
		hasMeta bool
		mdats   []span
	)
	first := true
	err := walk(data, 0, len(data), func(b box) error {
		if first && b.typ != typeFtyp {
			return malformed("heic: first box is %q, not ftyp", b.typ)
		}
		first = false
		switch b.typ {
		case typeMeta:
			if hasMeta {
				return malformed("heic: more than one top-level meta box")
			}
			meta, hasMeta = b, true
		case typeMdat:
			if len(mdats) == maxMdats {
				return malformed("heic: more than %d mdat boxes", maxMdats)
			}
			mdats = append(mdats, span{b.body, b.end})
		case typeFree, typeSkip, typeUUID, typeUdta:
			scrubBox(out, b)
		case typeMoov:
			return scrubMoov(data, out, b, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !hasMeta {
		return nil, malformed("heic: no top-level meta box")
	}
	zero, err := metadataSpans(data, meta, mdats)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(zero, func(a, b span) int { return a.start - b.start })
	done := 0 // everything before done is already zero; overlaps cost nothing
	for _, s := range zero {
		if from := max(s.start, done); from < s.end {
			clear(out[from:s.end])
			done = s.end
		}
	}
	return out, nil
}

// scrubMoov scrubs user data (udta) and metadata (meta) boxes inside a moov
// box (depth 0) and its trak boxes (depth 1).
func scrubMoov(data, out []byte, parent box, depth int) error {
	return walk(data, parent.body, parent.end, func(b box) error {
		switch b.typ {
		case typeUdta, typeMeta, typeUUID:
			scrubBox(out, b)
		case typeTrak:
			if depth == 0 {
				return scrubMoov(data, out, b, 1)
			}
		}
		return nil
	})
}
