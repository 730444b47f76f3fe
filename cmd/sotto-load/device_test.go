package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeEvents imitates sotto's events stream: the first connection says
// hello, sends two events and closes as a slow consumer (4008); the
// resumed one (?after=12) sends the next message twice (a duplicate seq).
func fakeEvents(t *testing.T, resumedAfter *atomic.Value) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			http.Error(w, `{"error":{"code":"unauthenticated"}}`, http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		send := func(s string) { _ = c.Write(ctx, websocket.MessageText, []byte(s)) }
		ev := func(seq int, kind, msg string) {
			send(fmt.Sprintf(`{"type":"event","seq":%d,"event":{"seq":%d,"kind":%q,"message_id":%q}}`, seq, seq, kind, msg))
		}
		after := r.URL.Query().Get("after")
		if after == "" {
			send(`{"type":"hello","seq":10}`)
			ev(11, "message.created", "m1")
			ev(12, "receipt.updated", "m1")
			c.Close(closeSlow, "too slow: resume with after=12")
			return
		}
		resumedAfter.Store(after)
		send(`{"type":"heartbeat","seq":12}`)
		ev(13, "message.created", "m2")
		ev(13, "message.created", "m2")
		<-ctx.Done()
	}
}

func TestDeviceResumesAfterSlowClose(t *testing.T) {
	var resumedAfter atomic.Value
	ts := httptest.NewServer(fakeEvents(t, &resumedAfter))
	defer ts.Close()
	a := newAPI(ts.URL, newSourceDialer(nil), 4)
	tr := newTracker(1, 0, func(string, *msgRec, int, int) {})
	now := time.Now()
	tr.Sent("m1", &msgRec{patient: 0, start: now}, now)
	tr.Sent("m2", &msgRec{patient: 0, start: now}, now)
	errs := newErrCounter()
	var connected atomic.Int64

	bad := &device{slot: 0, patient: 0, token: "wrong"}
	if err := bad.dial(context.Background(), a); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("dial with a bad token: %v, want HTTP 401", err)
	}

	d := &device{slot: 0, patient: 0, token: "tok-1"}
	if err := d.dial(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if d.last != 10 {
		t.Fatalf("after hello last = %d, want 10", d.last)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	connected.Add(1)
	go func() {
		d.run(ctx, deviceEnv{api: a, tr: tr, errs: errs, connected: &connected})
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for tr.Counts().Arrived < 2 || d.frames.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("frames did not arrive: %+v, %d frames", tr.Counts(), d.frames.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := resumedAfter.Load(); got != "12" {
		t.Fatalf("resumed with after=%v, want 12", got)
	}
	c := tr.Counts()
	if c.Lost != 0 || c.Duplicated != 1 || c.Arrived != 2 {
		t.Fatalf("counts %+v: want both messages, one duplicate", c)
	}
	e := errs.Snapshot()
	if e["ws: close 4008"] != 1 || e["ws: event seq not increasing"] != 1 || len(e) != 2 {
		t.Fatalf("errors %v", e)
	}
	if connected.Load() != 0 {
		t.Fatalf("connected = %d after the end, want 0", connected.Load())
	}
}
