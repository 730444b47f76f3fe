package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"sotto"
	"sotto/internal/media"
	"sotto/internal/store"
)

// maxUploadBody bounds a whole multipart upload: one file plus form
// overhead.
const maxUploadBody = media.MaxSize + 64<<10

// Upload errors.
var (
	errUploadTooLarge   = &sotto.Error{Kind: sotto.KindInvalid, Code: "too_large", Msg: "Attachments may be at most 20 MB."}
	errUploadType       = &sotto.Error{Kind: sotto.KindInvalid, Code: "unsupported_media_type", Msg: "Attach a photo (JPEG, PNG, HEIC) or a PDF."}
	errUploadMalformed  = &sotto.Error{Kind: sotto.KindInvalid, Code: "malformed_file", Msg: "The file is damaged or not what its type says it is."}
	errUploadNoFile     = sotto.Errorf(sotto.KindInvalid, "Send the file as multipart/form-data in a part named \"file\", with a \"conversation_id\" part.")
	errUploadConvFormat = sotto.Errorf(sotto.KindInvalid, "conversation_id must be a conversation id.")
)

// uploadAttachment accepts one file for a conversation the caller may
// reply in: its type is sniffed from the bytes, photo metadata (location,
// device) is stripped, and it is stored sealed under the patient's key
// until a message claims it.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, c *caller) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return errUploadNoFile
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return errUploadNoFile
	}
	var convID, name string
	var data []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return uploadReadError(err)
		}
		switch part.FormName() {
		case "conversation_id":
			b, err := io.ReadAll(io.LimitReader(part, 64))
			if err != nil {
				return uploadReadError(err)
			}
			convID = string(b)
		case "file":
			name = sotto.CleanFileName(part.FileName())
			if data, err = io.ReadAll(io.LimitReader(part, media.MaxSize+1)); err != nil {
				return uploadReadError(err)
			}
			if len(data) > media.MaxSize {
				return errUploadTooLarge
			}
		}
		part.Close()
	}
	if data == nil || convID == "" {
		return errUploadNoFile
	}
	a, err := s.storeAttachment(r, c, convID, name, data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// storeAttachment is the upload core shared by the API and the patient
// portal: it authorizes c to reply in conversation convID, cleans data
// (cleanUpload) and stores it sealed under the patient's key, audited,
// until a message claims it. name is already cleaned. Errors: KindInvalid
// (codes too_large, unsupported_media_type, malformed_file), KindNotFound,
// KindForbidden, KindInternal.
func (s *Server) storeAttachment(r *http.Request, c *caller, convID, name string, data []byte) (*sotto.Attachment, error) {
	if !store.ValidID(convID) {
		return nil, errUploadConvFormat
	}
	ctx := r.Context()
	conv, err := s.db.ConversationMeta(ctx, c.user.OrgID, convID)
	if err != nil {
		return nil, err
	}
	d, _, err := s.authorize(r, c, conv, sotto.ActionReply)
	if err != nil {
		return nil, err
	}
	clean, ct, err := cleanUpload(data)
	if err != nil {
		return nil, err
	}
	a := &sotto.Attachment{OrgID: c.user.OrgID, PatientID: conv.PatientID, UploaderID: c.user.ID, Name: name, ContentType: ct}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAttachment(a, clean); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditAttachmentUpload, "attachment", a.ID, a.PatientID)
		return auditAccess(tx, d, ev)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// cleanUpload sniffs an uploaded file's type from its bytes and strips
// photo metadata (location, device), answering the upload errors: too
// large, not a photo or PDF, or damaged.
func cleanUpload(data []byte) ([]byte, string, error) {
	clean, ct, err := media.Clean(data)
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return nil, "", errUploadTooLarge
	case errors.Is(err, media.ErrUnsupported):
		return nil, "", errUploadType
	case err != nil:
		return nil, "", errUploadMalformed
	}
	return clean, ct, nil
}

// uploadReadError maps a failure reading the upload body.
func uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errUploadTooLarge
	}
	return errUploadNoFile
}

// downloadAttachment serves an attachment's bytes to someone who may read
// its message (or, before it is sent, to its uploader), as a download that
// browsers never render inline or cache; every download is audited.
func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	a, _, err := s.db.Attachment(ctx, c.user.OrgID, r.PathValue("id"), false)
	if err != nil {
		return err
	}
	var d sotto.Decision
	if a.MessageID == "" {
		if a.UploaderID != c.user.ID {
			return sotto.Errorf(sotto.KindNotFound, "Attachment not found.")
		}
		d.Allow = true
	} else {
		m, err := s.db.Message(ctx, c.user.OrgID, a.MessageID)
		if err != nil {
			return err
		}
		if m.Internal && !c.user.Role.IsStaff() {
			return sotto.Errorf(sotto.KindNotFound, "Attachment not found.")
		}
		conv, err := s.db.ConversationMeta(ctx, c.user.OrgID, m.ConversationID)
		if err != nil {
			return err
		}
		if d, _, err = s.authorize(r, c, conv, sotto.ActionRead); err != nil {
			return err
		}
	}
	a, data, err := s.db.Attachment(ctx, c.user.OrgID, a.ID, true)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		ev := s.targetEvent(r, c, sotto.AuditAttachmentDownload, "attachment", a.ID, a.PatientID)
		return auditAccess(tx, d, ev)
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
	if disp == "" {
		disp = `attachment; filename="attachment"`
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}
