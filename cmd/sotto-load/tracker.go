package main

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Every simulated device has a slot in the delivery bookkeeping of a
// message: slots 0..D-1 are the devices of the message's patient (D
// devices per patient), slots D..D+M-1 the staff devices (staff in the
// department see every message).

// msgRec is what the tracker knows of one message the load tool sent.
type msgRec struct {
	patient int           // index of the patient whose conversation it is in
	byStaff bool          // a staff reply (else the patient wrote it)
	warmup  bool          // sent during warm-up: counted, but not in latencies
	start   time.Time     // just before the POST was issued
	got     []uint8       // arrivals per slot (saturating at 255)
	posted  time.Duration // POST round trip
}

// arrival is a frame that reached a device before its POST answered.
type arrival struct {
	slot    int
	patient int // the device's patient (patient slots only)
	at      time.Time
}

// onArrival is called (outside the tracker's locks) for every first
// arrival of a tracked message on a device, to drive the simulated
// users' reactions (staff replies, patients' read receipts).
type onArrival func(id string, rec *msgRec, slot, devPatient int)

// tracker records every sent message and every message.created frame
// that reaches a device, and derives latencies, losses and duplicates.
type tracker struct {
	pslots int // devices per patient
	slots  int // pslots + number of staff devices
	react  onArrival
	seed   maphash.Seed
	shards [64]trackShard

	e2e, post       hist // send → frame arrival; POST round trip
	dups, misrouted atomic.Int64
	sent            atomic.Int64
}

type trackShard struct {
	mu    sync.Mutex
	msgs  map[string]*msgRec
	early map[string][]arrival
}

func newTracker(patientDevices, staffDevices int, react onArrival) *tracker {
	t := &tracker{pslots: patientDevices, slots: patientDevices + staffDevices, react: react, seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].msgs = map[string]*msgRec{}
		t.shards[i].early = map[string][]arrival{}
	}
	return t
}

func (t *tracker) shard(id string) *trackShard {
	return &t.shards[maphash.String(t.seed, id)%uint64(len(t.shards))]
}

// Sent registers a message once its POST answered 201 with its id; the
// frames that arrived before the answer are accounted for now.
func (t *tracker) Sent(id string, rec *msgRec, answered time.Time) {
	rec.got = make([]uint8, t.slots)
	rec.posted = answered.Sub(rec.start)
	if !rec.warmup {
		t.post.Record(rec.posted)
	}
	t.sent.Add(1)
	sh := t.shard(id)
	sh.mu.Lock()
	sh.msgs[id] = rec
	early := sh.early[id]
	delete(sh.early, id)
	var first []arrival
	for _, a := range early {
		if t.countLocked(rec, a) {
			first = append(first, a)
		}
	}
	sh.mu.Unlock()
	for _, a := range first {
		t.react(id, rec, a.slot, a.patient)
	}
}

// Arrived records a message.created frame for id on the device in slot
// (devPatient is the patient of a patient device).
func (t *tracker) Arrived(id string, slot, devPatient int, at time.Time) {
	a := arrival{slot: slot, patient: devPatient, at: at}
	sh := t.shard(id)
	sh.mu.Lock()
	rec := sh.msgs[id]
	if rec == nil {
		sh.early[id] = append(sh.early[id], a)
		sh.mu.Unlock()
		return
	}
	first := t.countLocked(rec, a)
	sh.mu.Unlock()
	if first {
		t.react(id, rec, slot, devPatient)
	}
}

// countLocked counts arrival a of rec and reports whether it is the first
// on its device. A patient device receiving another patient's message is
// misrouted (a privacy failure), not an arrival.
func (t *tracker) countLocked(rec *msgRec, a arrival) bool {
	if a.slot < t.pslots && a.patient != rec.patient {
		t.misrouted.Add(1)
		return false
	}
	if rec.got[a.slot] < 255 {
		rec.got[a.slot]++
	}
	if rec.got[a.slot] > 1 {
		t.dups.Add(1)
		return false
	}
	if !rec.warmup {
		t.e2e.Record(a.at.Sub(rec.start))
	}
	return true
}

// deliveryCounts are the tracker's totals at one moment.
type deliveryCounts struct {
	Messages   int64 `json:"messages_tracked"`
	Expected   int64 `json:"expected_deliveries"`
	Arrived    int64 `json:"arrived"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Misrouted  int64 `json:"misrouted"`
	Untracked  int64 `json:"untracked_frames"` // message.created for ids this run did not (knowingly) send
}

// Counts tallies expected, arrived and missing deliveries. Called during
// the grace period it tells how many are still in flight; after it, the
// missing ones are lost.
func (t *tracker) Counts() deliveryCounts {
	var c deliveryCounts
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, rec := range sh.msgs {
			c.Messages++
			for _, g := range rec.got {
				c.Expected++
				if g > 0 {
					c.Arrived++
				} else {
					c.Lost++
				}
			}
		}
		for _, as := range sh.early {
			c.Untracked += int64(len(as))
		}
		sh.mu.Unlock()
	}
	c.Duplicated, c.Misrouted = t.dups.Load(), t.misrouted.Load()
	return c
}
