package server

import (
	"context"
	"encoding/json"
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

// TestNotificationTemplatesAPI: admins list every kind in both languages,
// store their own wording, are refused a variable the kind does not allow,
// and return to the default; every change is audited; others are refused.
func TestNotificationTemplatesAPI(t *testing.T) {
	w := notifyWorld(t, storetest.SQLite(t, store.Options{}))
	var list templateList
	unmarshal(t, w.must("admin", req{method: "GET", path: "/api/v1/notification-templates"}, 200), &list)
	if len(list.Templates) != 14 || len(list.Channels) != 4 {
		t.Fatalf("templates = %d, channels = %d; want 7 kinds x 2 languages and 4 channels", len(list.Templates), len(list.Channels))
	}
	for _, v := range list.Templates {
		if v.Custom || v.Text != v.DefaultText || len(v.Vars) == 0 {
			t.Fatalf("fresh template %+v is not the default", v)
		}
	}
	path := "/api/v1/notification-templates/new_message/es"
	res := w.must("admin", jsonReq("PUT", path, map[string]string{"text": "Hola {{patient_name}}: {{link}}"}), 400)
	if code := res.code(); code != "template_variable_not_allowed" {
		t.Fatalf("a forbidden variable: code %q", code)
	}
	w.must("admin", jsonReq("PUT", path, map[string]string{"text": "Sin enlace"}), 400)
	w.must("admin", jsonReq("PUT", "/api/v1/notification-templates/new_message/fr", map[string]string{"text": "{{link}}"}), 404)
	w.must("admin", jsonReq("PUT", "/api/v1/notification-templates/diagnosis/en", map[string]string{"text": "{{link}}"}), 404)
	before := w.countAudit(w.orgA, sotto.AuditConfigChange)
	w.must("nurse", jsonReq("PUT", path, map[string]string{"text": "Mensaje de {{practice_name}}: {{link}}"}), 403)

	var v templateView
	unmarshal(t, w.must("admin", jsonReq("PUT", path, map[string]string{"text": "  Mensaje de {{practice_name}}: {{link}} "}), 200), &v)
	if !v.Custom || v.Text != "Mensaje de {{practice_name}}: {{link}}" || v.UpdatedBy != w.users["admin"].ID {
		t.Fatalf("stored template = %+v", v)
	}
	own, err := w.db.NotifyTemplate(context.Background(), w.orgA, "new_message", "es")
	if err != nil || own.Text != v.Text {
		t.Fatalf("store has %+v, %v", own, err)
	}
	if _, err := w.db.NotifyTemplate(context.Background(), w.orgB, "new_message", "es"); sotto.ErrorKind(err) != sotto.KindNotFound {
		t.Fatal("another organization sees the template")
	}
	w.must("admin", req{method: "DELETE", path: path}, 204)
	w.must("admin", req{method: "DELETE", path: path}, 404)
	if got := w.countAudit(w.orgA, sotto.AuditConfigChange); got != before+3 {
		t.Fatalf("config.change entries = %d, want %d (the nurse's refusal, put and delete)", got, before+3)
	}
}

// TestStaffAlertsEnqueuedForPatientMessages: with someone on call and SMS
// configured, a patient's message in an urgent conversation asks for staff
// alerts in its own transaction; a routine one, or a staff reply, does not.
func TestStaffAlertsEnqueuedForPatientMessages(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	w := smsNotifyWorld(t, db)
	staffJobs := func() int {
		var c int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_staff'`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var urgent sotto.Conversation
	unmarshal(t, w.must("nurse", jsonReq("POST", "/api/v1/conversations", map[string]any{"patient_id": w.p1.ID, "subject": "Test urgent",
		"category": "urgent", "department_id": w.depts["Nursing"]}), 201), &urgent)
	send := func(role, convID, key string, status int) {
		t.Helper()
		w.must(role, jsonReq("POST", "/api/v1/conversations/"+convID+"/messages", map[string]any{"body": "Test body", "idempotency_key": key}), status)
	}
	send("patient", urgent.ID, "u-0", 201)
	if staffJobs() != 0 {
		t.Fatal("staff alerts enqueued while nobody is on call")
	}
	var oc struct {
		OnCall store.OnCall `json:"on_call"`
	}
	unmarshal(t, w.must("admin", jsonReq("PUT", "/api/v1/on-call", map[string]string{"user_id": w.users["nurse"].ID, "phone": "+1 500 555 0123"}), 200), &oc)
	if oc.OnCall.Phone != "+15005550123" {
		t.Fatalf("answer = %+v, want the normalized number", oc)
	}
	got, err := db.OnCall(context.Background(), w.orgA)
	if err != nil || got.Phone != "+15005550123" || got.UserID != w.users["nurse"].ID {
		t.Fatalf("on call = %+v, %v", got, err)
	}
	w.must("admin", jsonReq("PUT", "/api/v1/on-call", map[string]string{"user_id": w.users["patient"].ID}), 400)
	w.must("admin", jsonReq("PUT", "/api/v1/on-call", map[string]string{"user_id": w.users["nurse"].ID, "phone": "call me"}), 400)

	send("patient", urgent.ID, "u-1", 201)
	if staffJobs() != 1 {
		t.Fatalf("staff jobs = %d after an urgent patient message, want 1", staffJobs())
	}
	send("patient", urgent.ID, "u-1", 200) // an idempotent retry
	send("nurse", urgent.ID, "u-2", 201)   // staff's own reply
	send("patient", w.conv1.ID, "g-1", 201)
	if staffJobs() != 1 {
		t.Fatalf("staff jobs = %d; a retry, a staff reply or a routine message asked for alerts", staffJobs())
	}
	w.must("admin", req{method: "DELETE", path: "/api/v1/on-call"}, 204)
	send("patient", urgent.ID, "u-3", 201)
	if staffJobs() != 1 {
		t.Fatal("staff alerts enqueued after on-call was cleared")
	}
}

// unmarshal decodes res's JSON body into v.
func unmarshal(t *testing.T, res result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(res.raw), v); err != nil {
		t.Fatalf("body %q: %v", res.raw, err)
	}
}

// TestThreadShowsHowThePatientWasNotified: the staff conversation page shows
// each staff message's patient notifications with their status.
func TestThreadShowsHowThePatientWasNotified(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
	for _, n := range []*sotto.Notification{
		{Channel: "sms", Status: sotto.NotifyDelivered, Kind: sotto.NotifyNewMessage},
		{Channel: "push", Status: sotto.NotifyFailed, Kind: sotto.NotifyNewMessage},
		{Channel: "push", Status: sotto.NotifySent, Kind: sotto.NotifyStaffQueue}, // a staff alert: not the patient's
	} {
		n.OrgID, n.UserID, n.MessageID = w.orgA, w.users["patient"].ID, w.msg1.ID
		if err := w.db.Write(context.Background(), func(tx *store.Tx) error { return tx.InsertNotification(n) }); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	p := b.post("/login", url.Values{"email": {nurse.email}, "password": {nurse.password}, "code": {auth.TOTPCode(nurse.secret, w.clock.Now())}})
	if p.status != 303 {
		t.Fatalf("sign-in: %d", p.status)
	}
	p = b.get("/inbox/c/" + w.conv1.ID)
	if p.status != 200 {
		t.Fatalf("thread: %d", p.status)
	}
	want := `Patient notified: <span class="n-delivered">text: delivered</span>, <span class="n-failed">push: failed</span>`
	if !strings.Contains(p.body, want) {
		t.Fatalf("thread lacks %q", want)
	}
	if strings.Count(p.body, "Patient notified:") != 1 {
		t.Fatal("notification statuses shown on more than the one notified message")
	}
}

// TestInviteSentThroughTheNotifier: send_via asks, in the invitation's own
// transaction, for the link to go to the patient's phone; an unconfigured
// channel or a channel without an address on record is refused plainly.
func TestInviteSentThroughTheNotifier(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	w := smsNotifyWorld(t, db)
	path := "/api/v1/patients/" + w.p1.ID + "/invite"
	var resp inviteResponse
	unmarshal(t, w.must("front_desk", jsonReq("POST", path, map[string]string{"send_via": "sms"}), 201), &resp)
	if resp.NotificationID == "" || resp.PageURL != testPublicURL+"/invite/"+resp.Token {
		t.Fatalf("invite answer = %+v", resp)
	}
	nn, err := db.Notification(context.Background(), w.orgA, resp.NotificationID)
	if err != nil || nn.Kind != sotto.NotifyInvitation || nn.Channel != "sms" || nn.PatientID != w.p1.ID || nn.Status != sotto.NotifyQueued {
		t.Fatalf("notification = %+v, %v", nn, err)
	}
	link, err := db.NotificationPayload(context.Background(), w.orgA, nn.ID)
	if err != nil || string(link) != resp.PageURL {
		t.Fatalf("sealed link = %q, %v; want the page URL", link, err)
	}
	var jobsN int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_send'`).Scan(&jobsN); err != nil || jobsN != 1 {
		t.Fatalf("send jobs = %d, %v", jobsN, err)
	}
	if res := w.must("front_desk", jsonReq("POST", path, map[string]string{"send_via": "email"}), 400); res.code() != "channel_not_configured" {
		t.Fatalf("e-mail without a channel: %s", res.raw)
	}
	w.must("front_desk", jsonReq("POST", path, map[string]string{"send_via": "fax"}), 400)
	var plain inviteResponse
	unmarshal(t, w.must("front_desk", req{method: "POST", path: path}, 201), &plain)
	if plain.NotificationID != "" || plain.Token == "" {
		t.Fatalf("an invitation without send_via = %+v", plain)
	}
}

// smsNotifyWorld is the world served with an SMS channel configured (its
// provider unreachable: no runner works the jobs in these tests).
func smsNotifyWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	smsClient, err := sms.New(sms.Config{BaseURL: "http://127.0.0.1:9", AccountSID: "ACtest0000000000000000000000000000", AuthToken: "x", From: "+15005550001"})
	if err != nil {
		t.Fatal(err)
	}
	return newWorld(t, db).withNotifier(jobs.Channels{SMS: smsClient}, "")
}
