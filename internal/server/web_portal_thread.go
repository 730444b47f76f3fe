package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"sotto"
	"sotto/internal/store"
)

// portalThreadView is a conversation as the patient side sees it: never
// an internal note.
type portalThreadView struct {
	ID, Subject, CategoryID, StatusID, IdemKey string
	Error, Draft                               string // a refused reply, worded for the viewer, and its text
	Category                                   sotto.Category
	Refill                                     *sotto.RefillRequest
	Times                                      []string // an appointment request's preferred times
	Items                                      []portalMessageView
}

// portalMessageView is one message of a portal conversation. Mine marks
// the viewer's own, which carry the practice's delivered and read marks.
type portalMessageView struct {
	ID, Sender, Body               string
	At                             time.Time
	NewDay, Staff, Mine, Retracted bool
	Attachments                    []attachmentView
	DeliveredAt, ReadAt            *time.Time
}

// portalThread shows conversation {id}.
func (s *Server) portalThread(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	return s.showPortalThread(w, r, pu, r.PathValue("id"), http.StatusOK, "", "")
}

// showPortalThread renders conversation id for the viewer, with a refused
// reply's message and text when there is one. The messages come from
// threadMessages, the API's listing core (another patient's conversation
// is not found; internal notes are never listed for the patient side).
// Opening is audited as the API audits it, and marks the practice's
// messages read (receipts, published live) through markThreadRead, the
// staff pages' read core.
func (s *Server) showPortalThread(w http.ResponseWriter, r *http.Request, pu *portalUser, id string, status int, problem, draft string) error {
	ctx := r.Context()
	meta, d, scope, msgs, err := s.threadMessages(r, pu.caller, id, store.MessagePage{Limit: threadPageSize})
	if err != nil {
		return err
	}
	conv, err := s.db.Conversation(ctx, pu.user.OrgID, meta.ID)
	if err != nil {
		return err
	}
	slices.Reverse(msgs) // oldest first, as read
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := auditAccess(tx, d, s.targetEvent(r, pu.caller, sotto.AuditConversationView, "conversation", conv.ID, conv.PatientID)); err != nil {
			return err
		}
		return s.markThreadRead(tx, r, pu.caller, meta, scope, msgs)
	})
	if err != nil {
		return err
	}
	v := &portalThreadView{ID: conv.ID, Subject: conv.Subject, Category: conv.Category, CategoryID: "cat." + string(conv.Category),
		StatusID: "status." + string(conv.Status), IdemKey: newFormKey(), Error: problem, Draft: draft, Refill: conv.Refill}
	if conv.Appointment != nil {
		v.Times = conv.Appointment.PreferredTimes
	}
	v.Items = s.portalMessages(r, pu, msgs)
	return s.renderPage(w, status, "portal-thread", s.portalView(pu, "portal.title_thread", "messages", v))
}

// portalMessages describes msgs (oldest first) for the viewer. The
// viewer's own messages carry the practice's receipts: delivered, read.
func (s *Server) portalMessages(r *http.Request, pu *portalUser, msgs []*sotto.Message) []portalMessageView {
	ppl := s.people(r.Context(), pu.user.OrgID)
	l := pu.l
	out := make([]portalMessageView, 0, len(msgs))
	for i, m := range msgs {
		if m.Internal { // threadMessages never lists them for the patient side; never show one regardless
			continue
		}
		mv := portalMessageView{ID: m.ID, Body: m.Body, At: m.CreatedAt, NewDay: i == 0 || !l.SameDay(msgs[i-1].CreatedAt, m.CreatedAt),
			Staff: m.SenderRole.IsStaff(), Mine: m.SenderID == pu.user.ID, Retracted: m.RetractedAt != nil}
		switch name := ppl.name(m.SenderID); {
		case mv.Mine:
			mv.Sender = l.T("portal.you")
		case mv.Staff && name == "":
			mv.Sender = l.T("portal.care_team")
		case m.SenderRole == sotto.RoleProxy:
			mv.Sender = l.T("msg.proxy_suffix", name)
		default:
			mv.Sender = name
		}
		for j, a := range m.AttachmentIDs {
			mv.Attachments = append(mv.Attachments, attachmentView{N: j + 1, Href: "/api/v1/attachments/" + a})
		}
		if mv.Mine {
			mv.DeliveredAt, mv.ReadAt = practiceReceipts(ppl, m)
		}
		out = append(out, mv)
	}
	return out
}

