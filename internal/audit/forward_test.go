package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// collector is a loopback RFC 5425 syslog-over-TLS collector that records
// every message it reads (parsed with parseSyslog) and which connection
// carried it. It can be stopped and started again on the same address.
type collector struct {
	t         *testing.T
	serverTLS *tls.Config
	clientTLS *tls.Config
	addr      string
	// closeFirstAfter closes the first connection after that many frames
	// (0: never), dropping whatever it has not read.
	closeFirstAfter int

	mu    sync.Mutex
	ln    net.Listener
	open  []net.Conn
	conns int
	msgs  []received
	wg    sync.WaitGroup
}

// received is one message and the number of its connection (1, 2, ...).
type received struct {
	*syslogMsg
	conn int
}

// newCollector returns a collector with a fresh certificate and a reserved
// loopback address; it is not listening until start.
func newCollector(t *testing.T) *collector {
	t.Helper()
	s, c := testTLS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	col := &collector{t: t, serverTLS: s, clientTLS: c, addr: addr}
	t.Cleanup(col.stop)
	return col
}

func (c *collector) start() {
	c.t.Helper()
	ln, err := tls.Listen("tcp", c.addr, c.serverTLS)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conns++
			n := c.conns
			c.open = append(c.open, conn)
			c.mu.Unlock()
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.read(conn, n)
			}()
		}
	}()
}

func (c *collector) read(conn net.Conn, n int) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for frames := 1; ; frames++ {
		b, err := readFrame(r)
		if err != nil {
			return
		}
		m, err := parseSyslog(b)
		if err != nil {
			c.t.Errorf("collector: %v", err)
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, received{m, n})
		c.mu.Unlock()
		if n == 1 && frames == c.closeFirstAfter {
			return
		}
	}
}

// stop closes the listener and every connection, and waits for its
// goroutines.
func (c *collector) stop() {
	c.mu.Lock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, conn := range c.open {
		conn.Close()
	}
	c.open = nil
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *collector) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.msgs...)
}

func (c *collector) connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// waitFor polls until cond holds for what was received, failing the test
// after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// maxSeqs returns, per org, the highest seq received.
func maxSeqs(msgs []received) map[string]int64 {
	out := map[string]int64{}
	for _, m := range msgs {
		seq, _ := strconv.ParseInt(m.params["seq"], 10, 64)
		out[m.params["org"]] = max(out[m.params["org"]], seq)
	}
	return out
}

// caughtUp reports whether every org in want has been received up to its
// seq.
func caughtUp(col *collector, want map[string]int64) func() bool {
	return func() bool {
		got := maxSeqs(col.received())
		for org, n := range want {
			if got[org] < n {
				return false
			}
		}
		return true
	}
}

// checkTrail checks that org's messages hold its stored entries 1..n, in
// order and without gaps: every message either repeats an earlier seq
// (at-least-once) or is the next one. Each new entry must match the stored
// entry field for field. It returns how many messages were duplicates.
func checkTrail(t *testing.T, db *store.DB, msgs []received, org string, n int64) int {
	t.Helper()
	stored, err := List(context.Background(), db, Filter{OrgID: org, Limit: MaxLimit})
	if err != nil || int64(len(stored)) != n {
		t.Fatalf("org %s: %d stored entries, want %d: %v", org, len(stored), n, err)
	}
	var top int64
	dups := 0
	for _, m := range msgs {
		if m.params["org"] != org {
			continue
		}
		seq, err := strconv.ParseInt(m.params["seq"], 10, 64)
		if err != nil || seq < 1 || seq > n {
			t.Fatalf("org %s: bad seq %q", org, m.params["seq"])
		}
		if seq <= top {
			dups++
			continue
		}
		if seq != top+1 {
			t.Fatalf("org %s: gap: seq %d after %d", org, seq, top)
		}
		top = seq
		e := stored[seq-1]
		if want := entryParams(e); fmt.Sprint(m.params) != fmt.Sprint(want) {
			t.Fatalf("org %s seq %d params\n got %v\nwant %v", org, seq, m.params, want)
		}
		if m.pri != 110 || m.app != "sotto-test" || m.host != "forward-test" || m.msgID != e.Action || m.sdID != syslogSDID ||
			m.msg != e.Action+" "+e.Outcome {
			t.Fatalf("org %s seq %d header %+v", org, seq, m.syslogMsg)
		}
		if ts, err := time.Parse(time.RFC3339Nano, m.timestamp); err != nil || !ts.Equal(e.At) {
			t.Fatalf("org %s seq %d timestamp %q: %v", org, seq, m.timestamp, err)
		}
	}
	if top != n {
		t.Fatalf("org %s: received up to seq %d, want %d", org, top, n)
	}
	return dups
}

