package audit

import (
	"crypto/sha256"
	"encoding/binary"

	"sotto"
)

// encodingTag is the first field of every canonical encoding; a future
// incompatible encoding gets a new tag.
const encodingTag = "sotto.audit.v1"

// HashLen is the length of chain hashes (SHA-256).
const HashLen = sha256.Size

// GenesisHash returns the PrevHash of an org's first entry: 32 zero bytes.
func GenesisHash() []byte { return make([]byte, HashLen) }

// Canonical returns the canonical encoding of e (see the package doc): the
// bytes its Hash covers, after PrevHash. Anyone may call it, e.g. to check
// an exported entry. It never fails.
func Canonical(e *sotto.AuditEvent) []byte {
	return appendCanonical(make([]byte, 0, canonicalSize(e)), e)
}

// EntryHash returns SHA-256(e.PrevHash || Canonical(e)): the Hash e must
// carry. Anyone may call it. It never fails.
func EntryHash(e *sotto.AuditEvent) []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	h.Write(Canonical(e))
	return h.Sum(nil)
}

// hasher computes entry hashes with reused buffers, for Verify's loop.
type hasher struct{ buf []byte }

func (h *hasher) hash(e *sotto.AuditEvent) [HashLen]byte {
	h.buf = append(h.buf[:0], e.PrevHash...)
	h.buf = appendCanonical(h.buf, e)
	return sha256.Sum256(h.buf)
}

func canonicalSize(e *sotto.AuditEvent) int {
	n := 2 * 8
	for _, s := range canonicalStrings(e) {
		n += 4 + len(s)
	}
	return n + 4 + len(encodingTag) + 4 + len(e.PrevHash)
}

// canonicalStrings lists the string fields after at (fields 6 to 15).
func canonicalStrings(e *sotto.AuditEvent) [10]string {
	return [10]string{e.ActorID, e.ActorRole, e.Action, e.TargetType, e.TargetID,
		e.PatientID, e.Outcome, e.SourceIP, e.UserAgent, e.RequestID}
}

func appendCanonical(b []byte, e *sotto.AuditEvent) []byte {
	b = appendStr(b, encodingTag)
	b = appendStr(b, e.OrgID)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = appendStr(b, e.ID)
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, s := range canonicalStrings(e) {
		b = appendStr(b, s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.PrevHash)))
	return append(b, e.PrevHash...)
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
