package server

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sotto"
	"sotto/internal/realtime"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// BenchmarkEventFanout measures delivering live events to connected
// streams: 200 WebSocket connections of one patient (real connections
// over loopback, clients that only count frames), events published to
// the hub in bursts of 32 and waited for. It reports the process's CPU
// time (server and clients together) per frame delivered; ns/op is per
// event published (200 frames).
func BenchmarkEventFanout(b *testing.B) {
	const conns, burst = 200, 32
	raiseNofileForTest(b)
	w := newWorld(b, storetest.SQLite(b, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	var frames atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		c := dialEvents(b, addr, w.tokens["patient"])
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			countFrames(c, &frames)
		}()
	}
	waitStreams(b, w, conns)
	ev := &sotto.Event{OrgID: w.orgA, Kind: sotto.EventConversationUpdated, PatientID: w.p1.ID, ConversationID: w.conv1.ID,
		DepartmentID: w.depts["Nursing"], Category: sotto.CategoryGeneral, CreatedBy: w.users["nurse"].ID, CreatedAt: time.Now()}
	seq := int64(1 << 40) // above every seq of the store
	publish := func() {
		seq++
		e := *ev
		e.Seq = seq
		b, _ := json.Marshal(frame{Type: "event", Seq: seq, Event: &e})
		w.srv.hub.Publish(&realtime.Event{Seq: seq, Topics: []string{"patient:" + w.p1.ID}, Frame: b, Data: &liveEvent{ev: &e}})
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; {
		n := min(burst, b.N-i)
		want := frames.Load() + int64(n*conns)
		for range n {
			publish()
		}
		for frames.Load() < want {
			if w.srv.hub.Len() < conns {
				b.Fatalf("a stream was dropped: %d left", w.srv.hub.Len())
			}
			time.Sleep(20 * time.Microsecond)
		}
		i += n
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*conns), "cpu-ns/frame")
}

// countFrames reads server frames (unmasked) from c, counting them, until
// the connection ends.
func countFrames(c net.Conn, n *atomic.Int64) {
	r := bufio.NewReaderSize(c, 64<<10)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return
		}
		size := int64(hdr[1] & 0x7f)
		switch size {
		case 126:
			if _, err := io.ReadFull(r, hdr[:2]); err != nil {
				return
			}
			size = int64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(r, hdr[:8]); err != nil {
				return
			}
			size = int64(binary.BigEndian.Uint64(hdr[:8]))
		}
		if _, err := r.Discard(int(size)); err != nil {
			return
		}
		n.Add(1)
	}
}

// cpuTime returns this process's user + system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