// entryParams is the SD-PARAMs a message about e must carry.
func entryParams(e *sotto.AuditEvent) map[string]string {
	p := map[string]string{"org": e.OrgID, "seq": strconv.FormatInt(e.Seq, 10), "id": e.ID, "actor": e.ActorID,
		"role": e.ActorRole, "action": e.Action, "outcome": e.Outcome, "target_type": e.TargetType, "target": e.TargetID,
		"patient": e.PatientID, "ip": e.SourceIP, "ua": e.UserAgent, "request": e.RequestID,
		"prev": hex.EncodeToString(e.PrevHash), "hash": hex.EncodeToString(e.Hash)}
	for k, v := range p {
		if v == "" {
			delete(p, k)
		}
	}
	return p
}

// Orgs of the forwarding tests.
const (
	orgA = "0190f3c2-0000-7000-8000-00000000000a"
	orgB = "0190f3c2-0000-7000-8000-00000000000b"
)

// forwardPatient is the patient id of org's entry i: an id, but one that
// must never appear in the forwarder's logs.
func forwardPatient(org string, i int) string {
	return fmt.Sprintf("0190f3c2-1111-7000-8000-%04s%08d", org[len(org)-4:], i)
}

// appendEntries appends n entries to org, one Write each, so that they
// interleave with other writers.
func appendEntries(t *testing.T, db *store.DB, org string, n int) {
	t.Helper()
	for i := range n {
		e := &sotto.AuditEvent{OrgID: org, ActorID: "0190f3c2-0000-7000-8000-0000000000a1", ActorRole: "nurse",
			Action: sotto.AuditMessageRead, TargetType: "patient", TargetID: forwardPatient(org, i), PatientID: forwardPatient(org, i),
			Outcome: sotto.AuditSuccess, SourceIP: "192.0.2.7", UserAgent: `agent "x" ] ü`, RequestID: "req-" + strconv.Itoa(i)}
		if err := db.Write(context.Background(), func(tx *store.Tx) error { return Append(tx, e) }); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// syncLog is a goroutine-safe log buffer.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runForwarder starts a forwarder of db to col with small batches and short
// backoffs; the returned stop cancels it, waits for Run and closes the sink.
func runForwarder(t *testing.T, db *store.DB, col *collector, logs *syncLog) (*Forwarder, func()) {
	t.Helper()
	if logs == nil {
		logs = &syncLog{}
	}
	sink := NewSyslogSink(col.addr, col.clientTLS, "sotto-test", "forward-test")
	fw := NewForwarder(db, sink, ForwarderOptions{Batch: 7, Poll: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 80 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fw.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			sink.Close()
		})
	}
	t.Cleanup(stop)
	return fw, stop
}

// cursor returns org's stored forwarding cursor.
func cursor(t *testing.T, db *store.DB, org string) int64 {
	t.Helper()
	st, err := db.AuditForwardState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.OrgID == org {
			return s.Cursor
		}
	}
	t.Fatalf("org %s has no trail", org)
	return 0
}

