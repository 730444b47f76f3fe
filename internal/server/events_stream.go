package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/realtime"
)

// streamTuning holds an events stream's timings (tests shorten them).
type streamTuning struct {
	heartbeat    time.Duration // heartbeat frame and session check interval
	writeTimeout time.Duration // one frame write, and one session check
}

// stream is one live events connection after the handshake.
//
// Memory per idle connection is what limits how many a server holds (see
// docs/performance.md, "Memory per idle connection"), so an idle stream owns
// exactly one goroutine: coder/websocket's reader, started by CloseRead,
// which answers pings, completes close handshakes, refuses data frames and
// notices the peer going away. No goroutine waits on the hub or a ticker.
//
// Everything else runs in the pump, a goroutine that exists only while
// there is work: events the hub queued (its wake starts the pump), a
// heartbeat due (a timer starts it), delivery receipts due (likewise), or
// the reader having ended. Only one pump runs at a time (see kick), so
// frames are written by one writer, in order, and the fields marked
// "pump-owned" need no lock: successive pumps are ordered by kicks.
type stream struct {
	s            *Server
	c            *caller
	conn         *websocket.Conn
	raw          net.Conn // the hijacked connection under conn, for write deadlines
	sub          *realtime.Sub
	tune         streamTuning
	receiptAudit *sotto.AuditEvent // patients' streams: template of delivery audit entries

	// kicks counts requests for work since the pump last found none; the
	// request that raises it from zero runs the pump (pumpFn is st.pump).
	kicks    atomic.Int64
	pumpFn   func()
	beatDue  atomic.Bool // the heartbeat timer fired
	flushDue atomic.Bool // the delivery-receipt timer fired
	gone     atomic.Bool // the reader ended: the connection is closed

	// Pump-owned.
	last    int64          // highest seq sent
	pending []*sotto.Event // message.created events to mark delivered
	beat    *time.Timer    // heartbeat: armed while the stream is open
	flush   *time.Timer    // delivery receipts: armed while pending is not empty
	ended   bool           // closed: later pumps do nothing
}

// start subscribes, starts the reader, replays or says hello, and arms the
// heartbeat, all as the pump (kicks starts at 1, so that events queued
// meanwhile wait), then runs the pump once more to release it.
func (st *stream) start() {
	st.kicks.Store(1)
	st.pumpFn = st.pump
	c := st.c
	topics := []string{"staff:" + c.user.OrgID}
	limit := staffStreamBuffer // a staff inbox sees a whole organization's traffic
	if !c.user.Role.IsStaff() {
		topics = topics[:0]
		for _, p := range c.actor.PatientIDs {
			topics = append(topics, "patient:"+p)
		}
		limit = patientStreamBuffer
	}
	st.sub = st.s.hub.SubscribeNotify(topics, func(e *realtime.Event) bool {
		le := e.Data.(*liveEvent)
		return visible(c, le.ev, le.scope)
	}, limit, func() { st.kick(false) }) // the hub's wake must not block: start a goroutine

	// The reader cancels rctx when the connection ends for any reason; a
	// registered function (no goroutine until then) tells the pump.
	rctx := st.conn.CloseRead(context.Background())
	context.AfterFunc(rctx, func() {
		st.gone.Store(true)
		st.kick(true)
	})
	if st.begin(rctx) {
		st.beat = time.AfterFunc(st.tune.heartbeat, func() {
			st.beatDue.Store(true)
			st.kick(true)
		})
	} else {
		st.close(0, "") // begin has closed the connection with its reason
	}
	st.pump()
}

// begin replays what the client missed (after=SEQ) or sends the hello
// frame with the current head of the log. It reports whether the stream
// goes on; if not, the connection is already closed with a reason.
func (st *stream) begin(ctx context.Context) bool {
	if st.last > 0 {
		return st.replay(ctx)
	}
	seq, err := st.s.db.LastEventSeq(ctx)
	if err != nil {
		st.conn.Close(websocket.StatusInternalError, "try again")
		return false
	}
	st.last = seq
	return st.write(frame{Type: "hello", Seq: seq}) == nil
}

