package server

import (
	"net/http"
	"net/url"

	"sotto"
	"sotto/internal/store"
)

// The inbox's actions are plain form posts (they work without
// JavaScript), each through the same core as the API, answered with a
// redirect back to the conversation (post/redirect/get).

// sendForm posts a reply or an internal note through postMessage, the one
// send path. The form's idempotency key, made when the form was rendered,
// makes a double submit send once.
func (s *Server) sendForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	key := f.Get("idempotency_key")
	if key == "" {
		key = newFormKey()
	}
	m := &sotto.Message{Body: f.Get("body"), IdempotencyKey: key, Internal: f.Get("internal") != "",
		SenderID: c.user.ID, SenderRole: c.user.Role}
	if err := m.Validate(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.postMessage(r, c, id, m); err != nil {
		return err
	}
	return s.backToThread(w, r, c, id, "#m-"+m.ID)
}

// statusForm closes or reopens a conversation through the API's core.
func (s *Server) statusForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	st := r.PostForm.Get("status")
	if st != string(sotto.StatusOpen) && st != string(sotto.StatusClosed) {
		return sotto.Errorf(sotto.KindInvalid, "The form asked for an unknown status.")
	}
	id := r.PathValue("id")
	if _, err := s.updateConversation(r, c, id, conversationPatch{Status: &st}); err != nil {
		return err
	}
	return s.backToThread(w, r, c, id, "")
}

// assignForm assigns a conversation to the viewer through the API's core.
func (s *Server) assignForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	me := c.user.ID
	id := r.PathValue("id")
	if _, err := s.updateConversation(r, c, id, conversationPatch{AssigneeID: &me}); err != nil {
		return err
	}
	return s.backToThread(w, r, c, id, "")
}

// readForm marks an open conversation read after app.js showed new
// messages live (their receipts and message-read audit entries too); the
// viewing is audited as a conversation view.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	meta, err := s.db.ConversationMeta(ctx, c.user.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, scope, err := s.authorize(r, c, meta, sotto.ActionRead)
	if err != nil {
		return err
	}
	msgs, err := s.db.Messages(ctx, c.user.OrgID, meta.ID, store.MessagePage{Limit: threadPageSize, Internal: true})
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := auditAccess(tx, d, s.targetEvent(r, c, sotto.AuditConversationView, "conversation", meta.ID, meta.PatientID)); err != nil {
			return err
		}
		return s.markThreadRead(tx, r, c, meta, scope, msgs)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// backToThread marks the conversation read for c (their own action is not
// news to them) and redirects to it, keeping the selected queue.
func (s *Server) backToThread(w http.ResponseWriter, r *http.Request, c *caller, id, fragment string) error {
	err := s.db.Write(r.Context(), func(tx *store.Tx) error { return tx.MarkConversationRead(c.user.OrgID, c.user.ID, id) })
	if err != nil {
		return err
	}
	queue := pageQueue(r.URL.Query().Get("queue"))
	http.Redirect(w, r, "/inbox/c/"+url.PathEscape(id)+"?queue="+url.QueryEscape(queue)+fragment, http.StatusSeeOther)
	return nil
}
