package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/jobs"
	"sotto/internal/notify/sms"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

const (
	testPublicURL = "https://msg.lakeside.example"
	testSMSToken  = "test-sms-auth-token"
)

// notifyWorld is the world served with SMS webhooks configured.
func notifyWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	return newWorld(t, db).withNotifier(jobs.Channels{}, testSMSToken)
}

// withNotifier serves w again with a notifier over channels (no runner
// works its jobs) and, when smsToken is set, the SMS webhooks.
func (w *world) withNotifier(channels jobs.Channels, smsToken string) *world {
	n := jobs.NewNotifier(w.db, channels, testPublicURL, 0, w.clock.Now)
	w.srv = New(w.db, slog.New(slog.NewJSONHandler(&w.log, nil)), Config{Now: w.clock.Now, PasswordParams: auth.TestParams,
		PublicURL: testPublicURL, Notify: NotifyConfig{Notifier: n, SMSAuthToken: smsToken}})
	return w
}

// webhook posts form to path signed with token (as the provider does).
func (w *world) webhook(path string, form url.Values, token string) *httptest.ResponseRecorder {
	w.t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(sms.SignatureHeader, sms.Sign(token, testPublicURL+path, form))
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, r)
	return rec
}

func (w *world) countAudit(orgID, action string) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND action = $2`, orgID, action).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestSMSWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := notifyWorld(t, db)
		ctx := context.Background()
		stop := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "AccountSid": {"AC" + strings.Repeat("2", 32)},
			"From": {w.p1.Phone}, "To": {"+15005550001"}, "Body": {"Stop"}}

		// A forged request: refused, audited, ignored.
		if rec := w.webhook("/webhooks/sms/inbound", stop, "not-the-token"); rec.Code != http.StatusForbidden {
			t.Fatalf("forged webhook: %d %s, want 403", rec.Code, rec.Body)
		}
		if w.countAudit(sotto.SystemOrgID, sotto.AuditWebhookRejected) != 1 {
			t.Fatal("the forged webhook was not audited")
		}
		if out, _ := db.SMSOptedOut(ctx, w.orgA, w.p1.Phone); out {
			t.Fatal("a forged STOP opted the number out")
		}

		// The real STOP: opted out at once, one confirmation in TwiML, audited.
		rec := w.webhook("/webhooks/sms/inbound", stop, testSMSToken)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
			t.Fatalf("STOP: %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		body := rec.Body.String()
		if !strings.Contains(body, "<Response><Message>") || !strings.Contains(body, "Test Practice A") || !strings.Contains(body, "START") {
			t.Fatalf("STOP reply = %s", body)
		}
		if out, err := db.SMSOptedOut(ctx, w.orgA, w.p1.Phone); err != nil || !out {
			t.Fatalf("after STOP opted out = %v, %v", out, err)
		}
		if w.countAudit(w.orgA, sotto.AuditSMSOptOut) != 1 {
			t.Fatal("the opt-out was not audited in the patient's practice")
		}

		// A status callback moves a sent notification to delivered.
		sid := "SM" + strings.Repeat("3", 32)
		n := &sotto.Notification{OrgID: w.orgA, UserID: w.users["patient"].ID, PatientID: w.p1.ID, Kind: sotto.NotifyNewMessage,
			Channel: "sms", Status: sotto.NotifySent, ProviderID: sid}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertNotification(n) }); err != nil {
			t.Fatal(err)
		}
		status := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {"AC" + strings.Repeat("2", 32)}}
		if rec := w.webhook("/webhooks/sms/status", status, testSMSToken); rec.Code != http.StatusNoContent {
			t.Fatalf("status callback: %d %s", rec.Code, rec.Body)
		}
		got, err := db.Notification(ctx, w.orgA, n.ID)
		if err != nil || got.Status != sotto.NotifyDelivered || got.DeliveredAt == nil {
			t.Fatalf("notification after callback = %+v, %v; want delivered", got, err)
		}
		// Staff who may read the message see it; the admin lists it.
		res := w.must("admin", req{method: "GET", path: "/api/v1/notifications?status=delivered"}, 200)
		if list, _ := res.body["notifications"].([]any); len(list) != 1 {
			t.Fatalf("admin list = %v", res.body)
		}
		w.assertNoPHILogged()
	})
}

func TestSendEnqueuesNotificationJobInTheSameTransaction(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	jobsOf := func() int {
		var n int
		if err := w.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_message'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := jobsOf()
	conv := "/api/v1/conversations/" + w.conv1.ID + "/messages"
	w.must("nurse", jsonReq("POST", conv, map[string]any{"body": "Your test results are ready", "idempotency_key": "n-1"}), 201)
	if jobsOf() != before+1 {
		t.Fatal("a message to the patient did not enqueue its notification job")
	}
	w.must("nurse", jsonReq("POST", conv, map[string]any{"body": "Your test results are ready", "idempotency_key": "n-1"}), 200)
	w.must("nurse", jsonReq("POST", conv, map[string]any{"body": "internal note", "idempotency_key": "n-2", "internal": true}), 201)
	if jobsOf() != before+1 {
		t.Fatal("a retried send or an internal note enqueued a notification")
	}
}

func TestNotificationPreferencesAndConsent(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	path := "/api/v1/patients/" + w.p1.ID + "/notification-preferences"
	w.must("nurse", jsonReq("PUT", path, map[string]any{"sms": true}), 400) // consent source required
	w.must("nurse", jsonReq("PUT", path, map[string]any{"sms": true, "sms_consent_source": "call me at 555 0100"}), 400)
	res := w.must("nurse", jsonReq("PUT", path, map[string]any{"sms": true, "sms_consent_source": "intake_form"}), 200)
	if res.body["sms"] != true || res.body["sms_consent_at"] == nil || res.body["sms_consent_source"] != "intake_form" {
		t.Fatalf("prefs = %v", res.body)
	}
	mine := w.must("patient", req{method: "GET", path: "/api/v1/me/notification-preferences"}, 200)
	if mine.body["sms"] != true {
		t.Fatalf("the patient sees %v; want SMS on", mine.body)
	}
	// The patient turns SMS off: consent is withdrawn.
	res = w.must("patient", jsonReq("PUT", "/api/v1/me/notification-preferences", map[string]any{"sms": false}), 200)
	if res.body["sms"] != false || res.body["sms_consent_at"] != nil {
		t.Fatalf("after opting out in the portal = %v", res.body)
	}
	// Patient 2 has no portal account yet.
	w.must("nurse", jsonReq("PUT", "/api/v1/patients/"+w.p2.ID+"/notification-preferences", map[string]any{"email": true}), 409)
}
