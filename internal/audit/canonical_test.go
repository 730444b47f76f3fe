package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
)

// fixedEvent is the test vector event of TestCanonicalKnownAnswer.
func fixedEvent() *sotto.AuditEvent {
	return &sotto.AuditEvent{
		ID:         "0190f3c2-7a1e-7c3d-9d2f-3b1e5a6c7d8e",
		OrgID:      "0190f3c2-0000-7000-8000-000000000001",
		Seq:        1,
		At:         time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC),
		ActorID:    "0190f3c2-0000-7000-8000-0000000000a1",
		ActorRole:  "provider",
		Action:     sotto.AuditPatientView,
		TargetType: "patient",
		TargetID:   "0190f3c2-0000-7000-8000-0000000000b2",
		PatientID:  "0190f3c2-0000-7000-8000-0000000000b2",
		Outcome:    sotto.AuditSuccess,
		SourceIP:   "198.51.100.7",
		UserAgent:  "Mozilla/5.0",
		RequestID:  "req-42",
		PrevHash:   make([]byte, 32),
	}
}

// referenceCanonical re-implements the encoding from the package doc
// alone, as an auditor would.
func referenceCanonical(e *sotto.AuditEvent) []byte {
	var b bytes.Buffer
	str := func(s string) {
		binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	str("sotto.audit.v1")
	str(e.OrgID)
	binary.Write(&b, binary.BigEndian, e.Seq)
	str(e.ID)
	binary.Write(&b, binary.BigEndian, e.At.UnixMicro())
	for _, s := range []string{e.ActorID, e.ActorRole, e.Action, e.TargetType, e.TargetID,
		e.PatientID, e.Outcome, e.SourceIP, e.UserAgent, e.RequestID} {
		str(s)
	}
	str(string(e.PrevHash))
	return b.Bytes()
}

func TestCanonicalKnownAnswer(t *testing.T) {
	e := fixedEvent()
	got := audit.Canonical(e)
	if want := referenceCanonical(e); !bytes.Equal(got, want) {
		t.Fatalf("Canonical differs from the documented encoding:\n got %x\nwant %x", got, want)
	}
	sum := sha256.Sum256(append(append([]byte{}, e.PrevHash...), got...))
	if h := audit.EntryHash(e); !bytes.Equal(h, sum[:]) {
		t.Fatalf("EntryHash = %x, want SHA-256(prev || canonical) = %x", h, sum)
	}
	// Pinned: changing the encoding breaks every stored chain.
	const want = "e47668ee09968b0802307301de8d0221e9d2d37837cf93cd1937b7df4d81c344"
	if h := hex.EncodeToString(audit.EntryHash(e)); h != want {
		t.Fatalf("test vector hash = %s, want %s", h, want)
	}
}

func TestCanonicalCoversEveryFieldButHash(t *testing.T) {
	base := fixedEvent()
	h0 := audit.EntryHash(base)
	v := reflect.ValueOf(base).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		e := fixedEvent()
		f := reflect.ValueOf(e).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Slice:
			f.SetBytes(append(f.Bytes(), 1))
		case reflect.Struct: // time.Time
			f.Set(reflect.ValueOf(e.At.Add(time.Microsecond)))
		default:
			t.Fatalf("field %s of kind %s not covered by this test", name, f.Kind())
		}
		changed := !bytes.Equal(audit.EntryHash(e), h0)
		if changed != (name != "Hash") {
			t.Errorf("changing %s: hash changed = %v", name, changed)
		}
	}
}

func TestCanonicalFieldBoundaries(t *testing.T) {
	a, b := fixedEvent(), fixedEvent()
	a.TargetType, a.TargetID = "patientx", "y"
	b.TargetType, b.TargetID = "patient", "xy"
	if bytes.Equal(audit.Canonical(a), audit.Canonical(b)) {
		t.Fatal("moving a byte across a field boundary kept the encoding")
	}
}

// decodeCanonical parses the documented encoding back into an event.
func decodeCanonical(b []byte) (*sotto.AuditEvent, error) {
	bad := errors.New("malformed encoding")
	u32 := func() (int, bool) {
		if len(b) < 4 {
			return 0, false
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		return int(n), uint64(n) <= uint64(len(b))
	}
	str := func() (string, bool) {
		n, ok := u32()
		if !ok {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	i64 := func() (int64, bool) {
		if len(b) < 8 {
			return 0, false
		}
		v := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		return v, true
	}
	var e sotto.AuditEvent
	tag, ok := str()
	if !ok || tag != "sotto.audit.v1" {
		return nil, bad
	}
	var at int64
	ok1 := true
	for _, step := range []func() bool{
		func() bool { e.OrgID, ok = str(); return ok },
		func() bool { e.Seq, ok = i64(); return ok },
		func() bool { e.ID, ok = str(); return ok },
		func() bool { at, ok = i64(); return ok },
		func() bool { e.ActorID, ok = str(); return ok },
		func() bool { e.ActorRole, ok = str(); return ok },
		func() bool { e.Action, ok = str(); return ok },
		func() bool { e.TargetType, ok = str(); return ok },
		func() bool { e.TargetID, ok = str(); return ok },
		func() bool { e.PatientID, ok = str(); return ok },
		func() bool { e.Outcome, ok = str(); return ok },
		func() bool { e.SourceIP, ok = str(); return ok },
		func() bool { e.UserAgent, ok = str(); return ok },
		func() bool { e.RequestID, ok = str(); return ok },
		func() bool { var p string; p, ok = str(); e.PrevHash = []byte(p); return ok },
	} {
		ok1 = ok1 && step()
	}
	if !ok1 || len(b) != 0 {
		return nil, bad
	}
	e.At = time.UnixMicro(at).UTC()
	return &e, nil
}

func FuzzCanonicalRoundTrip(f *testing.F) {
	e := fixedEvent()
	f.Add(e.OrgID, e.Seq, e.ID, e.At.UnixMicro(), e.ActorID, e.Action, e.UserAgent, e.PatientID, []byte{1, 2, 3})
	f.Add("", int64(-1), "", int64(-62135596800000000), "", "", "\x00\xff", "", []byte{})
	f.Fuzz(func(t *testing.T, org string, seq int64, id string, at int64, actor, action, ua, patient string, prev []byte) {
		in := &sotto.AuditEvent{OrgID: org, Seq: seq, ID: id, At: time.UnixMicro(at).UTC(), ActorID: actor,
			ActorRole: "nurse", Action: action, TargetType: "patient", TargetID: patient, PatientID: patient,
			Outcome: "success", UserAgent: ua, RequestID: "r", PrevHash: prev}
		enc := audit.Canonical(in)
		if !bytes.Equal(enc, referenceCanonical(in)) {
			t.Fatal("Canonical differs from the reference encoding")
		}
		out, err := decodeCanonical(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(out.PrevHash) == 0 && len(in.PrevHash) == 0 {
			out.PrevHash = in.PrevHash
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
		}
		if !bytes.Equal(audit.EntryHash(in), audit.EntryHash(out)) {
			t.Fatal("hash is not deterministic")
		}
	})
}
