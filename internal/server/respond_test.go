package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sotto"
)

type decodeTarget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func decode(body, contentType string) error {
	r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	var v decodeTarget
	return decodeJSON(httptest.NewRecorder(), r, &v)
}

func TestDecodeJSONErrors(t *testing.T) {
	cases := []struct {
		name, body, ct, code, mustMention string
	}{
		{"ok", `{"name":"a","count":1}`, "application/json", "", ""},
		{"empty", ``, "", "invalid", "empty"},
		{"syntax", `{"name":`, "application/json", "invalid", "truncated"},
		{"bad syntax", `{"name" 1}`, "application/json", "invalid", "byte"},
		{"wrong type", `{"count":"zqsecretvalue"}`, "", "invalid", `"count"`},
		{"unknown field", `{"zqsecretfield":1}`, "", "invalid", "Unknown field"},
		{"trailing", `{"name":"a"} {}`, "", "invalid", "single JSON object"},
		{"array", `[1,2]`, "", "invalid", "JSON object"},
		{"media type", `{}`, "text/plain", "unsupported_media_type", "application/json"},
		{"too large", `{"name":"` + strings.Repeat("a", MaxJSONBody) + `"}`, "", "too_large", "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decode(c.body, c.ct)
			if c.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if sotto.ErrorCode(err) != c.code || !strings.Contains(sotto.ErrorMessage(err), c.mustMention) {
				t.Fatalf("err = %v (code %s), want code %s mentioning %q", err, sotto.ErrorCode(err), c.code, c.mustMention)
			}
			if strings.Contains(sotto.ErrorMessage(err), "zqsecretvalue") {
				t.Fatal("error message echoes the input value")
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"a","count":1}`)
	f.Add(`{"count":1e999}`)
	f.Add(`{"name":"\ud800"}`)
	f.Fuzz(func(t *testing.T, body string) {
		err := decode(body, "application/json")
		if err != nil && sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("decode error of kind %s: %v", sotto.ErrorKind(err), err)
		}
	})
}

func newTestServer() *Server {
	return &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), mux: http.NewServeMux(), pages: parsePages(), csrf: http.NewCrossOriginProtection()}
}

func TestServeErrorMapsKindsAndHidesInternals(t *testing.T) {
	s := newTestServer()
	s.handle("GET /boom", func(w http.ResponseWriter, r *http.Request) error {
		return &sotto.Error{Kind: sotto.KindInternal, Msg: "zqinternal detail", Err: errors.New("db down")}
	})
	s.handle("GET /gone", func(w http.ResponseWriter, r *http.Request) error {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	})
	s.handle("GET /panic", func(w http.ResponseWriter, r *http.Request) error { panic("zqpanic") })
	s.handle("POST /form", func(w http.ResponseWriter, r *http.Request) error { return nil })
	cases := []struct {
		method, path string
		header       map[string]string
		status       int
		code         string
	}{
		{"GET", "/boom", nil, 500, "internal"},
		{"GET", "/gone", nil, 404, "not_found"},
		{"GET", "/panic", nil, 500, "internal"},
		{"GET", "/nothing", nil, 404, "not_found"},
		{"DELETE", "/gone", nil, 405, "method_not_allowed"},
		{"POST", "/form", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(c.method, c.path, nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		s.ServeHTTP(rec, r)
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, rec.Code, body, c.status, c.code)
		}
		if strings.Contains(body, "zq") || strings.Contains(body, "db down") {
			t.Errorf("%s %s leaks internals: %s", c.method, c.path, body)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" || rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("%s %s: missing security headers", c.method, c.path)
		}
	}
}

func TestAccessLogHoldsNoPathOrQuery(t *testing.T) {
	var logs strings.Builder
	s := newTestServer()
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	s.handle("GET /patients/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return &sotto.Error{Kind: sotto.KindInternal, Err: errors.New("lookup failed")}
	})
	for _, p := range []string{"/patients/zqjane-doe?phone=zq5551234", "/zqunmatched?name=zqname"} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if strings.Contains(logs.String(), "zq") {
		t.Fatalf("log holds request data:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"route":"GET /patients/{id}"`) {
		t.Fatalf("log lacks the route pattern:\n%s", logs.String())
	}
}
