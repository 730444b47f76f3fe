package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/realtime"
	"sotto/internal/store"
)

// Live-update tuning.
const (
	heartbeatEvery   = 25 * time.Second
	frameWriteTimout = 10 * time.Second
	replayWindow     = 5000 // events replayed on resume before the client is told to reload
	replayPage       = 500
	deliverFlush     = 500 * time.Millisecond

	patientStreamBuffer = 64   // events queued per patient stream before it counts as too slow
	staffStreamBuffer   = 1024 // the same for a staff stream
)

// WebSocket close codes of the events stream (4000-4999 are ours).
const (
	closeSlow          websocket.StatusCode = 4008 // too slow to keep up: resume with after=SEQ
	closeSessionEnded  websocket.StatusCode = 4001 // signed out, expired or disabled
	closeResetRequired websocket.StatusCode = 4010 // the gap is too large to replay: reload
)

// liveEvent is what the hub carries for each committed event: the event
// and its patient's care team, for the subscribers' access filters.
type liveEvent struct {
	ev    *sotto.Event
	scope store.PatientScope
}

// frame is one JSON text frame of the events stream.
type frame struct {
	Type  string       `json:"type"` // hello, event, heartbeat, reset
	Seq   int64        `json:"seq,omitempty"`
	Event *sotto.Event `json:"event,omitempty"`
}

// publish arranges for ev to reach live subscribers once tx commits, in
// commit order. Frames hold ids and kinds only, never PHI: clients fetch
// what they are allowed to read through the audited API.
func (s *Server) publish(tx *store.Tx, ev *sotto.Event, scope store.PatientScope) {
	if ev == nil {
		return
	}
	b, _ := json.Marshal(frame{Type: "event", Seq: ev.Seq, Event: ev})
	topics := []string{"staff:" + ev.OrgID}
	if ev.PatientID != "" && !ev.Internal && ev.Category != sotto.CategoryInternal {
		topics = append(topics, "patient:"+ev.PatientID)
	}
	live := &realtime.Event{Seq: ev.Seq, Topics: topics, Frame: b, Data: &liveEvent{ev: ev, scope: scope}}
	tx.AfterCommitOrdered(func() { s.hub.Publish(live) })
}

// visible reports whether caller c may see event ev (with its patient's
// scope): the same policy as reading the conversation.
func visible(c *caller, ev *sotto.Event, scope store.PatientScope) bool {
	if ev.OrgID != c.user.OrgID {
		return false
	}
	if !c.user.Role.IsStaff() && (ev.Internal || ev.Category == sotto.CategoryInternal) {
		return false
	}
	subj := ev.Subject()
	subj.CareTeam, subj.PatientDepartments = scope.CareTeam, scope.Departments
	return sotto.Decide(c.perms, c.actor, subj, sotto.ActionRead).Allow
}

// events upgrades to a WebSocket streaming every event the caller may see.
// With ?after=SEQ it first replays what the caller missed since SEQ.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	after, err := queryCursor(r, "after")
	if err != nil {
		return err
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	st := &stream{s: s, c: c, req: r, conn: conn, last: after}
	st.run(ctx)
	return nil
}

// stream is one live events connection.
type stream struct {
	s       *Server
	c       *caller
	req     *http.Request // the upgrade request, for audit entries
	conn    *websocket.Conn
	last    int64          // highest seq sent
	pending []*sotto.Event // message.created events to mark delivered
}

// run subscribes, replays, then forwards live events until the connection,
// the session or the server ends.
func (st *stream) run(ctx context.Context) {
	c := st.c
	topics := []string{"staff:" + c.user.OrgID}
	if !c.user.Role.IsStaff() {
		topics = topics[:0]
		for _, p := range c.actor.PatientIDs {
			topics = append(topics, "patient:"+p)
		}
	}
	buffer := patientStreamBuffer
	if c.user.Role.IsStaff() {
		buffer = staffStreamBuffer // a staff inbox sees a whole organization's traffic
	}
	sub := st.s.hub.SubscribeBuffer(topics, func(e *realtime.Event) bool {
		le := e.Data.(*liveEvent)
		return visible(c, le.ev, le.scope)
	}, buffer)
	defer sub.Close()

	if st.last > 0 {
		if !st.replay(ctx) {
			return
		}
	} else {
		seq, err := st.s.db.LastEventSeq(ctx)
		if err != nil {
			st.conn.Close(websocket.StatusInternalError, "try again")
			return
		}
		st.last = seq
		if st.write(ctx, frame{Type: "hello", Seq: seq}) != nil {
			return
		}
	}
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	flush := time.NewTicker(deliverFlush)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			st.flushDelivered()
			return
		case e, ok := <-sub.C():
			if !ok {
				st.flushDelivered()
				switch {
				case errors.Is(sub.Err(), realtime.ErrSlow):
					st.conn.Close(closeSlow, "too slow: resume with after="+strconv.FormatInt(st.last, 10))
				default:
					st.conn.Close(websocket.StatusGoingAway, "server shutting down")
				}
				return
			}
			if e.Seq <= st.last {
				continue
			}
			if st.writeRaw(ctx, e.Frame) != nil {
				return
			}
			st.last = e.Seq
			st.noteDelivered(e.Data.(*liveEvent).ev)
		case <-flush.C:
			st.flushDelivered()
		case <-heartbeat.C:
			if !st.s.sessionLive(ctx, st.c) {
				st.conn.Close(closeSessionEnded, "session ended")
				return
			}
			if st.write(ctx, frame{Type: "heartbeat", Seq: st.last}) != nil {
				return
			}
		}
	}
}

