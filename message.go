package sotto

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one immutable entry of a conversation. Body is PHI, stored
// encrypted under the patient's data key (or the org key for a thread with
// no patient). A correction is a new message with Corrects set; a
// retraction sets RetractedAt and keeps the original for the record.
type Message struct {
	ID             string     `json:"id"`
	OrgID          string     `json:"org_id"`
	ConversationID string     `json:"conversation_id"`
	PatientID      string     `json:"patient_id,omitempty"`
	SenderID       string     `json:"sender_id"`
	SenderRole     Role       `json:"sender_role"`
	OnBehalfOf     string     `json:"on_behalf_of,omitempty"` // the patient a proxy wrote for
	Body           string     `json:"body"`
	Internal       bool       `json:"internal"` // staff-only note, never shown to the patient
	Corrects       string     `json:"corrects,omitempty"`
	RetractedAt    *time.Time `json:"retracted_at,omitempty"`
	IdempotencyKey string     `json:"idempotency_key,omitempty"`
	AttachmentIDs  []string   `json:"attachment_ids"`
	CreatedAt      time.Time  `json:"created_at"`
	Seq            int64      `json:"seq"` // event-log sequence number of the send
	Receipts       []Receipt  `json:"receipts,omitempty"`
}

// Receipt records when a message reached and was opened by one recipient.
type Receipt struct {
	UserID      string     `json:"user_id"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
}

// Message limits.
const (
	MaxBodyLen           = 10000 // characters
	MaxIdempotencyKeyLen = 128
	MaxAttachments       = 10
)

// Validate checks m's client-supplied fields: a non-blank valid UTF-8 body
// of at most MaxBodyLen characters (a message with attachments may have an
// empty body), an idempotency key of visible ASCII, and at most
// MaxAttachments attachments. Errors are KindInvalid and never repeat the
// body.
func (m *Message) Validate() error {
	if !utf8.ValidString(m.Body) {
		return Errorf(KindInvalid, "body must be valid UTF-8 text.")
	}
	if strings.TrimSpace(m.Body) == "" && len(m.AttachmentIDs) == 0 {
		return Errorf(KindInvalid, "body is required.")
	}
	if utf8.RuneCountInString(m.Body) > MaxBodyLen {
		return Errorf(KindInvalid, "body must be at most %d characters.", MaxBodyLen)
	}
	if strings.ContainsRune(m.Body, 0) {
		return Errorf(KindInvalid, "body must not contain NUL characters.")
	}
	if m.IdempotencyKey == "" {
		return Errorf(KindInvalid, "idempotency_key is required, so that a retried send is not sent twice.")
	}
	if len(m.IdempotencyKey) > MaxIdempotencyKeyLen || strings.ContainsFunc(m.IdempotencyKey, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return Errorf(KindInvalid, "idempotency_key must be at most %d visible ASCII characters.", MaxIdempotencyKeyLen)
	}
	if len(m.AttachmentIDs) > MaxAttachments {
		return Errorf(KindInvalid, "a message may carry at most %d attachments.", MaxAttachments)
	}
	return nil
}

// Attachment is a file sent with a message. Name and the bytes are PHI and
// stored encrypted; ContentType is decided by sniffing the bytes.
type Attachment struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	PatientID   string    `json:"patient_id,omitempty"`
	UploaderID  string    `json:"uploader_id"`
	MessageID   string    `json:"message_id,omitempty"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// MaxAttachmentNameLen bounds an attachment's file name.
const MaxAttachmentNameLen = 200

// CleanFileName reduces a client-supplied file name to its last path
// element without control characters, cut to MaxAttachmentNameLen
// characters; an empty result becomes "attachment".
func CleanFileName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if isControl(r) || r == '"' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxAttachmentNameLen {
		s = string([]rune(s)[:MaxAttachmentNameLen])
	}
	if s == "" || s == "." || s == ".." {
		return "attachment"
	}
	return s
}