// practiceReceipts returns when message m first reached and was first
// read by anyone at the practice (nil when not yet).
func practiceReceipts(ppl *people, m *sotto.Message) (delivered, read *time.Time) {
	for _, rc := range m.Receipts {
		if u := ppl.get(rc.UserID); u == nil || !u.Role.IsStaff() {
			continue
		}
		if rc.DeliveredAt != nil && (delivered == nil || rc.DeliveredAt.Before(*delivered)) {
			delivered = rc.DeliveredAt
		}
		if rc.ReadAt != nil && (read == nil || rc.ReadAt.Before(*read)) {
			read = rc.ReadAt
		}
	}
	return delivered, read
}

// portalReply posts a reply, with an optional photo or PDF, through the
// API's cores: storeAttachment (sniffed, metadata stripped, audited) and
// postMessage (the one send path: receipts, events, audit, notification
// jobs). The form's idempotency key makes a double submit send once. A
// refused reply is answered on the conversation, its text kept.
func (s *Server) portalReply(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	id := r.PathValue("id")
	f, err := readPortalForm(w, r)
	if err != nil {
		return s.portalReplyRefused(w, r, pu, id, "", err)
	}
	body := f.values.Get("body")
	if strings.TrimSpace(body) == "" && f.file == nil {
		return s.showPortalThread(w, r, pu, id, http.StatusBadRequest, pu.l.T("portal.err_body"), body)
	}
	m := portalMessage(pu, body, f)
	if err := m.Validate(); err != nil {
		return s.portalReplyRefused(w, r, pu, id, body, err)
	}
	if sent := s.alreadySent(r, pu, m.IdempotencyKey); sent != "" {
		http.Redirect(w, r, "/portal/c/"+url.PathEscape(id)+"#m-"+sent, http.StatusSeeOther) // a second tap: sent once already
		return nil
	}
	if f.file != nil {
		a, err := s.storeAttachment(r, pu.caller, id, f.file.name, f.file.data)
		if err != nil {
			return s.portalReplyRefused(w, r, pu, id, body, err)
		}
		m.AttachmentIDs = []string{a.ID}
	}
	if _, err := s.postMessage(r, pu.caller, id, m); err != nil {
		return err
	}
	http.Redirect(w, r, "/portal/c/"+url.PathEscape(id)+"#m-"+m.ID, http.StatusSeeOther)
	return nil
}

// portalReplyRefused answers a refused reply on the conversation when the
// refusal is about the form, else returns err.
func (s *Server) portalReplyRefused(w http.ResponseWriter, r *http.Request, pu *portalUser, id, draft string, err error) error {
	msg, status, ok := formProblem(pu.l, err)
	if !ok {
		return err
	}
	return s.showPortalThread(w, r, pu, id, status, msg, draft)
}

// portalMessage builds the message a portal form sends. A chosen file is
// counted (for Validate) until its upload gives the real id.
func portalMessage(pu *portalUser, body string, f *portalForm) *sotto.Message {
	key := f.values.Get("idempotency_key")
	if key == "" {
		key = newFormKey()
	}
	m := &sotto.Message{Body: body, IdempotencyKey: key, SenderID: pu.user.ID, SenderRole: pu.user.Role}
	if f.file != nil {
		m.AttachmentIDs = []string{""}
	}
	return m
}

// alreadySent returns the message pu already sent with key (a form
// submitted twice), or "": the second submission then stores nothing, not
// even its photo again. A lookup failure answers ""; postMessage's own
// idempotency still holds.
func (s *Server) alreadySent(r *http.Request, pu *portalUser, key string) string {
	id, _, err := s.db.MessageByKey(r.Context(), pu.user.ID, key)
	if err != nil {
		return ""
	}
	return id
}
