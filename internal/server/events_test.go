package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/realtime"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// streamServer serves only the events stream of w's server, with tune's
// timings instead of the production ones.
func (w *world) streamServer(tune streamTuning) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := w.srv.openStream(rw, r, tune); err != nil {
			w.srv.serveError(rw, r, err)
		}
	}))
	w.t.Cleanup(ts.Close)
	return ts
}

// dialStream opens ts's events stream as role, with a fixed client receive
// buffer of rcvbuf bytes unless 0 (so that a client that stops reading
// pushes back after a known amount), and returns the connection and its
// hello frame.
func (w *world) dialStream(ts *httptest.Server, role string, rcvbuf int) (*websocket.Conn, frame) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + w.tokens[role]}}}
	if rcvbuf > 0 {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(rcvbuf)
			}
			return c, err
		}}}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/api/v1/events", opts)
	if err != nil {
		w.t.Fatalf("%s: dial events: %v", role, err)
	}
	w.t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(1 << 20)
	f := readFrame(w.t, conn)
	if f.Type != "hello" {
		w.t.Fatalf("%s: first frame %+v, want hello", role, f)
	}
	return conn, f
}

// readFrame reads one frame (failing after 10 s or on a close).
func readFrame(t testing.TB, conn *websocket.Conn) frame {
	t.Helper()
	f, err := tryReadFrame(conn)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

func tryReadFrame(conn *websocket.Conn) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var f frame
	_, b, err := conn.Read(ctx)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("frame is not JSON: %q", b[:min(len(b), 200)])
	}
	return f, nil
}

// wantClose reads until the connection ends and checks its close code.
func wantClose(t testing.TB, conn *websocket.Conn, code websocket.StatusCode) websocket.CloseError {
	t.Helper()
	for {
		f, err := tryReadFrame(conn)
		if err == nil {
			if f.Type == "heartbeat" {
				continue
			}
			t.Fatalf("frame %+v, want close %d", f, code)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		return ce
	}
}

// TestEventStreamHeartbeatAndSessionEnd: an idle stream gets heartbeat
// frames carrying its cursor, and the first heartbeat after the session is
// revoked closes the socket with 4001.
func TestEventStreamHeartbeatAndSessionEnd(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := w.streamServer(streamTuning{heartbeat: 50 * time.Millisecond, writeTimeout: 5 * time.Second})
	conn, hello := w.dialStream(ts, "patient", 0)
	for range 3 {
		if f := readFrame(t, conn); f.Type != "heartbeat" || f.Seq != hello.Seq {
			t.Fatalf("frame %+v, want a heartbeat at seq %d", f, hello.Seq)
		}
	}
	err := w.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.RevokeUserSessions(w.users["patient"].ID, w.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wantClose(t, conn, closeSessionEnded)
	waitLen(t, w.srv.hub, 0)
}

// TestEventStreamIdleTimeoutEnds: the session's idle timeout passing (the
// server's clock moves on) also ends the stream at the next heartbeat.
func TestEventStreamIdleTimeoutEnds(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := w.streamServer(streamTuning{heartbeat: 50 * time.Millisecond, writeTimeout: 5 * time.Second})
	conn, _ := w.dialStream(ts, "nurse", 0)
	readFrame(t, conn) // a heartbeat: the session is live
	w.clock.Add(24 * time.Hour)
	wantClose(t, conn, closeSessionEnded)
}

// TestEventStreamPingAndDataFrames: the stream's reader answers the
// client's pings while idle, and a data frame from the client (the stream
// takes none) closes it with 1008.
func TestEventStreamPingAndDataFrames(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	conn, _ := w.dialStream(ts, "patient", 0)
	ended := make(chan error, 1)
	go func() { // Ping needs a reader on the client side too
		for {
			if _, err := tryReadFrame(conn); err != nil {
				ended <- err
				return
			}
		}
	}()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("after a data frame: %v, want close 1008", err)
		}
	case <-ctx.Done():
		t.Fatal("the stream did not close after a data frame")
	}
	// The server side lets go later: the library's reader, which sent the
	// close, waits for itself (15 s) before it ends.
}

