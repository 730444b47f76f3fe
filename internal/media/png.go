package media

import (
	"encoding/binary"
	"hash/crc32"
)

// pngKeep lists the chunks copied to the cleaned file: the critical chunks
// and the ancillary chunks that affect how pixels are rendered (transparency,
// colour space, gamma, significant bits, background, pixel aspect). Every
// other ancillary chunk is dropped, notably tEXt, zTXt, iTXt (free text,
// XMP), eXIf (Exif, GPS), tIME (modification time), sPLT, hIST and private
// chunks.
//
// The APNG chunks acTL, fcTL and fdAT are dropped as well: attachments are
// photos, and without them an animated PNG is still a valid PNG showing its
// default image (the IDAT data). This keeps the kept-chunk set small and
// avoids carrying frames that most decoders ignore.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true,
	"sBIT": true, "pHYs": true, "bKGD": true,
	"cICP": true, "mDCV": true, "cLLI": true, // PNG 3rd edition colour/HDR
}

// cleanPNG validates the chunk structure of a PNG file (lengths, chunk type
// letters, CRCs, IHDR first, at least one IDAT, IEND last) and rebuilds it
// from the chunks in pngKeep. An unknown critical chunk is malformed, since
// no decoder could render the file. Bytes after IEND are dropped.
func cleanPNG(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	out = append(out, pngSignature...)
	pos := len(pngSignature)
	var sawIDAT bool
	for first := true; ; first = false {
		if len(data)-pos < 12 {
			return nil, malformed("png: truncated chunk at offset %d (no IEND)", pos)
		}
		length := binary.BigEndian.Uint32(data[pos:])
		if length > 1<<31-1 || uint64(length) > uint64(len(data)-pos-12) {
			return nil, malformed("png: chunk at offset %d has bad length %d", pos, length)
		}
		typ := data[pos+4 : pos+8]
		for _, c := range typ {
			if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
				return nil, malformed("png: bad chunk type at offset %d", pos)
			}
		}
		body := pos + 8 + int(length)
		end := body + 4
		if crc32.ChecksumIEEE(data[pos+4:body]) != binary.BigEndian.Uint32(data[body:]) {
			return nil, malformed("png: CRC mismatch in %s chunk at offset %d", typ, pos)
		}
		name := string(typ)
		switch {
		case first && (name != "IHDR" || length != 13):
			return nil, malformed("png: first chunk is not a valid IHDR")
		case !first && name == "IHDR":
			return nil, malformed("png: duplicate IHDR at offset %d", pos)
		case name == "IDAT":
			sawIDAT = true
		case name == "IEND":
			if !sawIDAT || length != 0 {
				return nil, malformed("png: IEND at offset %d is not empty or precedes every IDAT", pos)
			}
			return append(out, data[pos:end]...), nil
		}
		if pngKeep[name] {
			out = append(out, data[pos:end]...)
		} else if typ[0]&0x20 == 0 {
			return nil, malformed("png: unknown critical chunk %s at offset %d", typ, pos)
		}
		pos = end
	}
}
