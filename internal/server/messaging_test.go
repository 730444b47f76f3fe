package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// device is one WebSocket connection to the events stream.
type device struct {
	t    testing.TB
	name string
	conn *websocket.Conn
	last int64
}

// connect opens the events stream as role, resuming after seq when > 0,
// and consumes the hello frame of a fresh connection.
func (w *world) connect(ts *httptest.Server, role string, after int64) *device {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/events"
	if after > 0 {
		url += "?after=" + itoa64(after)
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + w.tokens[role]}}})
	if err != nil {
		w.t.Fatalf("%s: dial events: %v", role, err)
	}
	d := &device{t: w.t, name: role, conn: conn, last: after}
	w.t.Cleanup(func() { conn.CloseNow() })
	if after == 0 {
		f := d.next()
		if f.Type != "hello" {
			w.t.Fatalf("%s: first frame %+v, want hello", role, f)
		}
		d.last = f.Seq
	}
	return d
}

// next reads the next non-heartbeat frame (failing after 10 s).
func (d *device) next() frame {
	d.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := d.conn.Read(ctx)
		cancel()
		if err != nil {
			d.t.Fatalf("%s: read frame: %v", d.name, err)
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			d.t.Fatalf("%s: frame is not JSON: %q", d.name, b)
		}
		if f.Type == "heartbeat" {
			continue
		}
		if f.Type == "event" {
			if f.Seq <= d.last {
				d.t.Fatalf("%s: seq %d after %d: duplicate or out of order", d.name, f.Seq, d.last)
			}
			d.last = f.Seq
		}
		return f
	}
}

// expect reads frames until an event of kind about message id arrives,
// failing on any message.created event for another message first.
func (d *device) expect(kind, messageID string) *sotto.Event {
	d.t.Helper()
	for {
		f := d.next()
		if f.Type != "event" {
			d.t.Fatalf("%s: frame %+v, want event", d.name, f)
		}
		if f.Event.Kind == kind && f.Event.MessageID == messageID {
			return f.Event
		}
		if f.Event.Kind == sotto.EventMessageCreated {
			d.t.Fatalf("%s: got message.created for %s while waiting for %s of %s", d.name, f.Event.MessageID, kind, messageID)
		}
	}
}

// send posts a message to conv as role and returns it.
func (w *world) send(role, convID, body, key string, internal bool, want int) *sotto.Message {
	w.t.Helper()
	res := w.must(role, jsonReq("POST", "/api/v1/conversations/"+convID+"/messages",
		map[string]any{"body": body, "idempotency_key": key, "internal": internal}), want)
	var m sotto.Message
	b, _ := json.Marshal(res.body)
	if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
		w.t.Fatalf("send: bad answer %s", res.raw)
	}
	return &m
}

