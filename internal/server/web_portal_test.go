package server

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
	"sotto/internal/web"
)

// TestPortalPagesWithoutJavaScript walks the patient portal as patient 1
// on a browser without JavaScript: the home lists the conversation unread;
// opening it shows the practice's message (read receipt written) but never
// the internal note; a refill request with its structured fields and a
// phone photo reaches the staff API as the API would have created it
// (category refill, the fields, the photo without its metadata); a reply
// sends once however often it is submitted and shows the practice's read
// mark; another patient's conversation and a staff-only thread are not
// found; staff are sent to their inbox.
func TestPortalPagesWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		conv1 := "/portal/c/" + w.conv1.ID

		if p := b.get("/portal"); p.status != 303 || p.header.Get("Location") != "/login" {
			t.Fatalf("signed-out portal: %d %q", p.status, p.header.Get("Location"))
		}
		b.signInAs(w, "patient")

		// Home: the conversation, unread, and the big button.
		p := b.get("/portal")
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("portal home: %d %v", p.status, p.header)
		}
		mustContain(t, "the portal home", p.body, `<html lang="en">`, "Your messages", `href="/portal/new"`, "Test subject canary",
			`<li class="pconv unread"><a href="`+conv1+`"`, "Test Practice A", `data-idle="1800"`, `id="logout-form"`)
		mustNotContain(t, "the portal home", p.body, `href="/inbox"`, `href="/patients"`)

		// The conversation: the practice's message and its file, never the note.
		p = b.get(conv1)
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("conversation: %d", p.status)
		}
		mustContain(t, "the conversation", p.body, "Test body canary", "Test nurse", `href="/api/v1/attachments/`+w.att1.ID+`"`,
			`enctype="multipart/form-data"`, `capture="environment"`, `accept="image/*,application/pdf"`)
		mustNotContain(t, "the conversation", p.body, "Test internal note", `class="note-label"`, " note\"", w.note1.ID)
		if p = b.get("/portal"); !strings.Contains(p.body, `<li class="pconv"><a href="`+conv1+`"`) {
			t.Fatalf("the opened conversation is still unread:\n%s", p.body)
		}
		msgs := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if !strings.Contains(msgs.raw, `"user_id":"`+w.users["patient"].ID+`","delivered_at"`) || !strings.Contains(msgs.raw, `"read_at"`) {
			t.Fatalf("opening wrote no read receipt for the patient: %s", msgs.raw)
		}
		if p = b.get("/api/v1/attachments/" + w.att1.ID); p.status != 200 || p.body != "%PDF-1.4\n%%EOF\n" {
			t.Fatalf("attachment download through the audited route: %d", p.status)
		}

		// A refill request: the form asks for the medicine; refused, nothing is created.
		before := convCount(t, w, w.p1.ID)
		p = b.get("/portal/new?reason=refill")
		mustContain(t, "the new-message form", p.body, `id="reason-refill" checked`, `name="medication"`, `name="preferred_time"`,
			`enctype="multipart/form-data"`, `capture="environment"`)
		key := formKey(t, p.body)
		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"reason", "refill"}, {"body", "Test refill without a name"}}, nil)
		if p.status != 400 || !strings.Contains(p.body, "Write the name of the medicine") || !strings.Contains(p.body, "Test refill without a name") {
			t.Fatalf("refill without a medicine: %d\n%s", p.status, p.body)
		}
		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"reason", "general"}, {"body", "Test question with a text file"}},
			&formFile{name: "notes.txt", data: []byte("plain text, not a photo")})
		if p.status != 415 || !strings.Contains(p.body, "Send a photo (JPEG, PNG or HEIC) or a PDF") {
			t.Fatalf("text file: %d\n%s", p.status, p.body)
		}
		if n := convCount(t, w, w.p1.ID); n != before {
			t.Fatalf("refused forms created %d conversations", n-before)
		}

		photo := phonePhoto(t)
		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"reason", "refill"},
			{"medication", "Demoxitol"}, {"dose", "10 mg once a day"}, {"pharmacy", "Test Pharmacy Springfield"},
			{"preferred_time", ""}, {"body", "Test refill request, photo of the box attached"}}, &formFile{name: "IMG_0042.jpg", data: photo})
		id := newConvID(t, p)

		// The staff API sees it as if created through the API.
		conv := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + id}, 200)
		refill, _ := conv.body["refill"].(map[string]any)
		if conv.body["category"] != "refill" || conv.body["patient_id"] != w.p1.ID || conv.body["department_id"] != w.depts["Nursing"] ||
			refill["medication"] != "Demoxitol" || refill["dose"] != "10 mg once a day" || refill["pharmacy"] != "Test Pharmacy Springfield" ||
			conv.body["subject"] != "Test refill request, photo of the box attached" || conv.body["created_by"] != w.users["patient"].ID {
			t.Fatalf("the staff API sees: %s", conv.raw)
		}
		list := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + id + "/messages"}, 200)
		ms, _ := list.body["messages"].([]any)
		if len(ms) != 1 {
			t.Fatalf("messages: %s", list.raw)
		}
		m := ms[0].(map[string]any)
		atts, _ := m["attachment_ids"].([]any)
		if m["body"] != "Test refill request, photo of the box attached" || m["sender_role"] != "patient" || len(atts) != 1 {
			t.Fatalf("the first message: %s", list.raw)
		}
		dl := w.must("nurse", req{method: "GET", path: "/api/v1/attachments/" + atts[0].(string)}, 200)
		if dl.header.Get("Content-Type") != "image/jpeg" || strings.Contains(dl.raw, exifCanary) || len(dl.raw) < 100 {
			t.Fatalf("the photo as staff get it: %q, %d bytes, canary kept: %v", dl.header.Get("Content-Type"), len(dl.raw), strings.Contains(dl.raw, exifCanary))
		}
		for _, a := range []string{sotto.AuditConversationCreate, sotto.AuditAttachmentUpload, sotto.AuditMessageSend} {
			if auditCountOf(t, db, a, w.p1.ID) == 0 {
				t.Errorf("no %s audit entry", a)
			}
		}
		var jobs int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs == 0 {
			t.Error("the portal's message queued no notification job (the proxy is a recipient)")
		}

		// The patient's thread: the request, the message, its mark.
		p = b.get("/portal/c/" + id)
		mustContain(t, "the refill thread", p.body, "Refill request", "Demoxitol", "Test Pharmacy Springfield",
			"Test refill request, photo of the box attached", "Attachment 1", `class="sent"`)
		msgID := m["id"].(string)
		w.must("nurse", req{method: "POST", path: "/api/v1/messages/" + msgID + "/read"}, 204)
		p = b.get("/portal/c/" + id)
		mustContain(t, "the read thread", p.body, `<span class="read" title=`, "✓✓ Read")

		// A reply sends once, however often the form is submitted.
		p = b.get(conv1)
		form := [][2]string{{"idempotency_key", formKey(t, p.body)}, {"body", "Test reply from the portal"}}
		for range 2 {
			p = b.postMultipart(conv1+"/messages", form, nil)
			if p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), conv1+"#m-") {
				t.Fatalf("reply: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
			}
		}
		msgs = w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if n := strings.Count(msgs.raw, "Test reply from the portal"); n != 1 {
			t.Fatalf("the practice got the reply %d times", n)
		}
		p = b.postMultipart(conv1+"/messages", [][2]string{{"idempotency_key", "web-empty-1"}, {"body", "  "}}, nil)
		if p.status != 400 || !strings.Contains(p.body, "Write your message, or add a photo") {
			t.Fatalf("empty reply: %d\n%s", p.status, p.body)
		}

		// Another patient's conversation and a staff-only thread do not exist here.
		other := w.must("nurse", jsonReq("POST", "/api/v1/conversations", map[string]string{"patient_id": w.p2.ID,
			"subject": "Test other patient's subject", "category": "general", "department_id": w.depts["Nursing"]}), 201)
		internal := w.must("nurse", jsonReq("POST", "/api/v1/conversations", map[string]string{"patient_id": w.p1.ID,
			"subject": "Test staff-only subject", "category": "internal", "department_id": w.depts["Nursing"]}), 201)
		for _, cid := range []string{other.body["id"].(string), internal.body["id"].(string), store.NewID(), "not-an-id"} {
			p = b.get("/portal/c/" + cid)
			if p.status != 404 || p.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("conversation %s: %d", cid, p.status)
			}
			mustContain(t, "the not-found page", p.body, "is not yours to see", `href="/portal"`)
			mustNotContain(t, "the not-found page", p.body, "Test other patient", "Test staff-only")
			p = b.postMultipart("/portal/c/"+cid+"/messages", [][2]string{{"idempotency_key", "web-x-" + cid}, {"body", "Test forged reply"}},
				&formFile{name: "x.jpg", data: photo})
			if p.status != 404 {
				t.Fatalf("reply to conversation %s: %d", cid, p.status)
			}
		}
		if p = b.get("/portal"); strings.Contains(p.body, "Test other patient") || strings.Contains(p.body, "Test staff-only") {
			t.Fatal("the home lists a conversation that is not the patient's")
		}
		if res := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + other.body["id"].(string) + "/messages"}, 200); strings.Contains(res.raw, "Test forged reply") {
			t.Fatal("a reply reached another patient's conversation")
		}

		// A form posted from another site is refused and creates nothing.
		before = convCount(t, w, w.p1.ID)
		p = b.do("POST", "/portal/new", url.Values{"reason": {"general"}, "body": {"Test forged question"}, "idempotency_key": {"forged-2"}},
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"})
		if p.status != 403 || convCount(t, w, w.p1.ID) != before {
			t.Fatalf("cross-origin form: %d", p.status)
		}

		// Staff on the portal are sent to their inbox.
		s := newBrowserClient(t, ts.URL)
		s.signInAs(w, "nurse")
		for _, path := range []string{"/portal", "/portal/settings", "/portal/c/" + w.conv1.ID} {
			if p = s.get(path); p.status != 303 || p.header.Get("Location") != "/inbox" {
				t.Fatalf("staff at %s: %d %q", path, p.status, p.header.Get("Location"))
			}
		}
		if p = s.get("/"); p.header.Get("Location") != "/inbox" {
			t.Fatalf("staff home: %q", p.header.Get("Location"))
		}
		w.assertNoPHILogged()
	})
}

