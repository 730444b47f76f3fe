package server

import (
	"context"
	"encoding/csv"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// cells returns the text of every <td class="name"> of a page.
func cells(body, name string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<td class="`+name+`">([^<]*)</td>`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// linkOf returns the unescaped href of the element with id on a page.
func linkOf(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`href="([^"]+)" id="` + id + `"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link #%s in:\n%s", id, body)
	}
	return html.UnescapeString(m[1])
}

// signInCompliance adds a compliance officer with a password and an
// authenticator, signs them in through the form and checks they land on
// the audit trail.
func signInCompliance(t *testing.T, w *world, b *browserClient) *staffLogin {
	t.Helper()
	officer := addStaffLogin(t, w, "compliance_two", sotto.RoleCompliance, "Front Desk")
	p := b.post("/login", url.Values{"email": {officer.email}, "password": {officer.password}, "code": {auth.TOTPCode(officer.secret, w.clock.Now())}})
	if p.status != 303 || p.header.Get("Location") != "/compliance" {
		t.Fatalf("compliance sign-in: %d %q, want a redirect to /compliance", p.status, p.header.Get("Location"))
	}
	return officer
}

// TestCompliancePagesWithoutJavaScript walks the compliance pages as a
// browser without JavaScript: the officer lands on the trail, finds a
// patient by name (in the body, never the URL), filters by them, exports
// the same filter as CSV, reads the accounting of disclosures, and every
// read is audited; another practice's patient is not found.
func TestCompliancePagesWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
		w.must("admin", req{method: "GET", path: "/api/v1/patients/" + w.p2.ID}, 200)
		other := &sotto.Patient{OrgID: w.orgB, GivenName: "Otherly", FamilyName: "Elsewhere-Test", BirthDate: "1990-01-01", MRN: "OTHER-0001",
			Language: "en", TimeZone: "UTC"}
		if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.InsertPatient(other) }); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		officer := signInCompliance(t, w, b)
		if p := b.get("/"); p.status != 303 || p.header.Get("Location") != "/compliance" {
			t.Fatalf("home: %d %q, want /compliance", p.status, p.header.Get("Location"))
		}

		// The whole trail: MRNs, never names or birth dates.
		p := b.get("/compliance")
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("trail: %d %v", p.status, p.header)
		}
		mustContain(t, "the trail", p.body, `id="nav-compliance" aria-current="page"`, `<caption id="trail-caption">`, `<th scope="col">`,
			`class="table-scroll"`, "Opened a conversation", "Viewed a patient&#39;s record", "TEST-0001", "TEST-0002", "Test nurse (Nurse)")
		mustNotContain(t, "the trail", p.body, "McTestface", "Fakey", "1980-04-02", "OTHER-0001")

		// Find the patient by name: the terms travel in the body; the
		// choice is a link carrying the id and the filter already chosen.
		before := auditActions(t, db, officer.user.ID)
		p = b.post("/compliance", url.Values{"patient_query": {"McTestface"}, "action": {sotto.AuditConversationView}})
		pick := "/compliance?action=conversation.view&amp;patient_id=" + w.p1.ID
		if p.status != 200 || !strings.Contains(p.body, `href="`+pick+`"`) || strings.Contains(p.body, w.p2.ID) {
			t.Fatalf("patient search: %d, want the pick %s:\n%s", p.status, pick, p.body)
		}
		if after := auditActions(t, db, officer.user.ID); after[sotto.AuditPatientSearch] != before[sotto.AuditPatientSearch]+1 {
			t.Fatalf("the patient search was not audited: %v → %v", before, after)
		}
		if p = b.post("/compliance", url.Values{"patient_query": {" "}}); p.status != 400 || !strings.Contains(p.body, "MRN, then choose Find") {
			t.Fatalf("empty patient search: %d", p.status)
		}

		// Filter by the patient: their entries only, the read audited with them.
		views := auditCountOf(t, db, sotto.AuditLogView, w.p1.ID)
		p = b.get("/compliance?patient_id=" + w.p1.ID)
		mrns := cells(p.body, "mrn")
		if p.status != 200 || len(mrns) == 0 || !strings.Contains(p.body, `<span id="chosen-patient">MRN TEST-0001</span>`) {
			t.Fatalf("filtered trail: %d %v", p.status, mrns)
		}
		for _, m := range mrns {
			if m != "TEST-0001" {
				t.Fatalf("the patient filter shows an entry about %q", m)
			}
		}
		mustNotContain(t, "the filtered trail", p.body, "TEST-0002")
		if n := auditCountOf(t, db, sotto.AuditLogView, w.p1.ID); n != views+1 {
			t.Fatalf("the filtered read wrote %d audit.view entries with the patient, want 1", n-views)
		}

		// The CSV export carries the same filter, and is audited as an export.
		exports := auditCountOf(t, db, sotto.AuditExport, w.p1.ID)
		href := linkOf(t, p.body, "export-csv")
		if !strings.HasPrefix(href, "/api/v1/audit?") || !strings.Contains(href, "patient_id="+w.p1.ID) || !strings.Contains(href, "format=csv") {
			t.Fatalf("CSV link %q", href)
		}
		ex := b.get(href)
		if ex.status != 200 || !strings.HasPrefix(ex.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV export: %d %q %s", ex.status, ex.header.Get("Content-Type"), ex.body)
		}
		rows, err := csv.NewReader(strings.NewReader(ex.body)).ReadAll()
		if err != nil || len(rows) < len(mrns)+1 || rows[0][9] != "patient_id" {
			t.Fatalf("CSV export: %v, %d rows for %d on the page", err, len(rows), len(mrns))
		}
		for _, row := range rows[1:] {
			if row[9] != w.p1.ID {
				t.Fatalf("the CSV export holds an entry about patient %q", row[9])
			}
		}
		if n := auditCountOf(t, db, sotto.AuditExport, w.p1.ID); n != exports+1 {
			t.Fatalf("the export wrote %d data.export entries with the patient, want 1", n-exports)
		}
		if fh := b.get(linkOf(t, p.body, "export-fhir")); fh.status != 200 || !strings.Contains(fh.body, `"resourceType": "Bundle"`) {
			t.Fatalf("FHIR export: %d", fh.status)
		}

		// Patient and action together; days in the viewer's zone.
		p = b.get("/compliance?patient_id=" + w.p1.ID + "&action=conversation.view")
		if what := cells(p.body, "what"); len(what) == 0 || strings.Count(strings.Join(what, "|"), "Opened a conversation") != len(what) {
			t.Fatalf("action filter: %v", what)
		}
		day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
		if p = b.get("/compliance?from=" + day(-1) + "&to=" + day(1)); len(cells(p.body, "mrn")) == 0 {
			t.Fatalf("today's entries are missing from a range around today")
		}
		if p = b.get("/compliance?from=" + day(2)); p.status != 200 || len(cells(p.body, "mrn")) != 0 || !strings.Contains(p.body, "No entry matches") {
			t.Fatalf("a range in the future shows entries: %d", p.status)
		}
		for _, bad := range []string{"from=2026-13-01", "from=" + day(1) + "&to=" + day(-1), "user_id=not-an-id", "cursor=-1"} {
			if p = b.get("/compliance?" + bad); p.status != 400 || !strings.Contains(p.body, "This filter cannot be used") {
				t.Errorf("%s: %d, want the filter error", bad, p.status)
			}
		}

		// The accounting of disclosures: this patient only, audited with them.
		views = auditCountOf(t, db, sotto.AuditLogView, w.p1.ID)
		p = b.get("/compliance/patients/" + w.p1.ID)
		mrns = cells(p.body, "mrn")
		if p.status != 200 || len(mrns) == 0 || !strings.Contains(p.body, `<dd id="patient-mrn">TEST-0001</dd>`) || strings.Contains(p.body, "McTestface") {
			t.Fatalf("accounting: %d %v", p.status, mrns)
		}
		for _, m := range mrns {
			if m != "TEST-0001" {
				t.Fatalf("the accounting shows an entry about %q", m)
			}
		}
		if n := auditCountOf(t, db, sotto.AuditLogView, w.p1.ID); n != views+1 {
			t.Fatalf("the accounting read wrote %d audit.view entries with the patient, want 1", n-views)
		}
		for _, id := range []string{other.ID, store.NewID(), "not-an-id"} {
			if p = b.get("/compliance/patients/" + id); p.status != 404 || strings.Contains(p.body, "OTHER-0001") {
				t.Errorf("patient %s: %d, want 404", id, p.status)
			}
		}
		if p = b.get("/compliance?patient_id=" + other.ID); p.status != 404 {
			t.Errorf("another practice's patient as a filter: %d, want 404", p.status)
		}
		w.assertNoPHILogged()
	})
}