// TestMessagingEndToEnd drives the real server over HTTP and WebSockets: a
// patient and two staff devices exchange messages with receipts; internal
// notes never reach the patient; retries are idempotent; a reconnecting
// device resumes without loss or duplicates; devices of staff outside the
// patient's scope and of another practice receive nothing about it.
func TestMessagingEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		conv := w.conv1.ID

		patient := w.connect(ts, "patient", 0)
		nurse := w.connect(ts, "nurse", 0)
		provider := w.connect(ts, "provider", 0)
		outsider := w.connect(ts, "front_desk", 0)
		stranger := w.connect(ts, "other_admin", 0)

		// Patient → care team: both staff devices see it.
		m1 := w.send("patient", conv, "Test question from patient", "p-1", false, 201)
		for _, d := range []*device{patient, nurse, provider} {
			d.expect(sotto.EventMessageCreated, m1.ID)
		}

		// Staff reply reaches the patient, whose device records delivery,
		// which the nurse sees as a receipt.
		m2 := w.send("nurse", conv, "Test reply from nurse", "n-1", false, 201)
		patient.expect(sotto.EventMessageCreated, m2.ID)
		provider.expect(sotto.EventMessageCreated, m2.ID)
		nurse.expect(sotto.EventMessageCreated, m2.ID)
		ev := nurse.expect(sotto.EventReceiptUpdated, m2.ID)
		if ev.UserID != w.users["patient"].ID {
			t.Fatalf("receipt for %s, want the patient", ev.UserID)
		}
		w.must("patient", req{method: "POST", path: "/api/v1/messages/" + m2.ID + "/read"}, 204)
		nurse.expect(sotto.EventReceiptUpdated, m2.ID)
		list := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + conv + "/messages"}, 200)
		if !strings.Contains(list.raw, `"read_at"`) || !strings.Contains(list.raw, `"delivered_at"`) {
			t.Fatalf("staff do not see the patient's receipts: %s", list.raw)
		}

		// An internal note reaches staff only; the patient's next event is
		// the following regular message.
		note := w.send("nurse", conv, "Test internal note", "n-2", true, 201)
		provider.expect(sotto.EventMessageCreated, note.ID)
		m3 := w.send("provider", conv, "Test follow-up", "pr-1", false, 201)
		patient.expect(sotto.EventMessageCreated, m3.ID)
		if r := w.do("patient", req{method: "GET", path: "/api/v1/conversations/" + conv + "/messages"}); strings.Contains(r.raw, "internal note") {
			t.Fatalf("patient sees an internal note: %s", r.raw)
		}
		w.must("patient", req{method: "POST", path: "/api/v1/messages/" + note.ID + "/read"}, 404)

		// A retried send returns the first message and creates no second.
		again := w.send("patient", conv, "Test question from patient", "p-1", false, 200)
		if again.ID != m1.ID {
			t.Fatalf("retry created message %s, want %s", again.ID, m1.ID)
		}

		// Resume: the patient goes offline, three messages arrive, the
		// reconnected device gets exactly those, in order.
		resumeFrom := patient.last
		patient.conn.Close(websocket.StatusNormalClosure, "")
		var missed []string
		for i := range 3 {
			missed = append(missed, w.send("nurse", conv, "Test missed", "n-miss-"+itoa64(int64(i)), false, 201).ID)
		}
		back := w.connect(ts, "patient", resumeFrom)
		for _, id := range missed {
			back.expect(sotto.EventMessageCreated, id)
		}

		// Out-of-scope staff and another practice saw nothing of conv1:
		// the first event each receives is a sentinel meant for them.
		sentinel := w.must("front_desk", jsonReq("POST", "/api/v1/conversations", map[string]string{"patient_id": w.p2.ID,
			"subject": "Sentinel", "category": "appointment", "department_id": w.depts["Front Desk"]}), 201)
		f := outsider.next()
		if f.Type != "event" || f.Event.ConversationID != sentinel.body["id"] {
			t.Fatalf("front desk received %+v before its sentinel", f.Event)
		}
		other := w.must("other_admin", jsonReq("POST", "/api/v1/conversations", map[string]string{"subject": "Sentinel", "category": "internal"}), 201)
		f = stranger.next()
		if f.Type != "event" || f.Event.ConversationID != other.body["id"] || f.Event.OrgID != w.orgB {
			t.Fatalf("other practice received %+v before its sentinel", f.Event)
		}
		w.assertNoPHILogged()
	})
}

// TestRetractKeepsTheRecord: the author retracts a message; it stays in
// the conversation marked retracted, others cannot retract it, and a
// second retraction is a conflict.
func TestRetractKeepsTheRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		m := w.send("patient", w.conv1.ID, "Test message to retract", "r-1", false, 201)
		path := "/api/v1/messages/" + m.ID + "/retract"
		if r := w.do("nurse", req{method: "POST", path: path}); r.status != 403 {
			t.Fatalf("nurse retracting the patient's message: %d %s", r.status, r.raw)
		}
		res := w.must("patient", req{method: "POST", path: path}, 200)
		if res.body["retracted_at"] == nil {
			t.Fatalf("retract answer: %s", res.raw)
		}
		if r := w.do("patient", req{method: "POST", path: path}); r.status != 409 || r.code() != "already_retracted" {
			t.Fatalf("second retraction: %d %s", r.status, r.raw)
		}
		list := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if !strings.Contains(list.raw, "Test message to retract") || !strings.Contains(list.raw, `"retracted_at"`) {
			t.Fatalf("retracted message not kept and marked: %s", list.raw)
		}
	})
}

// TestResumeFromUnknownCursorResets: a cursor beyond the log's end (another
// server, a restored database) gets a reset frame and close 4010 instead
// of silently skipping every event.
func TestResumeFromUnknownCursorResets(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/events?after=999999999"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + w.tokens["nurse"]}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, b, err := conn.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"type":"reset"`) {
		t.Fatalf("first frame %q, %v; want reset", b, err)
	}
	_, _, err = conn.Read(ctx)
	if websocket.CloseStatus(err) != closeResetRequired {
		t.Fatalf("close %v, want %d", err, closeResetRequired)
	}
}