// TestPortalSettingsPage changes notification preferences and language
// on the settings page: SMS consent is recorded with source "portal"
// (seen through the API), the language is stored on the patient's record
// (audited) and the pages turn Spanish.
func TestPortalSettingsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		b.signInAs(w, "patient")

		p := b.get("/portal/settings")
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("settings: %d", p.status)
		}
		mustContain(t, "the settings page", p.body, `id="email" checked`, `id="push" checked`, `id="lang-en" checked`, "Reply STOP",
			"Test Practice A may text")
		mustNotContain(t, "the settings page", p.body, `id="sms" checked`)

		p = b.post("/portal/settings", url.Values{"sms": {"1"}, "email": {"1"}, "language": {"es"}})
		if p.status != 303 || p.header.Get("Location") != "/portal/settings?saved=1" {
			t.Fatalf("save: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		prefs := w.must("patient", req{method: "GET", path: "/api/v1/me/notification-preferences"}, 200)
		if prefs.body["sms"] != true || prefs.body["email"] != true || prefs.body["push"] != false ||
			prefs.body["sms_consent_source"] != "portal" || prefs.body["sms_consent_at"] == nil {
			t.Fatalf("stored preferences: %s", prefs.raw)
		}
		pt, err := db.Patient(context.Background(), w.orgA, w.p1.ID)
		if err != nil || pt.Language != "es" {
			t.Fatalf("patient language: %v %v", pt, err)
		}
		if n := auditCountOf(t, db, sotto.AuditPatientUpdate, w.p1.ID); n != 1 {
			t.Fatalf("language change audited %d times", n)
		}
		p = b.get("/portal/settings?saved=1")
		mustContain(t, "the Spanish settings page", p.body, `<html lang="es">`, "Sus ajustes se guardaron", `id="sms" checked`,
			`id="lang-es" checked`, `id="sms-consent-at"`, "Aceptó los mensajes de texto")
		mustNotContain(t, "the Spanish settings page", p.body, `id="push" checked`)
		p = b.get("/portal/c/" + w.conv1.ID)
		mustContain(t, "the Spanish conversation", p.body, `<html lang="es">`, "Escriba una respuesta", "Agregar una foto o un PDF")

		// Turning SMS off forgets the consent; an unknown language changes nothing.
		p = b.post("/portal/settings", url.Values{"email": {"1"}, "push": {"1"}, "language": {"fr"}})
		if p.status != 400 {
			t.Fatalf("unknown language: %d", p.status)
		}
		p = b.post("/portal/settings", url.Values{"email": {"1"}, "push": {"1"}, "language": {"en"}})
		if p.status != 303 {
			t.Fatalf("save again: %d", p.status)
		}
		prefs = w.must("patient", req{method: "GET", path: "/api/v1/me/notification-preferences"}, 200)
		if prefs.body["sms"] != false || prefs.body["sms_consent_source"] != nil || prefs.body["push"] != true {
			t.Fatalf("preferences after turning SMS off: %s", prefs.raw)
		}
		if p = b.get("/portal"); !strings.Contains(p.body, `<html lang="en">`) {
			t.Fatal("the portal did not return to English")
		}
		w.assertNoPHILogged()
	})
}