// checkLogs fails if the forwarder's logs hold any event data.
func checkLogs(t *testing.T, logs *syncLog, orgs map[string]int64) {
	t.Helper()
	out := logs.String()
	for org, n := range orgs {
		for i := range int(n) {
			if strings.Contains(out, forwardPatient(org, i)) {
				t.Fatalf("logs hold a patient id:\n%s", out)
			}
		}
	}
	for _, s := range []string{"agent", "req-", "192.0.2.7", "0000000000a1"} {
		if strings.Contains(out, s) {
			t.Fatalf("logs hold event data %q:\n%s", s, out)
		}
	}
}

// (a) Entries written before and after the start all arrive, once each,
// in order, exactly as stored; the cursor follows and the lag drains.
func TestForwardDeliversInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		col.start()
		appendEntries(t, db, orgA, 30)
		fw, _ := runForwarder(t, db, col, nil)
		waitFor(t, "the first 30 entries arrive", caughtUp(col, map[string]int64{orgA: 30}))
		appendEntries(t, db, orgA, 12)
		want := map[string]int64{orgA: 42}
		waitFor(t, "all 42 entries arrive", caughtUp(col, want))
		msgs := col.received()
		if dups := checkTrail(t, db, msgs, orgA, 42); dups != 0 || len(msgs) != 42 {
			t.Fatalf("%d messages with %d duplicates, want 42 without", len(msgs), dups)
		}
		waitFor(t, "the cursor and lag catch up", func() bool { return cursor(t, db, orgA) == 42 && fw.Lag() == 0 })
	})
}

// (b) Collector down at start: the forwarder retries, reports the lag,
// and delivers everything once the collector is up.
func TestForwardCollectorDownAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		logs := &syncLog{}
		appendEntries(t, db, orgA, 20)
		fw, _ := runForwarder(t, db, col, logs)
		waitFor(t, "a failure is logged", func() bool { return strings.Contains(logs.String(), "SIEM forwarding failed") })
		appendEntries(t, db, orgA, 5)
		waitFor(t, "the lag counts every entry", func() bool { return fw.Lag() == 25 })
		if c := cursor(t, db, orgA); c != 0 {
			t.Fatalf("cursor %d while the collector is down", c)
		}
		col.start()
		want := map[string]int64{orgA: 25}
		waitFor(t, "all entries arrive", caughtUp(col, want))
		checkTrail(t, db, col.received(), orgA, 25)
		waitFor(t, "recovery is logged and the lag drains", func() bool {
			return strings.Contains(logs.String(), "SIEM forwarding resumed") && fw.Lag() == 0
		})
		checkLogs(t, logs, want)
	})
}

// (c) The collector drops the connection mid-stream, unread frames and
// all: the forwarder reconnects and re-sends; nothing is missing.
func TestForwardReconnectsMidStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		col.closeFirstAfter = 10
		col.start()
		logs := &syncLog{}
		appendEntries(t, db, orgA, 60)
		appendEntries(t, db, orgB, 15)
		fw, _ := runForwarder(t, db, col, logs)
		want := map[string]int64{orgA: 60, orgB: 15}
		waitFor(t, "all entries arrive", caughtUp(col, want))
		msgs := col.received()
		checkTrail(t, db, msgs, orgA, 60)
		checkTrail(t, db, msgs, orgB, 15)
		if !strings.Contains(logs.String(), "connection to the audit collector was lost") {
			t.Fatalf("the loss is not logged:\n%s", logs.String())
		}
		if n := col.connections(); n < 2 {
			t.Fatalf("%d connections: the collector's close went unnoticed", n)
		}
		waitFor(t, "the cursors catch up", func() bool {
			return cursor(t, db, orgA) == 60 && cursor(t, db, orgB) == 15 && fw.Lag() == 0
		})
		checkLogs(t, logs, want)
	})
}

