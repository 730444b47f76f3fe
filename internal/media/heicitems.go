package media

import (
	"encoding/binary"
	"errors"
)

// metadataSpans parses the top-level meta box (a full box) and returns the
// byte ranges holding the data of its metadata items: Exif, mime and 'uri '
// items (see metadataItems). Each range lies inside one of mdats or inside
// the meta box's idat.
func metadataSpans(data []byte, meta box, mdats []span) ([]span, error) {
	if meta.end-meta.body < 4 || data[meta.body] != 0 {
		return nil, malformed("heic: bad meta box header")
	}
	var iinf, iloc, idat box
	var hasIinf, hasIloc, hasIdat bool
	err := walk(data, meta.body+4, meta.end, func(b box) error {
		var seen *bool
		switch b.typ {
		case typeIinf:
			iinf, seen = b, &hasIinf
		case typeIloc:
			iloc, seen = b, &hasIloc
		case typeIdat:
			idat, seen = b, &hasIdat
		default:
			return nil
		}
		if *seen {
			return malformed("heic: duplicate %q box in meta", b.typ)
		}
		*seen = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !hasIinf || !hasIloc {
		return nil, malformed("heic: meta box lacks iinf or iloc")
	}
	ids, err := metadataItems(data, iinf)
	if err != nil {
		return nil, err
	}
	idatSpan := span{-1, -1}
	if hasIdat {
		idatSpan = span{idat.body, idat.end}
	}
	return itemExtents(data[iloc.body:iloc.end], ids, idatSpan, mdats)
}

// metadataItems returns the IDs of the items declared in iinf whose data is
// metadata rather than an image: item_type Exif, mime (XMP, whatever its
// declared content_type) or 'uri '. Items of infe versions 0 and 1, which
// have no item_type and are described only by a MIME content_type, count as
// mime items. Only the first infe boxes up to maxItems are accepted.
func metadataItems(data []byte, iinf box) (map[uint32]bool, error) {
	if iinf.end-iinf.body < 6 {
		return nil, malformed("heic: truncated iinf box")
	}
	first := iinf.body + 6 // version, flags, 16-bit entry_count
	if data[iinf.body] != 0 {
		first += 2 // 32-bit entry_count
	}
	if first > iinf.end {
		return nil, malformed("heic: truncated iinf box")
	}
	ids := make(map[uint32]bool)
	count := 0
	err := walk(data, first, iinf.end, func(b box) error {
		if b.typ != typeInfe {
			return nil
		}
		if count++; count > maxItems {
			return malformed("heic: more than %d items", maxItems)
		}
		body := data[b.body:b.end]
		if len(body) < 4 {
			return malformed("heic: truncated infe box at offset %d", b.start)
		}
		r := body[4:]
		switch v := body[0]; {
		case v < 2 && len(r) >= 2:
			ids[uint32(binary.BigEndian.Uint16(r))] = true
		case v == 2 && len(r) >= 8:
			if isMetadataItem(boxType(r[4:8])) {
				ids[uint32(binary.BigEndian.Uint16(r))] = true
			}
		case v == 3 && len(r) >= 10:
			if isMetadataItem(boxType(r[6:10])) {
				ids[binary.BigEndian.Uint32(r)] = true
			}
		default:
			return malformed("heic: bad infe box (version %d) at offset %d", v, b.start)
		}
		return nil
	})
	return ids, err
}

func isMetadataItem(t boxType) bool {
	return t == typeExif || t == typeMime || t == typeURI
}

// itemExtents parses an iloc box body (versions 0-2) and returns the extents
// of the items in ids, as absolute file ranges. Construction method 0
// (file offsets) extents must lie inside an mdat payload, method 1 extents
// (offsets into idat) inside the idat payload. A metadata item using method
// 2 (data taken from another item) or a zero extent length (meaning "the
// whole container") is refused rather than left uncleaned.
func itemExtents(b []byte, ids map[uint32]bool, idat span, mdats []span) ([]span, error) {
	r := reader{b: b}
	version := r.u8()
	r.skip(3) // flags
	sizes := r.u8()
	sizes2 := r.u8()
	offSize, lenSize, baseSize := int(sizes>>4), int(sizes&15), int(sizes2>>4)
	idxSize := 0
	var count uint32
	if version < 2 {
		count = uint32(r.u16())
	} else {
		count = r.u32()
	}
	if version > 0 {
		idxSize = int(sizes2 & 15)
	}
	switch {
	case r.short:
		return nil, malformed("heic: truncated iloc box")
	case version > 2:
		return nil, malformed("heic: unsupported iloc version %d", version)
	case !validIntSize(offSize) || !validIntSize(lenSize) || !validIntSize(baseSize) || !validIntSize(idxSize):
		return nil, malformed("heic: bad iloc field sizes %#02x %#02x", sizes, sizes2)
	case count > maxItems:
		return nil, malformed("heic: iloc lists %d items, limit %d", count, maxItems)
	}
	var spans []span
	extents := 0
	for range count {
		var id uint32
		if version < 2 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		method := 0
		if version > 0 {
			method = int(r.u16() & 15)
		}
		dataRef := r.u16()
		base := r.uint(baseSize)
		n := int(r.u16())
		if r.short {
			return nil, malformed("heic: truncated iloc box")
		}
		isMeta := ids[id]
		if method > 2 || (isMeta && method == 2) {
			return nil, malformed("heic: item %d uses unsupported construction method %d", id, method)
		}
		if extents += n; extents > maxExtents {
			return nil, malformed("heic: more than %d iloc extents", maxExtents)
		}
		for range n {
			r.uint(idxSize)
			off := r.uint(offSize)
			length := r.uint(lenSize)
			if r.short {
				return nil, malformed("heic: truncated iloc box")
			}
			if !isMeta || (method == 0 && dataRef != 0) {
				continue // not metadata, or its data is in another file
			}
			s, err := extentSpan(base, off, length, method, idat, mdats)
			if err != nil {
				return nil, malformed("heic: item %d: %v", id, err)
			}
			spans = append(spans, s)
		}
	}
	return spans, nil
}

// extentSpan converts an extent into an absolute file range and checks that
// it lies within one of the allowed containers.
func extentSpan(base, off, length uint64, method int, idat span, mdats []span) (span, error) {
	start := base + off
	end := start + length
	if length == 0 || start < base || end < start {
		return span{}, errBadExtent
	}
	if method == 1 {
		if idat.start < 0 || end > uint64(idat.end-idat.start) {
			return span{}, errBadExtent
		}
		return span{idat.start + int(start), idat.start + int(end)}, nil
	}
	for _, m := range mdats {
		if start >= uint64(m.start) && end <= uint64(m.end) {
			return span{int(start), int(end)}, nil
		}
	}
	return span{}, errBadExtent
}

var errBadExtent = errors.New("metadata extent is empty, overflows or lies outside mdat/idat")

func validIntSize(n int) bool { return n == 0 || n == 4 || n == 8 }

// reader reads big-endian integers from b. Reading past the end yields zeros
// and sets short, so callers check once after a group of reads.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) next(n int) []byte {
	if len(r.b) < n {
		r.short, r.b = true, nil
		return make([]byte, n)
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) skip(n int)  { r.next(n) }
func (r *reader) u8() uint8   { return r.next(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.next(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.next(4)) }
func (r *reader) uint(size int) uint64 {
	switch size {
	case 4:
		return uint64(r.u32())
	case 8:
		return binary.BigEndian.Uint64(r.next(8))
	}
	return 0
}