// replay sends the events after st.last the caller may see, from the
// store's log, up to replayWindow; beyond it the client is told to reload.
func (st *stream) replay(ctx context.Context) bool {
	head, err := st.s.db.LastEventSeq(ctx)
	if err != nil {
		st.conn.Close(websocket.StatusInternalError, "try again")
		return false
	}
	if st.last > head {
		// A cursor from the future (another server, a restored database):
		// resuming from it would skip everything, so the client reloads.
		st.write(ctx, frame{Type: "reset", Seq: head})
		st.conn.Close(closeResetRequired, "unknown cursor: reload")
		return false
	}
	scopes := map[string]store.PatientScope{}
	sent := 0
	for {
		evs, err := st.s.db.EventsAfter(ctx, st.c.user.OrgID, st.last, replayPage)
		if err != nil {
			st.conn.Close(websocket.StatusInternalError, "try again")
			return false
		}
		for _, ev := range evs {
			sc, ok := scopes[ev.PatientID]
			if !ok && ev.PatientID != "" {
				if sc, err = st.s.db.PatientScope(ctx, ev.PatientID); err != nil {
					st.conn.Close(websocket.StatusInternalError, "try again")
					return false
				}
				scopes[ev.PatientID] = sc
			}
			if visible(st.c, ev, sc) {
				b, _ := json.Marshal(frame{Type: "event", Seq: ev.Seq, Event: ev})
				if st.writeRaw(ctx, b) != nil {
					return false
				}
				st.noteDelivered(ev)
			}
			st.last = ev.Seq
			if sent++; sent > replayWindow {
				st.write(ctx, frame{Type: "reset", Seq: st.last})
				st.conn.Close(closeResetRequired, "too far behind: reload")
				return false
			}
		}
		if len(evs) < replayPage {
			return true
		}
	}
}

func (st *stream) write(ctx context.Context, f frame) error {
	b, _ := json.Marshal(f)
	return st.writeRaw(ctx, b)
}

func (st *stream) writeRaw(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, frameWriteTimout)
	defer cancel()
	return st.conn.Write(ctx, websocket.MessageText, b)
}

// noteDelivered remembers a new message that reached a patient's device,
// so that its delivery receipt is recorded: once per message and user,
// however many devices the user has connected.
func (st *stream) noteDelivered(ev *sotto.Event) {
	if ev.Kind == sotto.EventMessageCreated && !st.c.user.Role.IsStaff() && ev.CreatedBy != st.c.user.ID &&
		st.s.delivered.add(ev.MessageID+"/"+st.c.user.ID) {
		st.pending = append(st.pending, ev)
	}
}

// flushDelivered records the pending delivery receipts in one write.
func (st *stream) flushDelivered() {
	if len(st.pending) == 0 {
		return
	}
	evs := st.pending
	st.pending = nil
	s, c := st.s, st.c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := func(err error) {
		s.log.Error("recording delivery receipts failed", "user_id", c.user.ID, "error", err.Error())
		for _, ev := range evs {
			s.delivered.remove(ev.MessageID + "/" + c.user.ID)
		}
	}
	scopes := map[string]store.PatientScope{}
	for _, ev := range evs {
		if _, ok := scopes[ev.PatientID]; !ok && ev.PatientID != "" {
			sc, err := s.db.PatientScope(ctx, ev.PatientID)
			if err != nil {
				failed(err)
				return
			}
			scopes[ev.PatientID] = sc
		}
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		for _, ev := range evs {
			conv := &sotto.Conversation{ID: ev.ConversationID, OrgID: ev.OrgID, PatientID: ev.PatientID, DepartmentID: ev.DepartmentID,
				AssigneeID: ev.AssigneeID, Category: ev.Category}
			rev, err := tx.MarkReceipt(conv, &sotto.Message{ID: ev.MessageID, Internal: ev.Internal}, c.user.ID, false)
			if err != nil {
				return err
			}
			if rev == nil {
				continue
			}
			s.publish(tx, rev, scopes[ev.PatientID])
			aev := s.callerEvent(st.req, c, sotto.AuditMessageDeliver, sotto.AuditSuccess)
			aev.TargetType, aev.TargetID, aev.PatientID = "message", ev.MessageID, ev.PatientID
			if err := audit.Append(tx, aev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		failed(err)
	}
}
