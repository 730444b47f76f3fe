package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// portalHomeSize bounds how many conversations of each patient the portal
// home lists.
const portalHomeSize = 50

// unreadScan is how many of a conversation's newest messages the portal
// checks for ones the viewer has not read: opening a conversation reads
// all it shows, so older ones are read too.
const unreadScan = 10

// portalHomeView is the portal home: the viewer's conversations.
type portalHomeView struct {
	Convs []portalConvView
}

// portalConvView is one conversation of the portal home.
type portalConvView struct {
	ID, Href, Subject, CategoryID string
	For                           string // the patient's first name, for a proxy of several
	Category                      sotto.Category
	At                            time.Time
	Unread, Closed                bool
}

// portalHome lists the conversations of the patients the viewer acts for,
// newest activity first, through the same store filter and read policy as
// the API's list (audited as the API's list, once per patient); a
// conversation is unread while a message of someone else in it has no
// read receipt of the viewer.
func (s *Server) portalHome(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	ctx := r.Context()
	var convs []*sotto.Conversation
	for _, p := range pu.patients {
		page, err := s.db.Conversations(ctx, store.ConversationFilter{OrgID: pu.user.OrgID, PatientID: p.ID, Limit: portalHomeSize},
			s.readable(ctx, pu.caller))
		if err != nil {
			return err
		}
		convs = append(convs, page.Conversations...)
	}
	slices.SortStableFunc(convs, func(a, b *sotto.Conversation) int { return b.LastActivityAt.Compare(a.LastActivityAt) })
	several := len(pu.patients) > 1
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		for _, p := range pu.patients {
			ev := s.callerEvent(r, pu.caller, sotto.AuditConversationList, sotto.AuditSuccess)
			ev.PatientID = p.ID
			if err := audit.Append(tx, ev); err != nil {
				return err
			}
			if several { // their names are shown
				if err := audit.Append(tx, s.targetEvent(r, pu.caller, sotto.AuditPatientView, "patient", p.ID, p.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v := &portalHomeView{}
	for _, cv := range convs {
		unread, err := s.portalUnread(ctx, pu, cv)
		if err != nil {
			return err
		}
		item := portalConvView{ID: cv.ID, Href: "/portal/c/" + cv.ID, Subject: cv.Subject, Category: cv.Category,
			CategoryID: "cat." + string(cv.Category), At: cv.LastActivityAt, Unread: unread, Closed: cv.Status == sotto.StatusClosed}
		if several {
			item.For = pu.givenName(cv.PatientID)
		}
		v.Convs = append(v.Convs, item)
	}
	return s.renderPage(w, http.StatusOK, "portal-home", s.portalView(pu, "portal.title_home", "messages", v))
}

// portalUnread reports whether conversation conv holds a message, among
// its newest unreadScan that the patient side sees, written by someone
// else and not yet read by the viewer.
func (s *Server) portalUnread(ctx context.Context, pu *portalUser, conv *sotto.Conversation) (bool, error) {
	msgs, err := s.db.Messages(ctx, pu.user.OrgID, conv.ID, store.MessagePage{Limit: unreadScan})
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if !m.Internal && m.SenderID != pu.user.ID && m.RetractedAt == nil && !readBy(m, pu.user.ID) {
			return true, nil
		}
	}
	return false, nil
}

// givenName returns the given name of patient id, among those pu acts for.
func (pu *portalUser) givenName(id string) string {
	for _, p := range pu.patients {
		if p.ID == id {
			return p.GivenName
		}
	}
	return ""
}
