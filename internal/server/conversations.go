package server

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// conversationRequest is the body of POST /api/v1/conversations.
type conversationRequest struct {
	PatientID    string                    `json:"patient_id"`
	Subject      string                    `json:"subject"`
	Category     string                    `json:"category"`
	DepartmentID string                    `json:"department_id"`
	Refill       *sotto.RefillRequest      `json:"refill"`
	Appointment  *sotto.AppointmentRequest `json:"appointment"`
	// IdempotencyKey makes a retried create find the first conversation.
	IdempotencyKey string `json:"idempotency_key"`
}

// createConversation opens a conversation about a patient (or a
// staff-only internal thread). Staff address it to one of their
// departments or keep it assigned to themselves; patients and proxies open
// questions, refill, appointment and billing requests, routed to the
// patient's department.
func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req conversationRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, existing, err := s.openConversation(r, c, req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existing {
		if conv, err = s.db.Conversation(r.Context(), c.user.OrgID, conv.ID); err != nil {
			return err
		}
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/conversations/"+conv.ID)
	writeJSON(w, status, conv)
	return nil
}

// openConversation is the creation core shared by the API and the patient
// portal: it builds the conversation req asks for (a patient's or proxy's
// is routed to the patient's department), validates and authorizes it,
// and writes it with its event and audit entry. With an idempotency key
// already used by the same author it creates nothing and reports existing,
// with conv.ID the first conversation's. Errors: KindInvalid,
// KindNotFound, KindForbidden, KindInternal.
func (s *Server) openConversation(r *http.Request, c *caller, req conversationRequest) (conv *sotto.Conversation, existing bool, err error) {
	ctx := r.Context()
	conv = &sotto.Conversation{OrgID: c.user.OrgID, PatientID: req.PatientID, DepartmentID: req.DepartmentID, Subject: req.Subject,
		Category: sotto.Category(req.Category), CreatedBy: c.user.ID, Refill: req.Refill, Appointment: req.Appointment,
		IdempotencyKey: req.IdempotencyKey}
	if !c.user.Role.IsStaff() {
		if conv.PatientID == "" && len(c.actor.PatientIDs) == 1 {
			conv.PatientID = c.actor.PatientIDs[0]
		}
		if !conv.Category.Valid() || !sotto.PatientCanStart(conv.Category) {
			return nil, false, sotto.Errorf(sotto.KindInvalid, "category must be one of general, refill, appointment, billing.")
		}
		if !slices.Contains(c.actor.PatientIDs, conv.PatientID) {
			return nil, false, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		}
		if conv.DepartmentID == "" {
			scope, err := s.db.PatientScope(ctx, conv.PatientID)
			if err != nil {
				return nil, false, err
			}
			if len(scope.Departments) > 0 {
				conv.DepartmentID = scope.Departments[0]
			}
		}
	} else if conv.DepartmentID == "" {
		conv.AssigneeID = c.user.ID // nobody else's queue: keep it in the author's own
	}
	if err := conv.Validate(); err != nil {
		return nil, false, err
	}
	if conv.PatientID != "" {
		ok, err := s.db.PatientExists(ctx, c.user.OrgID, conv.PatientID)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		}
	}
	if conv.DepartmentID != "" && !store.ValidID(conv.DepartmentID) {
		return nil, false, sotto.Errorf(sotto.KindInvalid, "department_id must be a department of this organization.")
	}
	d, scope, err := s.authorize(r, c, conv, sotto.ActionReply)
	if err != nil {
		return nil, false, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if conv.IdempotencyKey != "" {
			id, err := tx.ConversationByKey(conv.OrgID, conv.CreatedBy, conv.IdempotencyKey)
			switch sotto.ErrorKind(err) {
			case "":
				conv.ID, existing = id, true
				return nil
			case sotto.KindNotFound:
			default:
				return err
			}
		}
		ev, err := tx.InsertConversation(conv)
		if err != nil {
			return err
		}
		s.publish(tx, ev, scope)
		aev := s.targetEvent(r, c, sotto.AuditConversationCreate, "conversation", conv.ID, conv.PatientID)
		return auditAccess(tx, d, aev)
	})
	if err != nil {
		return nil, false, err
	}
	return conv, existing, nil
}

// conversationList is one page of GET /api/v1/conversations.
type conversationList struct {
	Conversations []*sotto.Conversation `json:"conversations"`
	NextCursor    string                `json:"next_cursor,omitempty"`
}

