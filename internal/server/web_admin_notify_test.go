package server

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// templateOf reads one template as GET /api/v1/notification-templates
// answers it.
func templateOf(t *testing.T, w *world, kind, lang string) templateView {
	t.Helper()
	var list templateList
	unmarshal(t, w.must("admin", req{method: "GET", path: "/api/v1/notification-templates"}, 200), &list)
	for _, v := range list.Templates {
		if v.Kind == kind && v.Lang == lang {
			return v
		}
	}
	t.Fatalf("no template %s/%s", kind, lang)
	return templateView{}
}

// TestAdminNotificationTemplatesPage: a variable the kind does not allow is
// refused on the form, in the viewer's language, with the allowed list and
// the text kept; a valid text is stored (the API shows it), audited, and
// the default can be restored; the channels say which wording they would
// refuse.
func TestAdminNotificationTemplatesPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := smsNotifyWorld(t, db)
		b, admin := adminConsole(t, w)
		p := b.get("/admin/notifications")
		mustContain(t, "notifications page", p.body, `id="tpl-new_message-es"`, "Variables you may use: {{practice_name}}, {{link}}",
			"Text message (SMS)", "Default wording", `id="dead-letters-empty"`, "Nobody is on call.")

		form := url.Values{"kind": {"new_message"}, "lang": {"es"}, "op": {"save"}, "text": {"Hola {{patient_name}}: {{link}}"}}
		p = b.post("/admin/notifications/templates", form)
		if p.status != 400 {
			t.Fatalf("a forbidden variable: %d", p.status)
		}
		mustContain(t, "refused form", p.body, `<p class="error" role="alert" id="tpl-new_message-es-error">{{patient_name}} cannot be used in this notification. You may use: {{practice_name}}, {{link}}.</p>`,
			`aria-invalid="true">Hola {{patient_name}}: {{link}}</textarea>`)
		p = b.do("POST", "/admin/notifications/templates", form, map[string]string{"Accept-Language": "es-MX,es;q=0.9"})
		mustContain(t, "refused form in Spanish", p.body, "{{patient_name}} no se puede usar en esta notificación. Puede usar: {{practice_name}}, {{link}}.")
		if _, err := db.NotifyTemplate(context.Background(), w.orgA, "new_message", "es"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("a refused text was stored (%v)", err)
		}
		form.Set("text", "")
		if p = b.post("/admin/notifications/templates", form); p.status != 400 || !strings.Contains(p.body, "Write the text of the notification.") {
			t.Fatalf("an empty text: %d", p.status)
		}
		form.Set("text", "Sin enlace")
		if p = b.post("/admin/notifications/templates", form); p.status != 400 || !strings.Contains(p.body, "must use {{link}}") {
			t.Fatalf("a text without its link: %d", p.status)
		}

		before := auditActions(t, db, admin.user.ID)[sotto.AuditConfigChange]
		form.Set("text", "Mensaje seguro de {{practice_name}}: {{link}}")
		p = b.post("/admin/notifications/templates", form)
		if p.status != 303 || p.header.Get("Location") != "/admin/notifications?done=template_saved#tpl-new_message-es" {
			t.Fatalf("save: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		if v := templateOf(t, w, "new_message", "es"); !v.Custom || v.Text != "Mensaje seguro de {{practice_name}}: {{link}}" || v.UpdatedBy != admin.user.ID {
			t.Fatalf("the API shows %+v", v)
		}
		p = b.get("/admin/notifications?done=template_saved")
		mustContain(t, "page after saving", p.body, "Your wording is saved.", ">Mensaje seguro de {{practice_name}}: {{link}}</textarea>", "Your own wording")

		// A reminder with the appointment's date needs a BAA: SMS (none on
		// file) would refuse it, and the page says so.
		reminder := url.Values{"kind": {"appointment_reminder"}, "lang": {"en"}, "op": {"save"}, "text": {"See you on {{date}} at {{time}}: {{link}}"}}
		if p = b.post("/admin/notifications/templates", reminder); p.status != 303 {
			t.Fatalf("reminder: %d %s", p.status, p.body)
		}
		p = b.get("/admin/notifications")
		mustContain(t, "page with a reminder needing a BAA", p.body, "These channels would refuse it: Text message (SMS)",
			`<span class="warn">Appointment reminder · English</span>`)

		// Restore the default.
		form.Set("op", "restore")
		if p = b.post("/admin/notifications/templates", form); p.status != 303 || !strings.Contains(p.header.Get("Location"), "done=template_restored") {
			t.Fatalf("restore: %d %q", p.status, p.header.Get("Location"))
		}
		if v := templateOf(t, w, "new_message", "es"); v.Custom || v.Text != v.DefaultText {
			t.Fatalf("after restoring, the API shows %+v", v)
		}
		if after := auditActions(t, db, admin.user.ID)[sotto.AuditConfigChange]; after != before+3 {
			t.Fatalf("config.change entries %d → %d, want 3 more (save, reminder, restore)", before, after)
		}
		if p = b.post("/admin/notifications/templates", form); p.status != 404 {
			t.Fatalf("restoring a default: %d", p.status)
		}
		for _, bad := range []url.Values{{"kind": {"diagnosis"}, "lang": {"en"}}, {"kind": {"new_message"}, "lang": {"fr"}}} {
			if p = b.post("/admin/notifications/templates", bad); p.status != 404 {
				t.Errorf("template %v: %d", bad, p.status)
			}
		}
	})
}

