package media

import (
	"bytes"
	"encoding/binary"
)

// Helpers that build synthetic ISO BMFF (HEIF) files.

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// uintN encodes v in size bytes (0, 4 or 8).
func uintN(size int, v uint64) []byte {
	switch size {
	case 4:
		return u32(uint32(v))
	case 8:
		return binary.BigEndian.AppendUint64(nil, v)
	}
	return nil
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func bmff(typ string, parts ...[]byte) []byte {
	body := cat(parts...)
	return cat(u32(uint32(8+len(body))), []byte(typ), body)
}

func fullBox(typ string, version byte, parts ...[]byte) []byte {
	return bmff(typ, append([][]byte{{version, 0, 0, 0}}, parts...)...)
}

// infe builds an item info entry of version 2 (16-bit ID) or 3 (32-bit ID).
func infe(version byte, id uint32, typ string, extra string) []byte {
	idb := u16(uint16(id))
	if version == 3 {
		idb = u32(id)
	}
	return fullBox("infe", version, idb, u16(0), []byte(typ), []byte("\x00"+extra))
}

type ilocExtent struct{ index, off, length uint64 }

type ilocItem struct {
	id      uint32
	method  uint16
	base    uint64
	extents []ilocExtent
}

// iloc builds an iloc box of the given version and field sizes.
func iloc(version byte, offSize, lenSize, baseSize, idxSize int, items []ilocItem) []byte {
	b := []byte{byte(offSize<<4 | lenSize), byte(baseSize<<4 | idxSize)}
	if version < 2 {
		b = append(b, u16(uint16(len(items)))...)
	} else {
		b = append(b, u32(uint32(len(items)))...)
	}
	for _, it := range items {
		if version < 2 {
			b = append(b, u16(uint16(it.id))...)
		} else {
			b = append(b, u32(it.id)...)
		}
		if version > 0 {
			b = append(b, u16(it.method)...)
		}
		b = append(b, u16(0)...) // data_reference_index
		b = append(b, uintN(baseSize, it.base)...)
		b = append(b, u16(uint16(len(it.extents)))...)
		for _, e := range it.extents {
			if version > 0 {
				b = append(b, uintN(idxSize, e.index)...)
			}
			b = append(b, uintN(offSize, e.off)...)
			b = append(b, uintN(lenSize, e.length)...)
		}
	}
	return fullBox("iloc", version, b)
}

// heicFile is a synthetic HEIC file with the ranges Clean must zero and the
// ranges of image data it must leave alone.
type heicFile struct {
	data   []byte
	zeroed []span
	image  []span
}

var (
	hvcTileA = bytes.Repeat([]byte("HVC1-TILE-A-"), 4)
	hvcTileB = bytes.Repeat([]byte("HVC1-TILE-B-"), 3)
	exifItem = cat(u32(6), []byte("Exif\x00\x00"), tiffWithSecrets(binary.BigEndian, 6))
	xmpItem  = []byte(`<x:xmpmeta><rdf:Description exif:` + secretGPS + `="48,51.5N"/></x:xmpmeta>`)
	staleBox = bmff("free", []byte("stale "+secretSerial))
)

// heicSample builds a HEIC file whose iloc box has the given version:
//
//   - 0: offsets 4, lengths 4, no base offset; all data in mdat.
//   - 1: base offsets 4 (the image item is relative to the mdat payload);
//     the XMP item lives in idat (construction method 1).
//   - 2: 32-bit item IDs (infe version 3), 8-byte offsets and base offsets,
//     4-byte extent indexes.
//
// Item 1 (hvc1) has two extents around the Exif data; item 2 is Exif;
// item 3 is a mime item holding XMP. A stale free box precedes mdat.
func heicSample(version byte) heicFile {
	idBase := uint32(0)
	infeVersion := byte(2)
	if version == 2 {
		idBase, infeVersion = 70000, 3
	}
	ftyp := bmff("ftyp", []byte("heic"), u32(0), []byte("mif1heic"))
	mdatBody := cat(hvcTileA, exifItem, hvcTileB)
	if version != 1 {
		mdatBody = append(mdatBody, xmpItem...)
	}
	offA, offExif := 0, len(hvcTileA)
	offB, offXMP := offExif+len(exifItem), offExif+len(exifItem)+len(hvcTileB)

	buildMeta := func(mdatStart int) []byte {
		abs := func(off int) uint64 { return uint64(mdatStart + off) }
		var items []ilocItem
		var idat []byte
		switch version {
		case 0:
			items = []ilocItem{
				{id: 1, extents: []ilocExtent{{0, abs(offA), uint64(len(hvcTileA))}, {0, abs(offB), uint64(len(hvcTileB))}}},
				{id: 2, extents: []ilocExtent{{0, abs(offExif), uint64(len(exifItem))}}},
				{id: 3, extents: []ilocExtent{{0, abs(offXMP), uint64(len(xmpItem))}}},
			}
		case 1:
			idat = bmff("idat", []byte("pad!"), xmpItem)
			items = []ilocItem{
				{id: 1, base: abs(0), extents: []ilocExtent{{0, uint64(offA), uint64(len(hvcTileA))}, {0, uint64(offB), uint64(len(hvcTileB))}}},
				{id: 2, extents: []ilocExtent{{0, abs(offExif), uint64(len(exifItem))}}},
				{id: 3, method: 1, base: 4, extents: []ilocExtent{{0, 0, uint64(len(xmpItem))}}},
			}
		case 2:
			items = []ilocItem{
				{id: idBase + 1, base: abs(0), extents: []ilocExtent{{1, uint64(offA), uint64(len(hvcTileA))}, {2, uint64(offB), uint64(len(hvcTileB))}}},
				{id: idBase + 2, base: abs(offExif), extents: []ilocExtent{{0, 0, uint64(len(exifItem))}}},
				{id: idBase + 3, base: abs(offXMP), extents: []ilocExtent{{0, 0, uint64(len(xmpItem))}}},
			}
		}
		sizes := map[byte][4]int{0: {4, 4, 0, 0}, 1: {4, 4, 4, 0}, 2: {8, 4, 8, 4}}[version]
		iinfCount := u16(3)
		if version > 0 {
			iinfCount = u32(3)
		}
		return fullBox("meta", 0,
			fullBox("hdlr", 0, u32(0), []byte("pict"), make([]byte, 12), []byte("\x00")),
			fullBox("pitm", 0, u16(uint16(idBase+1))),
			fullBox("iinf", min(version, 1), iinfCount,
				infe(infeVersion, idBase+1, "hvc1", ""),
				infe(infeVersion, idBase+2, "Exif", ""),
				infe(infeVersion, idBase+3, "mime", "application/rdf+xml\x00"),
			),
			iloc(version, sizes[0], sizes[1], sizes[2], sizes[3], items),
			idat,
		)
	}
	metaLen := len(buildMeta(0))
	mdatStart := len(ftyp) + metaLen + len(staleBox) + 8
	meta := buildMeta(mdatStart)
	data := cat(ftyp, meta, staleBox, bmff("mdat", mdatBody))

	f := heicFile{data: data}
	at := func(off, n int) span { return span{mdatStart + off, mdatStart + off + n} }
	f.image = []span{at(offA, len(hvcTileA)), at(offB, len(hvcTileB))}
	f.zeroed = []span{at(offExif, len(exifItem))}
	staleStart := len(ftyp) + metaLen
	f.zeroed = append(f.zeroed, span{staleStart + 8, staleStart + len(staleBox)})
	if version == 1 {
		i := bytes.Index(meta, xmpItem)
		f.zeroed = append(f.zeroed, span{len(ftyp) + i, len(ftyp) + i + len(xmpItem)})
	} else {
		f.zeroed = append(f.zeroed, at(offXMP, len(xmpItem)))
	}
	return f
}
