package server

import (
	"context"
	"time"

	"sotto"
	"sotto/internal/store"
)

// The view models of the staff pages. They hold what the templates show,
// already decided (what may be seen, what may be done) and never more.

// inboxView is the three-pane inbox.
type inboxView struct {
	Queue    string // the selected queue key
	ListHref string // the list alone, for live refreshes
	Queues   []queueView
	Convs    []convView
	NextHref string
	Thread   *threadView
}

// queueView is one queue with its unread count.
type queueView struct {
	Key, Href string
	LabelID   string // message id, for the fixed queues
	Name      string // department name
	Count     int
	Active    bool
}

// convView is one conversation of a list.
type convView struct {
	ID, Href, PatientName, Subject string
	Category                       sotto.Category
	CategoryID                     string
	At                             time.Time
	Unread, Urgent, Closed, Active bool
}

// threadView is an open conversation.
type threadView struct {
	ID, MeID, Subject, CategoryID, StatusID, AssigneeName, IdemKey string
	Category                                                       sotto.Category
	Patient                                                        *patientView
	Refill                                                         *sotto.RefillRequest
	Appointment                                                    *sotto.AppointmentRequest
	Items                                                          []messageView
	CanReply, CanClose, CanAssign, AssignedToMe, Closed            bool
	InternalOnly                                                   bool // notes only: no patient can see this thread
}

// patientView is the patient panel and record header.
type patientView struct {
	ID, Name, BirthDate, MRN, LanguageID string
	CareTeam                             []string
	Convs                                []convView
	NextHref                             string
}

// messageView is one message of a thread.
type messageView struct {
	ID, SenderID, Sender, Body         string
	At                                 time.Time
	NewDay, Staff, Internal, Retracted bool
	Attachments                        []attachmentView
	DeliveredAt, ReadAt                *time.Time
	Notified                           []store.NotifiedStatus // how the patient was told of a staff message
}

// attachmentView links an attachment through the authorized route.
type attachmentView struct {
	N    int
	Href string
}

// people resolves user ids to users for one page, each at most once.
type people struct {
	s     *Server
	ctx   context.Context
	orgID string
	seen  map[string]*sotto.User
}

func (s *Server) people(ctx context.Context, orgID string) *people {
	return &people{s: s, ctx: ctx, orgID: orgID, seen: map[string]*sotto.User{}}
}

// get returns user id, or nil when it is unknown.
func (p *people) get(id string) *sotto.User {
	if u, ok := p.seen[id]; ok {
		return u
	}
	u, err := p.s.db.User(p.ctx, p.orgID, id)
	if err != nil {
		u = nil
	}
	p.seen[id] = u
	return u
}

// name returns user id's name, or "" when unknown.
func (p *people) name(id string) string {
	if u := p.get(id); u != nil {
		return u.Name
	}
	return ""
}

// patientName is how lists and panels name a patient.
func patientName(p *sotto.Patient) string { return p.GivenName + " " + p.FamilyName }