// listConversations is the inbox: conversations the caller may read,
// newest activity first. queue is "mine", "unassigned", "urgent" or a
// department id; status and assignee filter further; cursor pages.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	limit, err := queryLimit(r, 50, 100)
	if err != nil {
		return err
	}
	before, err := queryCursor(r, "cursor")
	if err != nil {
		return err
	}
	f := store.ConversationFilter{OrgID: c.user.OrgID, Status: sotto.Status(q.Get("status")), Before: before, Limit: limit}
	if f.Status != "" && !f.Status.Valid() {
		return sotto.Errorf(sotto.KindInvalid, "status must be one of open, pending_patient, closed.")
	}
	if err := queueFilter(&f, c, q.Get("queue")); err != nil {
		return err
	}
	if a := q.Get("assignee"); a != "" {
		if !store.ValidID(a) {
			return sotto.Errorf(sotto.KindInvalid, "assignee must be a user id.")
		}
		f.AssigneeID = a
	}
	if pid := q.Get("patient_id"); pid != "" {
		if !store.ValidID(pid) {
			return sotto.Errorf(sotto.KindInvalid, "patient_id must be a patient id.")
		}
		f.PatientID = pid
	}
	if !c.user.Role.IsStaff() {
		switch {
		case f.PatientID != "" && !slices.Contains(c.actor.PatientIDs, f.PatientID):
			return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		case f.PatientID == "" && len(c.actor.PatientIDs) == 1:
			f.PatientID = c.actor.PatientIDs[0]
		case f.PatientID == "":
			return sotto.Errorf(sotto.KindInvalid, "patient_id is required: you act for more than one patient.")
		}
	}
	page, err := s.db.Conversations(r.Context(), f, s.readable(r.Context(), c))
	if err != nil {
		return err
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		ev := s.callerEvent(r, c, sotto.AuditConversationList, sotto.AuditSuccess)
		ev.PatientID = f.PatientID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	out := conversationList{Conversations: page.Conversations}
	if page.Next > 0 {
		out.NextCursor = itoa64(page.Next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queueFilter narrows f to inbox queue: "" or "all", "mine",
// "unassigned", "urgent", or a department id (optionally prefixed
// "department:"). The API and the inbox page share it.
func queueFilter(f *store.ConversationFilter, c *caller, queue string) error {
	switch {
	case queue == "" || queue == "all":
	case queue == "mine":
		f.AssigneeID = c.user.ID
	case queue == "unassigned":
		f.Unassigned = true
	case queue == "urgent":
		f.Category = sotto.CategoryUrgent
	case store.ValidID(strings.TrimPrefix(queue, "department:")):
		f.DepartmentID = strings.TrimPrefix(queue, "department:")
	default:
		return sotto.Errorf(sotto.KindInvalid, "queue must be mine, unassigned, urgent, all or a department id.")
	}
	return nil
}

// readable returns a filter admitting the conversations c may read without
// break-glass-only access being counted as browsing: break-glass patients
// are shown too, since the grant exists to reach them.
func (s *Server) readable(ctx context.Context, c *caller) func(*sotto.Conversation) bool {
	scopes := map[string]store.PatientScope{}
	return func(conv *sotto.Conversation) bool {
		subj := conv.PolicySubject()
		d := sotto.Decide(c.perms, c.actor, subj, sotto.ActionRead)
		if d.Allow || d.Err.Code != "out_of_scope" || conv.PatientID == "" {
			return d.Allow
		}
		sc, ok := scopes[conv.PatientID]
		if !ok {
			var err error
			if sc, err = s.db.PatientScope(ctx, conv.PatientID); err != nil {
				return false
			}
			scopes[conv.PatientID] = sc
		}
		subj.CareTeam, subj.PatientDepartments = sc.CareTeam, sc.Departments
		return sotto.Decide(c.perms, c.actor, subj, sotto.ActionRead).Allow
	}
}

// getConversation returns one conversation; the read is audited.
func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	meta, err := s.db.ConversationMeta(ctx, c.user.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, _, err := s.authorize(r, c, meta, sotto.ActionRead)
	if err != nil {
		return err
	}
	conv, err := s.db.Conversation(ctx, c.user.OrgID, meta.ID)
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
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// conversationPatch is the body of PATCH /api/v1/conversations/{id}.
type conversationPatch struct {
	Status     *string `json:"status"`
	AssigneeID *string `json:"assignee_id"`
}

// patchConversation changes a conversation's status (needs "close") and/or
// assignee (needs "assign"; "" unassigns).
func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req conversationPatch
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	full, err := s.updateConversation(r, c, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, full)
	return nil
}

// updateConversation is the change core shared by the API and the pages:
// it authorizes (close for a status, assign for an assignee), applies req
// to conversation id with its event and audit entry, and returns the
// conversation's new state.
func (s *Server) updateConversation(r *http.Request, c *caller, id string, req conversationPatch) (*sotto.Conversation, error) {
	if req.Status == nil && req.AssigneeID == nil {
		return nil, sotto.Errorf(sotto.KindInvalid, "Send status and/or assignee_id.")
	}
	ctx := r.Context()
	meta, err := s.db.ConversationMeta(ctx, c.user.OrgID, id)
	if err != nil {
		return nil, err
	}
	var u store.ConversationUpdate
	var d sotto.Decision
	var scope store.PatientScope
	if req.Status != nil {
		st := sotto.Status(*req.Status)
		if !st.Valid() {
			return nil, sotto.Errorf(sotto.KindInvalid, "status must be one of open, pending_patient, closed.")
		}
		u.Status = &st
		if d, scope, err = s.authorize(r, c, meta, sotto.ActionClose); err != nil {
			return nil, err
		}
	}
	if req.AssigneeID != nil {
		u.AssigneeID = req.AssigneeID
		if d, scope, err = s.authorize(r, c, meta, sotto.ActionAssign); err != nil {
			return nil, err
		}
	}
	var conv *sotto.Conversation
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var ev *sotto.Event
		var err error
		if conv, ev, err = tx.UpdateConversation(c.user.OrgID, meta.ID, c.user.ID, u); err != nil {
			return err
		}
		s.publish(tx, ev, scope)
		aev := s.targetEvent(r, c, sotto.AuditConversationUpdate, "conversation", conv.ID, conv.PatientID)
		return auditAccess(tx, d, aev)
	})
	if err != nil {
		return nil, err
	}
	return s.db.Conversation(ctx, c.user.OrgID, conv.ID)
}
