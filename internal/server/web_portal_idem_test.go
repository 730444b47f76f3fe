package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPortalDoubleSubmitOpensOneConversation: a new-message form sent
// twice (a double tap without JavaScript) opens one conversation, stores
// one photo, sends one message, and lands both times on that conversation;
// a structured request without text is not duplicated either. The API's
// create is idempotent the same way.
func TestPortalDoubleSubmitOpensOneConversation(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	b.signInAs(w, "patient")
	before := convCount(t, w, w.p1.ID)
	var attachments int
	countAttachments := func() int {
		t.Helper()
		var n int
		if err := w.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM attachments`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	attachments = countAttachments()
	photo := phonePhoto(t)
	form := [][2]string{{"idempotency_key", "web-double-1"}, {"reason", "general"}, {"body", "Test question sent twice"}}
	var first string
	for i := range 2 {
		p := b.postMultipart("/portal/new", form, &formFile{name: "IMG_0001.jpg", data: photo})
		id := newConvID(t, p)
		if i == 0 {
			first = id
		} else if id != first {
			t.Fatalf("the second submission landed on %s, not %s", id, first)
		}
	}
	refill := [][2]string{{"idempotency_key", "web-double-2"}, {"reason", "refill"}, {"medication", "Demoxitol"}, {"dose", "10 mg"},
		{"pharmacy", "Test Pharmacy"}, {"body", ""}}
	for range 2 {
		newConvID(t, b.postMultipart("/portal/new", refill, nil))
	}
	if n := convCount(t, w, w.p1.ID) - before; n != 2 {
		t.Fatalf("two double submissions opened %d conversations, want 2", n)
	}
	if n := countAttachments() - attachments; n != 1 {
		t.Fatalf("the photo was stored %d times", n)
	}
	msgs := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + first + "/messages"}, 200)
	if n := strings.Count(msgs.raw, "Test question sent twice"); n != 1 {
		t.Fatalf("the message arrived %d times", n)
	}

	body := map[string]any{"patient_id": w.p1.ID, "subject": "Test API retry", "category": "general", "idempotency_key": "api-conv-1"}
	a := w.must("nurse", jsonReq("POST", "/api/v1/conversations", body), 201)
	again := w.must("nurse", jsonReq("POST", "/api/v1/conversations", body), 200)
	if a.body["id"] != again.body["id"] {
		t.Fatalf("an API retry opened %v after %v", again.body["id"], a.body["id"])
	}
}
