package server

import (
	"net/http"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/store"
)

// messageRequest is the body of POST /api/v1/conversations/{id}/messages.
type messageRequest struct {
	Body           string   `json:"body"`
	IdempotencyKey string   `json:"idempotency_key"`
	AttachmentIDs  []string `json:"attachment_ids"`
	Internal       bool     `json:"internal"`
	Corrects       string   `json:"corrects"`
}

// sendMessage adds a message to a conversation. The 201 answer means the
// message, its receipts and its audit entry are committed durably; a
// retry with the same idempotency key answers 200 with the same message.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req messageRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	m := &sotto.Message{Body: req.Body, IdempotencyKey: req.IdempotencyKey, AttachmentIDs: req.AttachmentIDs, Internal: req.Internal,
		Corrects: req.Corrects, SenderID: c.user.ID, SenderRole: c.user.Role}
	if err := m.Validate(); err != nil {
		return err
	}
	for _, id := range m.AttachmentIDs {
		if !store.ValidID(id) {
			return sotto.Errorf(sotto.KindInvalid, "attachment_ids must name uploaded attachments.")
		}
	}
	existing, err := s.postMessage(r, c, r.PathValue("id"), m)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/messages/"+m.ID)
	writeJSON(w, status, m)
	return nil
}

// postMessage authorizes c to post m (validated by the caller) in conversation
// convID and writes it durably with its receipts, events and audit entry. It
// reports existing when m's idempotency key was already used (m then holds the
// stored message). The API and the pages share it. Errors: KindNotFound,
// KindForbidden, KindInvalid, KindConflict.
func (s *Server) postMessage(r *http.Request, c *caller, convID string, m *sotto.Message) (existing bool, err error) {
	ctx := r.Context()
	conv, err := s.db.ConversationMeta(ctx, c.user.OrgID, convID)
	if err != nil {
		return false, err
	}
	staff := c.user.Role.IsStaff()
	if !staff && m.Internal {
		return false, sotto.Errorf(sotto.KindInvalid, "internal notes are for practice staff only.")
	}
	if conv.IsInternal() {
		m.Internal = true
	}
	d, scope, err := s.authorize(r, c, conv, sotto.ActionReply)
	if err != nil {
		return false, err
	}
	if staff && !m.Internal && conv.Category == sotto.CategoryLabResult {
		// Releasing a lab result to the patient is its own permission.
		if _, _, err := s.authorize(r, c, conv, sotto.ActionShareLabResult); err != nil {
			return false, err
		}
	}
	if c.user.Role == sotto.RoleProxy {
		m.OnBehalfOf = conv.PatientID
	}
	alertStaff := false
	if n := s.cfg.Notify.Notifier; n != nil && !staff && !m.Internal {
		// A new item for the practice: tell the staff whose queue it is
		// in, when anyone could hear (a cached check; free otherwise).
		if alertStaff, err = n.WantsStaffAlerts(ctx, conv.OrgID, conv.Category == sotto.CategoryUrgent); err != nil {
			return false, err
		}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var recipients []string
		if !m.Internal && conv.PatientID != "" {
			rs, err := tx.PatientRecipients(conv.PatientID)
			if err != nil {
				return err
			}
			for _, id := range rs {
				if id != c.user.ID {
					recipients = append(recipients, id)
				}
			}
		}
		var ev *sotto.Event
		var err error
		if existing, ev, err = tx.InsertMessage(conv, m, recipients); err != nil || existing {
			return err
		}
		s.publish(tx, ev, scope)
		if len(recipients) > 0 {
			// Tell the patient side, without saying anything: the job plans
			// and sends PHI-free notifications after the commit.
			jobs.EnqueueMessage(tx, conv.OrgID, m.ID)
		}
		if alertStaff {
			jobs.EnqueueStaff(tx, conv.OrgID, m.ID)
		}
		if !staff && conv.Status != sotto.StatusOpen {
			// A patient's reply puts the conversation back in the queue.
			open := sotto.StatusOpen
			_, uev, err := tx.UpdateConversation(conv.OrgID, conv.ID, c.user.ID, store.ConversationUpdate{Status: &open})
			if err != nil {
				return err
			}
			s.publish(tx, uev, scope)
		}
		aev := s.targetEvent(r, c, sotto.AuditMessageSend, "message", m.ID, conv.PatientID)
		return auditAccess(tx, d, aev)
	})
	return existing, err
}

