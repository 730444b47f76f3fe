package server

import (
	"net/http"
	"net/url"
	"slices"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// inboxPageSize is how many conversations one inbox page lists.
const inboxPageSize = 50

// inboxPage shows the queues and the selected queue's conversations.
func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.showInbox(w, r, c, "")
}

// threadPage shows the inbox with conversation {id} open.
func (s *Server) threadPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.showInbox(w, r, c, r.PathValue("id"))
}

// showInbox renders the inbox. An open conversation is authorized and
// audited exactly as the API's reads are, and marked read for the viewer
// before the counts are taken, so that they agree with what is shown.
func (s *Server) showInbox(w http.ResponseWriter, r *http.Request, c *caller, convID string) error {
	ctx := r.Context()
	queue := pageQueue(r.URL.Query().Get("queue"))
	before, err := queryCursor(r, "cursor")
	if err != nil {
		return err
	}
	v := &inboxView{Queue: queue, ListHref: "/inbox?queue=" + url.QueryEscape(queue)}
	if convID != "" {
		if v.Thread, err = s.openThread(r, c, convID); err != nil {
			return err
		}
	}
	f := store.ConversationFilter{OrgID: c.user.OrgID, Before: before, Limit: inboxPageSize}
	if err := queueFilter(&f, c, queue); err != nil {
		return err
	}
	page, err := s.db.Conversations(ctx, f, s.readable(ctx, c))
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		return audit.Append(tx, s.callerEvent(r, c, sotto.AuditConversationList, sotto.AuditSuccess))
	})
	if err != nil {
		return err
	}
	if v.Convs, err = s.convViews(r, c, page.Conversations, queue, convID); err != nil {
		return err
	}
	if page.Next > 0 {
		v.NextHref = v.ListHref + "&cursor=" + itoa64(page.Next)
	}
	if v.Queues, err = s.queueViews(r, c, queue); err != nil {
		return err
	}
	title := "title.inbox"
	return s.renderPage(w, http.StatusOK, "inbox", s.staffView(r, c, title, "inbox", v))
}

// pageQueue keeps only a known queue name or a department id (anything
// else shows everything): the value goes back into links.
func pageQueue(q string) string {
	switch {
	case q == "mine" || q == "unassigned" || q == "urgent":
		return q
	case store.ValidID(q):
		return q
	}
	return "all"
}

// convViews describes a page of conversations: patient names only where
// the role may see patients, unread state from the viewer's read marks.
func (s *Server) convViews(r *http.Request, c *caller, convs []*sotto.Conversation, queue, activeID string) ([]convView, error) {
	ctx := r.Context()
	ids := make([]string, len(convs))
	for i, cv := range convs {
		ids[i] = cv.ID
	}
	unread, err := s.db.UnreadAmong(ctx, c.user.ID, ids)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	out := make([]convView, 0, len(convs))
	for _, cv := range convs {
		v := convView{ID: cv.ID, Href: "/inbox/c/" + cv.ID + "?queue=" + url.QueryEscape(queue), Subject: cv.Subject,
			Category: cv.Category, CategoryID: "cat." + string(cv.Category), At: cv.LastActivityAt,
			Unread: unread[cv.ID], Urgent: cv.Category == sotto.CategoryUrgent, Closed: cv.Status == sotto.StatusClosed, Active: cv.ID == activeID}
		if cv.PatientID != "" && sotto.CanViewPatients(c.user.Role) {
			name, ok := names[cv.PatientID]
			if !ok {
				if p, err := s.db.Patient(ctx, c.user.OrgID, cv.PatientID); err == nil {
					name = patientName(p)
				}
				names[cv.PatientID] = name
			}
			v.PatientName = name
		}
		out = append(out, v)
	}
	return out, nil
}

// queueViews lists the viewer's queues with their unread counts.
func (s *Server) queueViews(r *http.Request, c *caller, active string) ([]queueView, error) {
	ctx := r.Context()
	var cats []sotto.Category
	for _, cat := range sotto.Categories {
		if c.perms.Allows(c.user.Role, cat, sotto.ActionRead) {
			cats = append(cats, cat)
		}
	}
	counts, err := s.db.UnreadCounts(ctx, store.UnreadScope{OrgID: c.user.OrgID, UserID: c.user.ID, DepartmentIDs: c.actor.DepartmentIDs,
		BreakGlass: c.actor.BreakGlass, Categories: cats})
	if err != nil {
		return nil, err
	}
	q := func(key, label string, n int) queueView {
		return queueView{Key: key, Href: "/inbox?queue=" + url.QueryEscape(key), LabelID: label, Count: n, Active: key == active}
	}
	out := []queueView{q("all", "queue.all", counts.All), q("mine", "queue.mine", counts.Mine)}
	depts, err := s.db.Departments(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		if slices.Contains(c.actor.DepartmentIDs, d.ID) {
			v := q(d.ID, "", counts.Departments[d.ID])
			v.Name = d.Name
			out = append(out, v)
		}
	}
	return append(out, q("unassigned", "queue.unassigned", counts.Unassigned), q("urgent", "queue.urgent", counts.Urgent)), nil
}