// TestEventStreamSlowConsumer: a client that stops reading while events
// keep coming is dropped with 4008 once its queue overflows, after every
// event queued before the drop, and the close reason names the cursor to
// resume from: no event before it was skipped.
func TestEventStreamSlowConsumer(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := w.streamServer(streamTuning{heartbeat: time.Hour, writeTimeout: time.Minute})
	conn, hello := w.dialStream(ts, "patient", 1<<20)

	// 300 frames of 64 KiB: far more than the socket buffers (at most
	// 4 MiB on the server's side, 2 MiB on the client's, about 96 frames)
	// plus the stream's queue of patientStreamBuffer hold.
	pad := strings.Repeat("x", 64<<10)
	const n = 300
	for i := int64(1); i <= n; i++ {
		seq := hello.Seq + i
		ev := &sotto.Event{Seq: seq, OrgID: w.orgA, Kind: sotto.EventConversationUpdated, PatientID: w.p1.ID,
			ConversationID: w.conv1.ID, DepartmentID: w.depts["Nursing"], Category: sotto.CategoryGeneral, CreatedBy: w.users["nurse"].ID}
		b, _ := json.Marshal(struct {
			frame
			Pad string `json:"pad"`
		}{frame{Type: "event", Seq: seq, Event: ev}, pad})
		w.srv.hub.Publish(&realtime.Event{Seq: seq, Topics: []string{"patient:" + w.p1.ID}, Frame: b, Data: &liveEvent{ev: ev}})
	}
	last := hello.Seq
	for {
		f, err := tryReadFrame(conn)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != closeSlow {
				t.Fatalf("after %d events: %v, want close %d", last-hello.Seq, err, closeSlow)
			}
			if want := fmt.Sprintf("after=%d", last); !strings.HasSuffix(ce.Reason, want) {
				t.Fatalf("close reason %q, want it to end with %q", ce.Reason, want)
			}
			break
		}
		if f.Type != "event" || f.Seq != last+1 {
			t.Fatalf("frame %s %d after %d: want the next event", f.Type, f.Seq, last)
		}
		last = f.Seq
	}
	if got := last - hello.Seq; got < patientStreamBuffer || got >= n {
		t.Fatalf("%d events delivered before the drop: want at least the queue (%d) and fewer than all %d", got, patientStreamBuffer, n)
	}
	waitLen(t, w.srv.hub, 0)
}

// TestEventStreamEndings: a client going away leaves the hub; server
// shutdown closes the others with 1001 so that they resume elsewhere.
func TestEventStreamEndings(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	a, _ := w.dialStream(ts, "patient", 0)
	b, _ := w.dialStream(ts, "nurse", 0)
	waitLen(t, w.srv.hub, 2)
	a.Close(websocket.StatusNormalClosure, "")
	waitLen(t, w.srv.hub, 1)
	w.srv.Close()
	wantClose(t, b, websocket.StatusGoingAway)
}

// TestEventStreamEarlyFrame: a frame the client sends right behind its
// upgrade request (in the same packet, before the 101) is not lost when
// the connection is handed over with smaller buffers: a ping sent so is
// answered.
func TestEventStreamEarlyFrame(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	mask := [4]byte{1, 2, 3, 4}
	ping := []byte{0x89, 0x80 | 5, mask[0], mask[1], mask[2], mask[3]} // FIN+ping, masked, 5 bytes
	for i, ch := range []byte("early") {
		ping = append(ping, ch^mask[i%4])
	}
	req := fmt.Sprintf("GET /api/v1/events HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", addr, w.tokens["patient"])
	if _, err := c.Write(append([]byte(req), ping...)); err != nil {
		t.Fatal(err)
	}
	pong := []byte{0x8a, 5, 'e', 'a', 'r', 'l', 'y'}
	var got []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(got, pong) || !bytes.Contains(got, []byte(`"type":"hello"`)) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%v after %q: want the 101, the hello and the pong", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("answer %q", got)
	}
}

// waitLen waits until h has n live subscriptions.
func waitLen(t testing.TB, h *realtime.Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d live subscriptions, want %d", h.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
