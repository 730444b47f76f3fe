package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/realtime"
	"sotto/internal/store"
)

// Live-update tuning.
const (
	heartbeatEvery    = 25 * time.Second
	frameWriteTimeout = 10 * time.Second
	replayWindow      = 5000 // events replayed on resume before the client is told to reload
	replayPage        = 500
	deliverFlush      = 500 * time.Millisecond

	// Events queued for a stream (besides the batch being written) before
	// it counts as too slow. The queue grows on demand: an idle stream
	// holds none.
	patientStreamBuffer = 64
	staffStreamBuffer   = 1024 // a staff inbox sees a whole organization's traffic
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
	return s.openStream(w, r, streamTuning{heartbeat: heartbeatEvery, writeTimeout: frameWriteTimeout})
}

// openStream authenticates the caller, upgrades the connection, replays or
// says hello, and hands the stream over to its reader goroutine (see
// stream): the handler returns, and net/http's request state (the request,
// its buffers, the handler goroutine and its stack) with it.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request, tune streamTuning) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	after, err := queryCursor(r, "after")
	if err != nil {
		return err
	}
	sb := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(sb, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	if sb.conn == nil { // Accept hijacked through another writer: cannot happen with coder/websocket v1.8
		conn.CloseNow()
		return nil
	}
	st := &stream{s: s, c: c.forStream(), conn: conn, raw: sb.conn, tune: tune, last: after}
	if !c.user.Role.IsStaff() {
		// Patients' devices record delivery receipts, audited as made by
		// this connection's upgrade request.
		st.receiptAudit = s.callerEvent(r, c, sotto.AuditMessageDeliver, sotto.AuditSuccess)
	}
	st.start()
	return nil
}

// forStream returns the part of c an events stream keeps for its lifetime
// (hours): what the access filter, the session check and delivery
// receipts need. The user's name and e-mail, the session's times and the
// rest are left to the garbage collector.
func (c *caller) forStream() *caller {
	return &caller{
		user:  &sotto.User{ID: c.user.ID, OrgID: c.user.OrgID, Role: c.user.Role},
		sess:  &store.Session{TokenHash: c.sess.TokenHash, UserID: c.sess.UserID, OrgID: c.sess.OrgID},
		actor: c.actor,
		perms: c.perms,
		idle:  c.idle,
	}
}
