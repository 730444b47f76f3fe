package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// replay sends the events after st.last the caller may see, from the
// store's log, up to replayWindow; beyond it the client is told to reload.
// It reports whether the stream goes on (if not, the connection is closed
// with a reason). It runs as the pump, before the stream goes live.
func (st *stream) replay(ctx context.Context) bool {
	head, err := st.s.db.LastEventSeq(ctx)
	if err != nil {
		st.conn.Close(websocket.StatusInternalError, "try again")
		return false
	}
	if st.last > head {
		// A cursor from the future (another server, a restored database):
		// resuming from it would skip everything, so the client reloads.
		st.write(frame{Type: "reset", Seq: head})
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
				if st.writeFrame(b) != nil {
					return false
				}
				st.noteDelivered(ev)
			}
			st.last = ev.Seq
			if sent++; sent > replayWindow {
				st.write(frame{Type: "reset", Seq: st.last})
				st.conn.Close(closeResetRequired, "too far behind: reload")
				return false
			}
		}
		if len(evs) < replayPage {
			return true
		}
	}
}

// noteDelivered remembers a new message that reached a patient's device,
// so that its delivery receipt is recorded within deliverFlush: once per
// message and user, however many devices the user has connected.
// Pump-owned.
func (st *stream) noteDelivered(ev *sotto.Event) {
	if ev.Kind != sotto.EventMessageCreated || st.c.user.Role.IsStaff() || ev.CreatedBy == st.c.user.ID ||
		!st.s.delivered.add(ev.MessageID+"/"+st.c.user.ID) {
		return
	}
	st.pending = append(st.pending, ev)
	if len(st.pending) > 1 {
		return // the timer is already armed
	}
	if st.flush == nil {
		st.flush = time.AfterFunc(deliverFlush, func() {
			st.flushDue.Store(true)
			st.kick(true)
		})
	} else {
		st.flush.Reset(deliverFlush)
	}
}

// flushDelivered records the pending delivery receipts in one write.
// Pump-owned.
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
			aev := *st.receiptAudit // a fresh copy each run: the closure may run twice
			aev.TargetType, aev.TargetID, aev.PatientID = "message", ev.MessageID, ev.PatientID
			if err := audit.Append(tx, &aev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		failed(err)
	}
}
