package server

import (
	"net/http"
	"slices"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// threadPageSize is how many of the newest messages a thread shows.
const threadPageSize = 100

// openThread authorizes c to read conversation id (a denial audited by
// authorize, another org's id not found) and builds its view. Opening is
// audited as the API audits the reads it stands for: the conversation
// view, the patient view (the panel), and a message read (with its read
// receipt) for each message of others the viewer had not yet read; the
// conversation is marked read for the viewer in the same write.
func (s *Server) openThread(r *http.Request, c *caller, id string) (*threadView, error) {
	ctx := r.Context()
	meta, err := s.db.ConversationMeta(ctx, c.user.OrgID, id)
	if err != nil {
		return nil, err
	}
	d, scope, err := s.authorize(r, c, meta, sotto.ActionRead)
	if err != nil {
		return nil, err
	}
	conv, err := s.db.Conversation(ctx, c.user.OrgID, meta.ID)
	if err != nil {
		return nil, err
	}
	msgs, err := s.db.Messages(ctx, c.user.OrgID, conv.ID, store.MessagePage{Limit: threadPageSize, Internal: true})
	if err != nil {
		return nil, err
	}
	slices.Reverse(msgs) // oldest first, as read
	var patient *sotto.Patient
	if conv.PatientID != "" && sotto.CanViewPatients(c.user.Role) {
		if patient, err = s.db.Patient(ctx, c.user.OrgID, conv.PatientID); err != nil {
			return nil, err
		}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := auditAccess(tx, d, s.targetEvent(r, c, sotto.AuditConversationView, "conversation", conv.ID, conv.PatientID)); err != nil {
			return err
		}
		if patient != nil {
			if err := audit.Append(tx, s.targetEvent(r, c, sotto.AuditPatientView, "patient", patient.ID, patient.ID)); err != nil {
				return err
			}
		}
		return s.markThreadRead(tx, r, c, meta, scope, msgs)
	})
	if err != nil {
		return nil, err
	}
	return s.threadView(r, c, conv, patient, msgs)
}

// markThreadRead records, inside tx, that c read msgs of conv: a read
// receipt (published live, so the sender sees it) and a message-read
// audit entry for each message of others c had not read, then c's read
// mark on the conversation.
func (s *Server) markThreadRead(tx *store.Tx, r *http.Request, c *caller, conv *sotto.Conversation, scope store.PatientScope, msgs []*sotto.Message) error {
	for _, m := range msgs {
		if m.SenderID == c.user.ID || readBy(m, c.user.ID) {
			continue
		}
		ev, err := tx.MarkReceipt(conv, m, c.user.ID, true)
		if err != nil {
			return err
		}
		if ev == nil {
			continue
		}
		s.publish(tx, ev, scope)
		if err := audit.Append(tx, s.targetEvent(r, c, sotto.AuditMessageRead, "message", m.ID, conv.PatientID)); err != nil {
			return err
		}
	}
	return tx.MarkConversationRead(c.user.OrgID, c.user.ID, conv.ID)
}

// readBy reports whether user has a read receipt on m.
func readBy(m *sotto.Message, user string) bool {
	for _, rc := range m.Receipts {
		if rc.UserID == user && rc.ReadAt != nil {
			return true
		}
	}
	return false
}

// threadView describes an open conversation for c. What c may do is
// decided by the same policy function the actions use (without auditing:
// nothing is attempted yet).
func (s *Server) threadView(r *http.Request, c *caller, conv *sotto.Conversation, p *sotto.Patient, msgs []*sotto.Message) (*threadView, error) {
	ctx := r.Context()
	subj, _, err := s.subjectOf(ctx, conv)
	if err != nil {
		return nil, err
	}
	may := func(a sotto.Action) bool { return sotto.Decide(c.perms, c.actor, subj, a).Allow }
	ppl := s.people(ctx, c.user.OrgID)
	v := &threadView{ID: conv.ID, MeID: c.user.ID, Subject: conv.Subject, Category: conv.Category, CategoryID: "cat." + string(conv.Category),
		StatusID: "status." + string(conv.Status), IdemKey: newFormKey(), Refill: conv.Refill, Appointment: conv.Appointment,
		CanReply: may(sotto.ActionReply), CanClose: may(sotto.ActionClose), CanAssign: may(sotto.ActionAssign),
		AssignedToMe: conv.AssigneeID == c.user.ID, Closed: conv.Status == sotto.StatusClosed, InternalOnly: conv.IsInternal()}
	if conv.AssigneeID != "" {
		v.AssigneeName = ppl.name(conv.AssigneeID)
	}
	if p != nil {
		v.Patient = s.patientView(ppl, p)
	}
	l := s.locale(r)
	var told []string
	for _, m := range msgs {
		if m.SenderRole.IsStaff() && !m.Internal {
			told = append(told, m.ID)
		}
	}
	notified, err := s.db.MessagesNotified(ctx, c.user.OrgID, told)
	if err != nil {
		return nil, err
	}
	for i, m := range msgs {
		mv := messageView{ID: m.ID, SenderID: m.SenderID, Sender: ppl.name(m.SenderID), Body: m.Body, At: m.CreatedAt,
			NewDay: i == 0 || !l.SameDay(msgs[i-1].CreatedAt, m.CreatedAt), Staff: m.SenderRole.IsStaff(),
			Internal: m.Internal, Retracted: m.RetractedAt != nil, Notified: notified[m.ID]}
		if mv.Sender == "" {
			mv.Sender = l.T("role." + string(m.SenderRole))
		}
		for j, a := range m.AttachmentIDs {
			mv.Attachments = append(mv.Attachments, attachmentView{N: j + 1, Href: "/api/v1/attachments/" + a})
		}
		// Delivered and read marks are the patient side's receipts.
		for _, rc := range m.Receipts {
			if u := ppl.get(rc.UserID); u == nil || u.Role.IsStaff() {
				continue
			}
			if rc.DeliveredAt != nil && (mv.DeliveredAt == nil || rc.DeliveredAt.Before(*mv.DeliveredAt)) {
				mv.DeliveredAt = rc.DeliveredAt
			}
			if rc.ReadAt != nil && (mv.ReadAt == nil || rc.ReadAt.Before(*mv.ReadAt)) {
				mv.ReadAt = rc.ReadAt
			}
		}
		v.Items = append(v.Items, mv)
	}
	return v, nil
}

// patientView describes patient p for the panel and the record page.
func (s *Server) patientView(ppl *people, p *sotto.Patient) *patientView {
	v := &patientView{ID: p.ID, Name: patientName(p), BirthDate: p.BirthDate, MRN: p.MRN, LanguageID: "lang." + p.Language}
	for _, id := range p.CareTeamUserIDs {
		if n := ppl.name(id); n != "" {
			v.CareTeam = append(v.CareTeam, n)
		}
	}
	return v
}