// kick asks for the pump to run. If none is running, this call runs it:
// in this goroutine when inline (a timer or context callback, which has a
// goroutine of its own), else in a new one (the hub's wake, which must not
// block). Otherwise the running pump sees the raised count and goes round
// again.
func (st *stream) kick(inline bool) {
	if st.kicks.Add(1) != 1 {
		return
	}
	if inline {
		st.pump()
	} else {
		go st.pumpFn() // a func value made once: starting it allocates nothing
	}
}

// pump does the stream's work until a round ends with no kick having
// arrived during it, then stops (kicks back to zero). Whatever a kick
// signalled was set before the kick, so a round that started after it sees
// it.
func (st *stream) pump() {
	for {
		n := st.kicks.Load()
		st.work()
		if st.kicks.CompareAndSwap(n, 0) {
			return
		}
	}
}

// work is one round of the pump: end if the reader has; write the queued
// events; end if the subscription has; record due delivery receipts; send
// a due heartbeat after checking the session.
func (st *stream) work() {
	if st.ended {
		return
	}
	if st.gone.Load() {
		st.close(0, "")
		return
	}
	var taken [16]*realtime.Event // on the stack: a burst of up to 16 allocates nothing
	if evs := st.sub.Take(taken[:0]); len(evs) > 0 {
		for _, e := range evs {
			if e.Seq <= st.last {
				continue
			}
			if st.writeFrame(e.Frame) != nil {
				st.close(0, "")
				return
			}
			st.last = e.Seq
			st.noteDelivered(e.Data.(*liveEvent).ev)
		}
		// Go round again: take until nothing is left before reading the
		// subscription's end (see Sub.Take), letting a due heartbeat or
		// receipt flush in between batches.
		st.kicks.Add(1)
	} else if err := st.sub.Err(); err != nil {
		if errors.Is(err, realtime.ErrSlow) {
			st.close(closeSlow, "too slow: resume with after="+strconv.FormatInt(st.last, 10))
		} else {
			st.close(websocket.StatusGoingAway, "server shutting down")
		}
		return
	}
	if st.flushDue.Swap(false) {
		st.flushDelivered()
	}
	if st.beatDue.Swap(false) {
		ctx, cancel := context.WithTimeout(context.Background(), st.tune.writeTimeout)
		live := st.s.sessionLive(ctx, st.c)
		cancel()
		if !live {
			st.close(closeSessionEnded, "session ended")
			return
		}
		if st.write(frame{Type: "heartbeat", Seq: st.last}) != nil {
			st.close(0, "")
			return
		}
		st.beat.Reset(st.tune.heartbeat)
	}
}

// close ends the stream: it leaves the hub, stops its timers, records the
// pending delivery receipts and closes the connection, with code and
// reason unless code is 0 (the connection is gone or already closed).
// Pump-owned.
func (st *stream) close(code websocket.StatusCode, reason string) {
	st.ended = true
	st.sub.Close()
	if st.beat != nil {
		st.beat.Stop()
	}
	if st.flush != nil {
		st.flush.Stop()
	}
	st.flushDelivered()
	if code != 0 {
		st.conn.Close(code, reason)
	}
	st.conn.CloseNow()
}

func (st *stream) write(f frame) error {
	b, _ := json.Marshal(f)
	return st.writeFrame(b)
}

// writeFrame writes one text frame, giving up after the write timeout (a
// client that stopped reading); the caller closes the stream on failure.
//
// The timeout is a deadline on the connection, not a context: the
// WebSocket library keeps the context of the last write until the next
// one (in its message writer), which for a context with a deadline is a
// timer, its context and a channel held per idle connection.
func (st *stream) writeFrame(b []byte) error {
	if err := st.raw.SetWriteDeadline(time.Now().Add(st.tune.writeTimeout)); err != nil {
		return err
	}
	err := st.conn.Write(context.Background(), websocket.MessageText, b)
	if err == nil {
		// Clear it: the reader's pong and close replies write too.
		err = st.raw.SetWriteDeadline(time.Time{})
	}
	return err
}