// (d) A new forwarder resumes from the stored cursor: it sends nothing the
// first one had stored as sent.
func TestForwardResumesAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		col.start()
		appendEntries(t, db, orgA, 80)
		_, stop := runForwarder(t, db, col, nil)
		waitFor(t, "some entries arrive", caughtUp(col, map[string]int64{orgA: 15}))
		stop()
		first := len(col.received())
		c := cursor(t, db, orgA)
		if c < 1 || first > int(c)+7 { // at most the in-flight batch (7) beyond the cursor
			t.Fatalf("first forwarder: cursor %d after %d messages", c, first)
		}
		appendEntries(t, db, orgA, 10)
		runForwarder(t, db, col, nil)
		waitFor(t, "all entries arrive", caughtUp(col, map[string]int64{orgA: 90}))
		msgs := col.received()
		checkTrail(t, db, msgs, orgA, 90)
		lastConn := col.connections()
		var resent []int64
		for _, m := range msgs {
			if m.conn == lastConn {
				seq, _ := strconv.ParseInt(m.params["seq"], 10, 64)
				resent = append(resent, seq)
			}
		}
		if len(resent) == 0 || resent[0] != c+1 || len(resent) != int(90-c) {
			t.Fatalf("second forwarder sent %v, want seqs %d to 90", resent, c+1)
		}
	})
}

// (e) Two orgs written in turn, before and during forwarding: each org's
// trail arrives whole and in order.
func TestForwardInterleavedOrgs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		col.start()
		for range 5 {
			appendEntries(t, db, orgA, 3)
			appendEntries(t, db, orgB, 2)
		}
		appendEntries(t, db, sotto.SystemOrgID, 2)
		fw, _ := runForwarder(t, db, col, nil)
		for range 25 {
			appendEntries(t, db, orgB, 1)
			appendEntries(t, db, orgA, 1)
		}
		want := map[string]int64{orgA: 40, orgB: 35, sotto.SystemOrgID: 2}
		waitFor(t, "all entries arrive", caughtUp(col, want))
		msgs := col.received()
		for org, n := range want {
			if dups := checkTrail(t, db, msgs, org, n); dups != 0 {
				t.Fatalf("org %s: %d duplicates without any disconnection", org, dups)
			}
		}
		if len(msgs) != 77 {
			t.Fatalf("%d messages, want 77", len(msgs))
		}
		waitFor(t, "the lag drains", func() bool { return fw.Lag() == 0 })
	})
}

// An operator moving the cursor back makes the forwarder send again from
// there; a cursor ahead of the trail (a database restored from an older
// backup) is brought back to the head, and new entries are sent.
func TestForwardFollowsCursorChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		col := newCollector(t)
		col.start()
		logs := &syncLog{}
		appendEntries(t, db, orgA, 10)
		runForwarder(t, db, col, logs)
		waitFor(t, "all entries arrive", caughtUp(col, map[string]int64{orgA: 10}))
		waitFor(t, "the cursor is stored", func() bool { return cursor(t, db, orgA) == 10 })
		setCursor := func(seq int64) {
			t.Helper()
			if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.SetAuditForwarded(orgA, seq) }); err != nil {
				t.Fatal(err)
			}
		}
		setCursor(4)
		waitFor(t, "entries 5 to 10 arrive again", func() bool { return len(col.received()) == 16 })
		var again []string
		for _, m := range col.received()[10:] {
			again = append(again, m.params["seq"])
		}
		if fmt.Sprint(again) != "[5 6 7 8 9 10]" {
			t.Fatalf("sent again: %v", again)
		}
		waitFor(t, "the cursor is back at the head", func() bool { return cursor(t, db, orgA) == 10 })
		setCursor(50)
		waitFor(t, "the cursor is reset to the head", func() bool { return cursor(t, db, orgA) == 10 })
		if !strings.Contains(logs.String(), "behind the SIEM cursor") {
			t.Fatalf("the reset is not logged:\n%s", logs.String())
		}
		appendEntries(t, db, orgA, 2)
		waitFor(t, "new entries arrive", caughtUp(col, map[string]int64{orgA: 12}))
		if n := len(col.received()); n != 18 {
			t.Fatalf("%d messages, want 18", n)
		}
	})
}
