package sotto

import "time"

// Event is one entry of the ordered change log behind live updates: what
// changed, described by ids and kinds only (never PHI). Seq orders every
// event of a deployment; clients resume after the last Seq they saw.
type Event struct {
	Seq            int64     `json:"seq"`
	OrgID          string    `json:"org_id"`
	Kind           string    `json:"kind"`
	PatientID      string    `json:"patient_id,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	DepartmentID   string    `json:"department_id,omitempty"`
	AssigneeID     string    `json:"assignee_id,omitempty"`
	Category       Category  `json:"category,omitempty"`
	Internal       bool      `json:"internal,omitempty"` // concerns an internal note: never shown to patients
	MessageID      string    `json:"message_id,omitempty"`
	UserID         string    `json:"user_id,omitempty"`    // the user a receipt belongs to
	CreatedBy      string    `json:"created_by,omitempty"` // who caused the change
	CreatedAt      time.Time `json:"created_at"`
}

// Event kinds.
const (
	EventMessageCreated      = "message.created"
	EventReceiptUpdated      = "receipt.updated"
	EventMessageRetracted    = "message.retracted"
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
)

// Subject describes e for Decide: the conversation it concerns. The
// caller adds the patient's care team.
func (e *Event) Subject() Subject {
	return Subject{OrgID: e.OrgID, PatientID: e.PatientID, DepartmentID: e.DepartmentID, Category: e.Category,
		AssigneeID: e.AssigneeID, CreatedBy: e.CreatedBy}
}
