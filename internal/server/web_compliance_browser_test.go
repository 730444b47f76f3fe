package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestComplianceInBrowser drives the compliance pages in headless Chromium
// (desktop viewport): the officer signs in with password and TOTP and
// lands on the trail, finds a patient by name, picks them, narrows to one
// action and sees only that patient's entries of that action; all under
// the strict CSP with no violation.
func TestComplianceInBrowser(t *testing.T) {
	ctx := browserTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	officer := addStaffLogin(t, w, "compliance_two", sotto.RoleCompliance, "Front Desk")
	w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}, 200)
	w.must("admin", req{method: "GET", path: "/api/v1/patients/" + w.p2.ID}, 200)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()

	checkPage := watchPage(t, ctx)
	var err error

	// Sign in: the officer lands on the audit trail.
	err = chromedp.Do(ctx,
		staffSignIn(ts.URL, officer, w.clock.Now()),
		chromedp.WaitVisible(chromedp.ID("audit-filters")),
		chromedp.WaitVisible(chromedp.ID("audit-results")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the compliance link to be current", `document.querySelector('#nav-compliance[aria-current="page"]')`)

	// Find the patient by name and pick them.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("patient-query"), "McTestface"),
		chromedp.Click(chromedp.ID("patient-find")),
		chromedp.WaitVisible(chromedp.CSS(`#patient-picks a`)),
		chromedp.Click(chromedp.CSS(`#patient-picks a`)),
		chromedp.WaitVisible(chromedp.ID("chosen-patient")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`)); err != nil || !strings.Contains(u, "patient_id="+w.p1.ID) || strings.Contains(u, "McTestface") {
		t.Fatalf("the patient filter travels as %q (%v), want the id only", u, err)
	}

	// Narrow to one action.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("action"), sotto.AuditConversationView),
		chromedp.Click(chromedp.ID("audit-search")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the filtered results", `location.search.indexOf('action=conversation.view') >= 0 && document.querySelectorAll('#audit-results tbody tr').length > 0`)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#audit-results tbody tr')].map(r => r.querySelector('.mrn').textContent + '|' + r.querySelector('.what').textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r != "TEST-0001|Opened a conversation" {
			t.Errorf("filtered row %q, want only the patient's conversation views", r)
		}
	}
	if len(rows) == 0 {
		t.Fatal("no rows after filtering")
	}

	checkPage()
	w.assertNoPHILogged()
}