// messageList is one page of GET /api/v1/conversations/{id}/messages.
type messageList struct {
	Messages   []*sotto.Message `json:"messages"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// listMessages returns a conversation's messages, newest first (internal
// notes for staff only); opening them is audited as a conversation view.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit, err := queryLimit(r, 50, 200)
	if err != nil {
		return err
	}
	before, err := queryCursor(r, "cursor")
	if err != nil {
		return err
	}
	ctx := r.Context()
	conv, d, _, msgs, err := s.threadMessages(r, c, r.PathValue("id"), store.MessagePage{Before: before, Limit: limit})
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		ev := s.targetEvent(r, c, sotto.AuditConversationView, "conversation", conv.ID, conv.PatientID)
		return auditAccess(tx, d, ev)
	})
	if err != nil {
		return err
	}
	out := messageList{Messages: msgs}
	if len(msgs) == limit {
		out.NextCursor = itoa64(msgs[len(msgs)-1].Seq)
	}
	if !c.user.Role.IsStaff() {
		for _, m := range out.Messages {
			m.IdempotencyKey = ""
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// threadMessages is the listing core shared by the API and the patient
// portal: it authorizes c to read conversation convID (another org's,
// another patient's or, for the patient side, a staff-only thread is not
// found) and lists page of its messages, newest first. Internal notes are
// listed for staff only, whatever page asks. The caller audits the view.
func (s *Server) threadMessages(r *http.Request, c *caller, convID string, page store.MessagePage) (*sotto.Conversation, sotto.Decision, store.PatientScope, []*sotto.Message, error) {
	ctx := r.Context()
	conv, err := s.db.ConversationMeta(ctx, c.user.OrgID, convID)
	if err != nil {
		return nil, sotto.Decision{}, store.PatientScope{}, nil, err
	}
	d, scope, err := s.authorize(r, c, conv, sotto.ActionRead)
	if err != nil {
		return nil, sotto.Decision{}, store.PatientScope{}, nil, err
	}
	page.Internal = c.user.Role.IsStaff()
	msgs, err := s.db.Messages(ctx, c.user.OrgID, conv.ID, page)
	if err != nil {
		return nil, sotto.Decision{}, store.PatientScope{}, nil, err
	}
	return conv, d, scope, msgs, nil
}

// readMessage records that the caller opened a message (a read receipt)
// and audits the open, every time.
func (s *Server) readMessage(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	m, conv, d, scope, err := s.messageAccess(r, c, sotto.ActionRead)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if m.SenderID != c.user.ID {
			ev, err := tx.MarkReceipt(conv, m, c.user.ID, true)
			if err != nil {
				return err
			}
			s.publish(tx, ev, scope)
		}
		aev := s.targetEvent(r, c, sotto.AuditMessageRead, "message", m.ID, conv.PatientID)
		return auditAccess(tx, d, aev)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// retractMessage marks one of the caller's own messages retracted: it stays
// in the record, shown as retracted; a correction is sent as a new message
// with "corrects". Audited.
func (s *Server) retractMessage(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	m, conv, d, scope, err := s.messageAccess(r, c, sotto.ActionReply)
	if err != nil {
		return err
	}
	if m.SenderID != c.user.ID {
		return &sotto.Error{Kind: sotto.KindForbidden, Code: "forbidden", Msg: "Only the author of a message may retract it."}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		ev, err := tx.RetractMessage(conv, m, c.user.ID)
		if err != nil {
			return err
		}
		s.publish(tx, ev, scope)
		return auditAccess(tx, d, s.targetEvent(r, c, sotto.AuditMessageRetract, "message", m.ID, conv.PatientID))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// messageAccess loads the message named by the path and its conversation
// and decides act on it for c. Internal notes do not exist for patients.
func (s *Server) messageAccess(r *http.Request, c *caller, act sotto.Action) (*sotto.Message, *sotto.Conversation, sotto.Decision, store.PatientScope, error) {
	ctx := r.Context()
	m, err := s.db.Message(ctx, c.user.OrgID, r.PathValue("id"))
	if err != nil {
		return nil, nil, sotto.Decision{}, store.PatientScope{}, err
	}
	if m.Internal && !c.user.Role.IsStaff() {
		return nil, nil, sotto.Decision{}, store.PatientScope{}, sotto.Errorf(sotto.KindNotFound, "Message not found.")
	}
	conv, err := s.db.ConversationMeta(ctx, c.user.OrgID, m.ConversationID)
	if err != nil {
		return nil, nil, sotto.Decision{}, store.PatientScope{}, err
	}
	d, scope, err := s.authorize(r, c, conv, act)
	return m, conv, d, scope, err
}