// TestPortalProxyOfSeveralPatients: a proxy acting for two patients sees
// both patients' conversations, each marked with whom it is about (the
// names' view audited), chooses the patient of a new message, and cannot
// name a patient they do not act for.
func TestPortalProxyOfSeveralPatients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(`INSERT INTO patient_proxies (patient_id, user_id, relationship, created_at) VALUES ($1, $2, 'parent', 0)`,
				w.p2.ID, w.users["proxy"].ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		w.must("nurse", jsonReq("POST", "/api/v1/conversations", map[string]string{"patient_id": w.p2.ID,
			"subject": "Test second patient subject", "category": "general", "department_id": w.depts["Nursing"]}), 201)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		b.signInAs(w, "proxy")

		viewsBefore := auditCountOf(t, db, sotto.AuditPatientView, w.p2.ID)
		p := b.get("/portal")
		mustContain(t, "the proxy's home", p.body, "Test subject canary", "Test second patient subject", "For Testy", "For Fakey")
		if auditCountOf(t, db, sotto.AuditPatientView, w.p2.ID) == viewsBefore {
			t.Fatal("showing the patients' names was not audited")
		}
		p = b.get("/portal/new")
		mustContain(t, "the proxy's form", p.body, `<select id="patient" name="patient_id">`, `value="`+w.p2.ID+`"`, "Fakey Doe-Test")
		key := formKey(t, p.body)

		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"reason", "billing"}, {"body", "Test billing question"}}, nil)
		if p.status != 400 || !strings.Contains(p.body, "Choose who this message is about") {
			t.Fatalf("no patient chosen: %d\n%s", p.status, p.body)
		}
		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"patient_id", store.NewID()}, {"reason", "billing"},
			{"body", "Test billing question"}}, nil)
		if p.status != 400 {
			t.Fatalf("a patient the proxy does not act for: %d", p.status)
		}
		p = b.postMultipart("/portal/new", [][2]string{{"idempotency_key", key}, {"patient_id", w.p2.ID}, {"reason", "appointment"},
			{"preferred_time", "Tuesday morning"}, {"preferred_time", ""}, {"preferred_time", "Friday after 3 pm"}}, nil)
		id := newConvID(t, p)
		// Patient 2 has no department, so no staff member is in scope: read
		// the stored conversation.
		conv, err := db.Conversation(context.Background(), w.orgA, id)
		if err != nil {
			t.Fatal(err)
		}
		if conv.PatientID != w.p2.ID || conv.Category != sotto.CategoryAppointment || conv.Appointment == nil ||
			strings.Join(conv.Appointment.PreferredTimes, "|") != "Tuesday morning|Friday after 3 pm" || conv.CreatedBy != w.users["proxy"].ID {
			t.Fatalf("the stored appointment request: %+v", conv)
		}
		p = b.get("/portal/c/" + id)
		mustContain(t, "the appointment thread", p.body, "Tuesday morning", "Friday after 3 pm", "No messages yet.")
		w.assertNoPHILogged()
	})
}

// TestPortalComposedMessageIDs: the message ids the portal builds from a
// reason, a language or a password-policy code exist in both languages.
func TestPortalComposedMessageIDs(t *testing.T) {
	var ids []string
	for _, c := range portalReasons {
		ids = append(ids, "portal.reason_"+string(c), "portal.hint_"+string(c), "portal.subject_"+string(c), "cat."+string(c))
	}
	for _, l := range sotto.Languages {
		ids = append(ids, "portal.lang_"+l)
	}
	for _, code := range []string{auth.CodePasswordTooShort, auth.CodePasswordPersonal, auth.CodePasswordCommon, auth.CodePasswordPredictable} {
		_, id := inviteRefusal(&sotto.Error{Kind: sotto.KindInvalid, Code: code})
		ids = append(ids, id)
	}
	for _, lang := range web.Languages {
		l := web.NewLocale(lang, nil, time.Now())
		for _, id := range ids {
			if got := l.T(id, "x"); got == id || strings.HasPrefix(got, id) {
				t.Errorf("%s: no message %q", lang, id)
			}
		}
	}
}
