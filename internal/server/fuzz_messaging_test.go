package server

import (
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// FuzzSendMessage posts arbitrary bodies to the send route: the answer is
// always a 2xx or a 4xx JSON error, never a 5xx or a panic.
func FuzzSendMessage(f *testing.F) {
	w := newWorld(f, storetest.SQLite(f, store.Options{}))
	path := "/api/v1/conversations/" + w.conv1.ID + "/messages"
	for _, s := range []string{
		`{"body":"Test","idempotency_key":"f-1"}`,
		`{"body":"","idempotency_key":"f-2"}`,
		`{"body":"\ud800","idempotency_key":"f-3"}`,
		`{"body":"x","idempotency_key":"f-4","attachment_ids":["nope"]}`,
		`{"body":"x","idempotency_key":"f-5","corrects":"` + w.msg1.ID + `"}`,
		`{"body":1}`, `[]`, `{`, `null`, `{"body":"x","idempotency_key":"f-6","internal":true,"extra":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w.t = t
		res := w.do("nurse", req{method: "POST", path: path, body: body, contentType: "application/json"})
		if res.status >= 500 {
			t.Fatalf("status %d for %q: %s", res.status, body, res.raw)
		}
		if res.status >= 400 && res.code() == "" {
			t.Fatalf("error without a JSON code: %s", res.raw)
		}
	})
}

// FuzzUploadAttachment posts arbitrary multipart payloads: the answer is
// always 201 or a 4xx JSON error.
func FuzzUploadAttachment(f *testing.F) {
	w := newWorld(f, storetest.SQLite(f, store.Options{}))
	good := multipartReq(w.conv1.ID, "scan.pdf", []byte("%PDF-1.4\n%%EOF\n"))
	f.Add(good.body, strings.TrimPrefix(good.contentType, "multipart/form-data; boundary="))
	png := multipartReq(w.conv1.ID, "x.png", []byte("\x89PNG\r\n\x1a\nnot really"))
	f.Add(png.body, strings.TrimPrefix(png.contentType, "multipart/form-data; boundary="))
	f.Add("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello\r\n--b--\r\n", "b")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		w.t = t
		res := w.do("nurse", req{method: "POST", path: "/api/v1/attachments", body: body, contentType: "multipart/form-data; boundary=" + boundary})
		if res.status >= 500 {
			t.Fatalf("status %d: %s", res.status, res.raw)
		}
		if res.status >= 400 && res.code() == "" {
			t.Fatalf("error without a JSON code: %s", res.raw)
		}
	})
}
