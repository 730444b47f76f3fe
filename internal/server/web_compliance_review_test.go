package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestCompliancePagesByRole: the header links the compliance pages for the
// roles that read the audit trail (sotto.CanReadAudit) and only for them;
// everyone else gets the refusal page, audited.
func TestCompliancePagesByRole(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	for _, role := range sotto.StaffRoles {
		key := string(role)
		b := newBrowserClient(t, ts.URL)
		b.signInAs(w, key)
		nav := b.get("/inbox")
		if got, want := strings.Contains(nav.body, `id="nav-compliance"`), sotto.CanReadAudit(role); nav.status != 200 || got != want {
			t.Errorf("%s: inbox %d, compliance link shown %v, want %v", role, nav.status, got, want)
		}
		denied := auditActions(t, w.db, w.users[key].ID)[sotto.AuditLogView]
		for _, path := range []string{"/compliance", "/compliance/patients/" + w.p1.ID, "/compliance/verify", "/compliance/break-glass"} {
			p := b.get(path)
			switch {
			case sotto.CanReadAudit(role) && p.status != 200:
				t.Errorf("%s %s: %d, want 200", role, path, p.status)
			case !sotto.CanReadAudit(role) && (p.status != 403 || !strings.Contains(p.body, "Your role does not allow this")):
				t.Errorf("%s %s: %d, want the 403 page", role, path, p.status)
			}
			if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
				t.Errorf("%s %s: headers %v", role, path, p.header)
			}
		}
		if !sotto.CanReadAudit(role) && auditActions(t, w.db, w.users[key].ID)[sotto.AuditLogView] == denied {
			t.Errorf("%s: the refusals were not audited", role)
		}
	}
	// The nurse's refusal is audited as denied.
	var n int
	if err := w.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_events WHERE actor_id = $1 AND action = $2 AND outcome = $3`,
		w.users["nurse"].ID, sotto.AuditLogView, sotto.AuditDenied).Scan(&n); err != nil || n == 0 {
		t.Fatalf("no denied audit.view entry for the nurse (%v)", err)
	}
}

// TestComplianceBreakGlassPage: the review lists a grant with who, the
// patient's MRN and the reason, links to what the grantee did to that
// patient, is audited, and reads in Spanish for a Spanish browser.
func TestComplianceBreakGlassPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.must("front_desk", jsonReq("POST", "/api/v1/patients/"+w.p1.ID+"/break-glass", map[string]string{"reason": "Test emergency reason"}), 201)
		w.must("front_desk", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		b.signInAs(w, "compliance")

		before := auditActions(t, db, w.users["compliance"].ID)[sotto.AuditLogView]
		p := b.get("/compliance/break-glass")
		mustContain(t, "the break-glass review", p.body, `<caption id="bg-caption">Emergency access grants, newest first (1)</caption>`,
			"Test front_desk", "Front desk", `<td class="mrn">TEST-0001</td>`, `<td class="bg-reason">Test emergency reason</td>`)
		mustNotContain(t, "the break-glass review", p.body, "McTestface")
		if n := auditActions(t, db, w.users["compliance"].ID)[sotto.AuditLogView]; n != before+1 {
			t.Fatalf("the review wrote %d audit.view entries, want 1", n-before)
		}
		if p = b.get("/compliance/break-glass?since=yesterday"); p.status != 400 || !strings.Contains(p.body, "year-month-day") {
			t.Fatalf("bad since: %d", p.status)
		}

		// Spanish.
		p = b.do("GET", "/compliance/break-glass", nil, map[string]string{"Accept-Language": "es-MX,es;q=0.9"})
		mustContain(t, "the Spanish review", p.body, `<html lang="es">`, "Acceso de emergencia", "Motivo indicado")
	})
}

// TestComplianceBreakGlassTrail: a grant's link shows what the grantee did
// to the patient while it lasted, including the access it allowed.
func TestComplianceBreakGlassTrail(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	w.must("front_desk", jsonReq("POST", "/api/v1/patients/"+w.p1.ID+"/break-glass", map[string]string{"reason": "Test emergency reason"}), 201)
	w.must("front_desk", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	b.signInAs(w, "compliance")
	p := b.get("/compliance/break-glass")
	href := linkOf(t, p.body, "bg-trail-0")
	if !strings.Contains(href, "user_id="+w.users["front_desk"].ID) || !strings.Contains(href, "patient_id="+w.p1.ID) {
		t.Fatalf("trail link %q", href)
	}
	p = b.get(href)
	what := cells(p.body, "what")
	for _, want := range []string{"Was granted emergency access", "Used emergency access", "Opened a conversation"} {
		if !slices.Contains(what, want) {
			t.Errorf("the grantee's trail lacks %q: %v", want, what)
		}
	}
}

// TestComplianceActionsComplete: the action filter offers every action of
// the audit vocabulary (audit.go), each in plain words in both languages.
func TestComplianceActionsComplete(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Audit") {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, _ := strconv.Unquote(lit.Value); strings.Contains(v, ".") {
				declared = append(declared, v)
			}
		}
		return true
	})
	if len(declared) < 50 {
		t.Fatalf("found only %d actions in audit.go: the parser is stale", len(declared))
	}
	for _, a := range declared {
		if !slices.Contains(complianceActions, a) {
			t.Errorf("action %q is missing from complianceActions", a)
		}
	}
	for _, a := range complianceActions {
		if !slices.Contains(declared, a) {
			t.Errorf("complianceActions offers %q, which audit.go does not declare", a)
		}
	}
}
