package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Close codes of sotto's events stream (internal/server/events.go).
const (
	closeSessionEnded  websocket.StatusCode = 4001
	closeSlow          websocket.StatusCode = 4008
	closeResetRequired websocket.StatusCode = 4010
)

// frame is one JSON text frame of GET /api/v1/events; only the fields the
// load tool needs are decoded.
type frame struct {
	Type  string      `json:"type"` // hello, event, heartbeat, reset
	Seq   int64       `json:"seq"`
	Event *frameEvent `json:"event"`
}

type frameEvent struct {
	Seq            int64  `json:"seq"`
	Kind           string `json:"kind"`
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	PatientID      string `json:"patient_id"`
}

// parseFrame decodes a frame and checks its shape: event frames carry an
// event with a kind, and message.created events a message id.
func parseFrame(b []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("frame is not JSON: %w", err)
	}
	switch f.Type {
	case "hello", "heartbeat", "reset":
	case "event":
		if f.Event == nil || f.Event.Kind == "" {
			return f, errors.New("event frame without an event")
		}
		if f.Event.Kind == "message.created" && f.Event.MessageID == "" {
			return f, errors.New("message.created event without a message id")
		}
	default:
		return f, fmt.Errorf("unknown frame type %q", f.Type)
	}
	return f, nil
}

// device is one simulated app holding a WebSocket on the events stream.
// When the server closes it (slow consumer, restart) it resumes with
// ?after=SEQ like a real client, so events reach it late rather than
// never.
type device struct {
	slot    int // the tracker's slot: patient devices first, then staff
	patient int // index of the patient (patient devices), else -1
	token   string
	last    int64 // highest seq seen (owned by the read loop)
	conn    *websocket.Conn
	frames  atomic.Int64
}

// wsURL turns the server's base URL into the events stream URL.
func wsURL(base string, after int64) string {
	u := strings.TrimRight(base, "/")
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	u += "/api/v1/events"
	if after > 0 {
		u += "?after=" + strconv.FormatInt(after, 10)
	}
	return u
}

// dial connects d (resuming after d.last when > 0); a fresh connection's
// hello frame sets d.last.
func (d *device) dial(ctx context.Context, a *api) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, wsURL(a.base, d.last), &websocket.DialOptions{
		HTTPClient: a.hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + d.token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return &apiError{Op: "ws_dial", Status: resp.StatusCode}
		}
		return fmt.Errorf("ws_dial: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	if d.last == 0 {
		_, b, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return fmt.Errorf("ws_dial: read hello: %w", err)
		}
		f, err := parseFrame(b)
		if err != nil || f.Type != "hello" {
			conn.CloseNow()
			return fmt.Errorf("ws_dial: first frame is not hello: %q", b)
		}
		d.last = f.Seq
	}
	d.conn = conn
	return nil
}

// deviceEnv is what a device's read loop reports to.
type deviceEnv struct {
	api       *api
	tr        *tracker
	errs      *errCounter
	connected *atomic.Int64
}

// run reads frames until ctx ends, resuming after server-side closes.
// The connection must already be dialled and counted as connected.
func (d *device) run(ctx context.Context, env deviceEnv) {
	defer func() {
		if d.conn != nil {
			env.connected.Add(-1)
			d.conn.CloseNow()
		}
	}()
	for {
		_, b, err := d.conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			env.connected.Add(-1)
			d.conn.CloseNow()
			d.conn = nil
			if !d.resume(ctx, env, err) {
				return
			}
			env.connected.Add(1)
			continue
		}
		at := time.Now()
		d.frames.Add(1)
		f, err := parseFrame(b)
		if err != nil {
			env.errs.Add("ws: bad frame")
			continue
		}
		switch f.Type {
		case "reset":
			env.errs.Add("ws: reset frame (too far behind)")
			continue
		case "event":
		default:
			continue
		}
		if f.Seq <= d.last {
			env.errs.Add("ws: event seq not increasing")
		} else {
			d.last = f.Seq
		}
		if f.Event.Kind == "message.created" {
			env.tr.Arrived(f.Event.MessageID, d.slot, d.patient, at)
		}
	}
}

// resume records why the connection ended and reconnects, with backoff,
// until it succeeds or ctx ends. A signed-out session is not resumed.
func (d *device) resume(ctx context.Context, env deviceEnv, cause error) bool {
	code := websocket.CloseStatus(cause)
	switch code {
	case -1:
		env.errs.Add("ws: " + netErrorClass(cause))
	default:
		env.errs.Add(fmt.Sprintf("ws: close %d", int(code)))
	}
	switch code {
	case closeSessionEnded:
		return false
	case closeResetRequired:
		d.last = 0 // start afresh: what was missed is lost
	}
	wait := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		err := d.dial(ctx, env.api)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		env.errs.Add(errorKind("ws_resume", err))
		if statusOf(err) == http.StatusUnauthorized {
			return false
		}
		wait = min(wait*2, 5*time.Second)
	}
}
