package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// newOpenAPIServer builds a Server over a fresh test store.
func newOpenAPIServer(t *testing.T) *Server {
	t.Helper()
	db := storetest.SQLite(t, store.Options{})
	return New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
}

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// wildcard matches a ServeMux wildcard, e.g. {id} or {rest...}.
var wildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// patternRoute turns a ServeMux pattern "METHOD /path" into its documented
// form "METHOD /path": a trailing "/" (a subtree) becomes "/{path}" and
// "{name...}" becomes "{name}".
func patternRoute(t *testing.T, pattern string) string {
	t.Helper()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		t.Fatalf("route %q is not of the form \"METHOD /path\"", pattern)
	}
	path = wildcard.ReplaceAllString(path, "{$1}")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "{path}"
	}
	return strings.ToUpper(method) + " " + path
}

// documentedRoutes lists the document's operations as "METHOD /path",
// mapped to their operation objects.
func documentedRoutes(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	out := map[string]map[string]any{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("paths[%q] is not an object", path)
		}
		for _, m := range openAPIMethods {
			if o, ok := item[m]; ok {
				op, ok := o.(map[string]any)
				if !ok {
					t.Fatalf("paths[%q].%s is not an object", path, m)
				}
				out[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	srv := newOpenAPIServer(t)
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	documented := documentedRoutes(t, doc)
	patterns := srv.Patterns()
	if len(patterns) == 0 {
		t.Fatal("the server registered no routes")
	}
	for _, p := range patterns {
		route := patternRoute(t, p)
		_, path, _ := strings.Cut(route, " ")
		if isWebPage(p) {
			continue // an HTML page of the web application, not an API operation
		}
		if _, ok := paths[path]; !ok {
			t.Errorf("route %q is not documented: openapi.json has no path %q", p, path)
			continue
		}
		if _, ok := documented[route]; !ok {
			t.Errorf("route %q is not documented: path %q has no %s operation", p, path, strings.ToLower(strings.Fields(route)[0]))
		}
	}
}

func TestOpenAPIHasNoStaleRoutes(t *testing.T) {
	srv := newOpenAPIServer(t)
	registered := map[string]string{}
	for _, p := range srv.Patterns() {
		registered[patternRoute(t, p)] = p
	}
	var stale []string
	for route := range documentedRoutes(t, loadOpenAPI(t)) {
		if _, ok := registered[route]; !ok {
			stale = append(stale, route)
		}
	}
	sort.Strings(stale)
	for _, r := range stale {
		t.Errorf("openapi.json documents %q, which is not a registered route", r)
	}
}

func TestOpenAPIServedAndRefsResolve(t *testing.T) {
	srv := newOpenAPIServer(t)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /api/openapi.json: status %d, want 200", rec.Code)
	}
	if mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil || mt != "application/json" {
		t.Fatalf("GET /api/openapi.json: Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("GET /api/openapi.json: body is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	if _, ok := doc["components"].(map[string]any); !ok {
		t.Fatal("openapi.json has no components object")
	}
	n := 0
	walkRefs(doc, "#", func(at, ref string) {
		n++
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components/", at, ref)
			return
		}
		if _, ok := resolvePointer(doc, ref); !ok {
			t.Errorf("%s: $ref %q does not resolve", at, ref)
		}
	})
	if n == 0 {
		t.Error("openapi.json has no $ref at all; expected shared components")
	}
}

// walkRefs calls f for every "$ref" string in the JSON tree v, with the
// JSON pointer of the object holding it.
func walkRefs(v any, at string, f func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			f(at, ref)
		}
		for k, c := range x {
			walkRefs(c, at+"/"+escapePointer(k), f)
		}
	case []any:
		for i, c := range x {
			walkRefs(c, at+"/"+itoa64(int64(i)), f)
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// resolvePointer follows a local JSON pointer reference ("#/a/b") in doc.
func resolvePointer(doc any, ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	cur := doc
	if ptr == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestOpenAPIOperationsAreComplete(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	ids := map[string]string{}
	routes := documentedRoutes(t, doc)
	names := make([]string, 0, len(routes))
	for r := range routes {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, route := range names {
		op := routes[route]
		id, _ := op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", route)
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", route, id, ids[id])
		default:
			ids[id] = route
		}
		if s, _ := op["summary"].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s: no summary", route)
		}
		if tags, _ := op["tags"].([]any); len(tags) == 0 {
			t.Errorf("%s: no tags", route)
		}
		resp, _ := op["responses"].(map[string]any)
		if len(resp) == 0 {
			t.Errorf("%s: no responses", route)
		}
		// Every {param} of the path is declared as a path parameter, on the
		// operation or its path item.
		_, path, _ := strings.Cut(route, " ")
		declared := map[string]bool{}
		item, _ := paths[path].(map[string]any)
		for _, src := range []any{item["parameters"], op["parameters"]} {
			list, _ := src.([]any)
			for _, p := range list {
				pm, _ := p.(map[string]any)
				if ref, ok := pm["$ref"].(string); ok {
					r, _ := resolvePointer(doc, ref)
					pm, _ = r.(map[string]any)
				}
				if pm["in"] == "path" {
					name, _ := pm["name"].(string)
					declared[name] = true
				}
			}
		}
		for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", route, m[1])
			}
		}
	}
}