// TestAdminOnCallAndDeadLetters: on call is set and cleared through the
// page (the API agrees), a refused setting is answered on the form; a
// failed notification is listed without patient data and its retry
// queues it again; another practice's notification is not found.
func TestAdminOnCallAndDeadLetters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := smsNotifyWorld(t, db)
		b, admin := adminConsole(t, w)
		nurse := w.users["nurse"]
		onCall := func() map[string]any {
			res := w.must("admin", req{method: "GET", path: "/api/v1/on-call"}, 200)
			oc, _ := res.body["on_call"].(map[string]any)
			return oc
		}
		set := url.Values{"op": {"set"}, "user_id": {nurse.ID}, "phone": {"+1 500 555 0123"}}
		if p := b.post("/admin/notifications/on-call", set); p.status != 303 || p.header.Get("Location") != "/admin/notifications?done=on_call_set#on-call" {
			t.Fatalf("set on call: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		if oc := onCall(); oc["user_id"] != nurse.ID || oc["phone"] != "+15005550123" {
			t.Fatalf("on call = %v", oc)
		}
		p := b.get("/admin/notifications")
		mustContain(t, "page with someone on call", p.body, "<strong>Test nurse is on call.</strong> Urgent texts go to &#43;15005550123.",
			`<option value="`+nurse.ID+`" selected>`, `id="on-call-clear"`)

		for _, c := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"op": {"set"}, "user_id": {nurse.ID}, "phone": {"call me"}}, "sotto cannot text this number."},
			{url.Values{"op": {"set"}, "user_id": {w.users["patient"].ID}}, "Choose an active staff member."},
			{url.Values{"op": {"set"}, "user_id": {w.users["other_admin"].ID}}, "Choose an active staff member."},
		} {
			p = b.post("/admin/notifications/on-call", c.form)
			if p.status != 400 || !strings.Contains(p.body, `<p class="error" role="alert" id="on-call-error">`+c.want) {
				t.Errorf("on call %v: %d", c.form, p.status)
			}
		}
		if oc := onCall(); oc["user_id"] != nurse.ID {
			t.Fatalf("a refused setting changed on call: %v", oc)
		}
		if p = b.post("/admin/notifications/on-call", url.Values{"op": {"clear"}}); p.status != 303 {
			t.Fatalf("clear: %d", p.status)
		}
		if oc := onCall(); oc != nil {
			t.Fatalf("on call after clearing = %v", oc)
		}

		// A dead letter about patient 1, and one of the other practice.
		failed := &sotto.Notification{OrgID: w.orgA, UserID: w.users["patient"].ID, PatientID: w.p1.ID, MessageID: w.msg1.ID,
			Kind: sotto.NotifyNewMessage, Channel: "sms", Status: sotto.NotifyFailed, Attempts: 8, ErrorCode: "sms_30003"}
		theirs := &sotto.Notification{OrgID: w.orgB, UserID: w.users["other_admin"].ID, Kind: sotto.NotifyStaffQueue, Channel: "push", Status: sotto.NotifyFailed}
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			if err := tx.InsertNotification(failed); err != nil {
				return err
			}
			return tx.InsertNotification(theirs)
		}); err != nil {
			t.Fatal(err)
		}
		if res := w.must("admin", req{method: "GET", path: "/api/v1/notifications?status=failed"}, 200); !strings.Contains(res.raw, failed.ID) || strings.Contains(res.raw, theirs.ID) {
			t.Fatalf("the API's dead letters: %s", res.raw)
		}
		if res := w.must("admin", req{method: "GET", path: "/api/v1/notifications/report?days=7"}, 200); !strings.Contains(res.raw, `"failed":1`) {
			t.Fatalf("the API's delivery report: %s", res.raw)
		}
		if p := b.get("/admin"); !strings.Contains(p.body, `<span class="warn">Failed in the last 7 days: 1</span>`) {
			t.Fatalf("the overview does not count the failure:\n%s", p.body)
		}
		before := auditActions(t, db, admin.user.ID)
		p = b.get("/admin/notifications")
		mustContain(t, "dead letters", p.body, `<tr id="n-`+failed.ID+`">`, "<code>sms_30003</code>", `action="/admin/notifications/`+failed.ID+`/retry"`)
		mustNotContain(t, "dead letters", p.body, theirs.ID, w.p1.ID, w.users["patient"].ID)
		mustNotContain(t, "dead letters", p.body, phiCanaries...)
		if after := auditActions(t, db, admin.user.ID); after[sotto.AuditLogView] != before[sotto.AuditLogView]+1 {
			t.Fatal("listing the dead letters was not audited")
		}
		if p = b.post("/admin/notifications/"+theirs.ID+"/retry", nil); p.status != 404 {
			t.Fatalf("retrying another practice's notification: %d", p.status)
		}
		if p = b.post("/admin/notifications/"+failed.ID+"/retry", nil); p.status != 303 || p.header.Get("Location") != "/admin/notifications?done=retried#dead-letters" {
			t.Fatalf("retry: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		got, err := db.Notification(context.Background(), w.orgA, failed.ID)
		if err != nil || got.Status != sotto.NotifyQueued || got.Attempts != 0 || got.ErrorCode != "" {
			t.Fatalf("after retry: %+v, %v", got, err)
		}
		if after := auditActions(t, db, admin.user.ID); after[sotto.AuditNotificationRetry] != before[sotto.AuditNotificationRetry]+1 {
			t.Fatal("the retry was not audited")
		}
		if p = b.post("/admin/notifications/"+failed.ID+"/retry", nil); p.status != 409 {
			t.Fatalf("retrying a queued notification: %d", p.status)
		}
		p = b.get("/admin/notifications?done=retried")
		mustContain(t, "page after retry", p.body, "queued to be sent again", `id="dead-letters-empty"`)
		if theirs, _ := db.Notification(context.Background(), w.orgB, theirs.ID); theirs.Status != sotto.NotifyFailed {
			t.Fatal("the other practice's notification changed")
		}
		w.assertNoPHILogged()
	})
}