// TestComplianceVerifyPage: verification through the page reports an
// intact trail, then, after one entry is changed in the database, the
// first broken entry; each run is audited.
func TestComplianceVerifyPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		officer := signInCompliance(t, w, b)

		if p := b.get("/compliance/verify"); p.status != 200 || !strings.Contains(p.body, `action="/compliance/verify"`) || strings.Contains(p.body, `id="verify-result"`) {
			t.Fatalf("verify form: %d", p.status)
		}
		p := b.post("/compliance/verify", nil)
		if p.status != 200 || !strings.Contains(p.body, `id="verify-ok"`) || !strings.Contains(p.body, "The trail is intact") {
			t.Fatalf("verify: %d\n%s", p.status, p.body)
		}
		if n := auditActions(t, db, officer.user.ID)[sotto.AuditLogVerify]; n != 1 {
			t.Fatalf("%d audit.verify entries, want 1", n)
		}

		// An attacker with database access changes entry 3.
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			for _, trg := range []string{"audit_events_no_update", "audit_events_no_delete"} {
				q := "DROP TRIGGER IF EXISTS " + trg
				if tx.Dialect() == store.Postgres {
					q += " ON audit_events"
				}
				if _, err := tx.Exec(q); err != nil {
					return err
				}
			}
			_, err := tx.Exec(`UPDATE audit_events SET outcome = 'denied' WHERE org_id = $1 AND seq = 3`, w.orgA)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		p = b.post("/compliance/verify", nil)
		if p.status != 200 || !strings.Contains(p.body, `<dd id="broken-seq">3</dd>`) ||
			!strings.Contains(p.body, "the entry was changed after it was recorded") || strings.Contains(p.body, `id="verify-ok"`) {
			t.Fatalf("verify after tampering: %d\n%s", p.status, p.body)
		}
		if !strings.Contains(p.body, `href="/compliance?cursor=2"`) {
			t.Error("the broken report does not link to the trail from the broken entry")
		}
		var failed int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE actor_id = $1 AND action = $2 AND outcome = $3`,
			officer.user.ID, sotto.AuditLogVerify, sotto.AuditFailure).Scan(&failed); err != nil || failed != 1 {
			t.Fatalf("the failed verification was audited %d times (%v), want once as a failure", failed, err)
		}
	})
}
