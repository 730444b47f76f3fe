package server

import (
	"bytes"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// BenchmarkIdleEventStreams opens b.N real WebSocket connections to the
// events stream over loopback (the patient's token, as many devices) and
// holds them idle, then reports what the process holds per connection:
//
//	rss-B/conn        growth of VmRSS (as the process is, no forced GC)
//	rss-min-B/conn    growth of VmRSS after a GC and debug.FreeOSMemory
//	heap-B/conn       live heap after a GC (/gc/heap/live)
//	stack-B/conn      goroutine stack memory (/memory/classes/heap/stacks)
//	goroutines/conn
//
// The clients are raw TCP connections that did the handshake by hand and
// never read again: no client goroutine, about 0.3 KB each of the figures
// (their net.TCPConn; see the heap profile). Run with -benchtime=5000x
// (each connection is two file descriptors in this one process). With
// SOTTO_EVENTS_PROFILE_DIR set it writes heap.pprof and goroutine.pprof
// there while the connections are held. Figures: docs/performance.md.
func BenchmarkIdleEventStreams(b *testing.B) {
	raiseNofileForTest(b)
	w := newWorld(b, storetest.SQLite(b, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	token := w.tokens["patient"]

	// Warm up: one connection and a few GCs so that lazily built state
	// (caches, pools, the first handshake's allocations) is not counted.
	warm := dialEvents(b, addr, token)
	waitStreams(b, w, 1)
	m0, rss0 := memSnapshot(true)
	min0 := rssAfterFree()

	b.ResetTimer()
	conns := make([]net.Conn, b.N)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				conns[i] = dialEvents(b, addr, token)
			}
		}()
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	waitStreams(b, w, b.N+1)
	b.StopTimer()
	time.Sleep(time.Second) // let handler goroutines finish and the heap settle
	m1, rss1 := memSnapshot(false)
	runtime.GC()
	m1 = readMetrics()
	min1 := rssAfterFree()
	if dir := os.Getenv("SOTTO_EVENTS_PROFILE_DIR"); dir != "" {
		writeProfile(b, filepath.Join(dir, "heap.pprof"), "heap")
		writeProfile(b, filepath.Join(dir, "goroutine.pprof"), "goroutine")
	}
	n := float64(b.N)
	b.ReportMetric(float64(rss1-rss0)/n, "rss-B/conn")
	b.ReportMetric(float64(min1-min0)/n, "rss-min-B/conn")
	b.ReportMetric((m1.heap-m0.heap)/n, "heap-B/conn")
	b.ReportMetric((m1.stacks-m0.stacks)/n, "stack-B/conn")
	b.ReportMetric((m1.goroutines-m0.goroutines)/n, "goroutines/conn")

	for _, c := range conns {
		c.Close()
	}
	warm.Close()
}

// dialEvents opens the events stream with token by a hand-made handshake
// and returns once the hello frame arrived. The connection is not read
// again, so the client side keeps no goroutine.
func dialEvents(tb testing.TB, addr, token string) net.Conn {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /api/v1/events HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", addr, token)
	var got []byte
	buf := make([]byte, 512)
	for !bytes.Contains(got, []byte(`"type":"hello"`)) {
		n, err := c.Read(buf)
		if err != nil {
			tb.Fatalf("events handshake: %v after %q", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) {
		tb.Fatalf("events handshake answered %q", got)
	}
	c.SetDeadline(time.Time{})
	return c
}

// waitStreams waits until n event streams are subscribed.
func waitStreams(tb testing.TB, w *world, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for w.srv.hub.Len() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d event streams subscribed", w.srv.hub.Len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memFigures are the runtime metrics the benchmark reports.
type memFigures struct{ heap, stacks, goroutines float64 }

func readMetrics() memFigures {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	return memFigures{heap: float64(s[0].Value.Uint64()), stacks: float64(s[1].Value.Uint64()), goroutines: float64(s[2].Value.Uint64())}
}

// memSnapshot returns the metrics (after a GC when gc is set) and VmRSS.
func memSnapshot(gc bool) (memFigures, int64) {
	if gc {
		runtime.GC()
		runtime.GC()
	}
	return readMetrics(), vmRSS()
}

// rssAfterFree returns VmRSS after returning every free page to the OS.
func rssAfterFree() int64 {
	debug.FreeOSMemory()
	return vmRSS()
}

// vmRSS reads this process's resident set size in bytes.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func writeProfile(tb testing.TB, path, name string) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// raiseNofileForTest lifts the open-files limit to its maximum: each
// held connection is two descriptors in this process.
func raiseNofileForTest(tb testing.TB) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}
