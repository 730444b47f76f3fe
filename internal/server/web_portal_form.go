package server

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"sotto"
	"sotto/internal/media"
	"sotto/internal/web"
)

// portalForm is a posted portal form: its text fields and at most one
// attached file.
type portalForm struct {
	values url.Values
	file   *portalFile // nil when none was chosen
}

// portalFile is a file attached to a portal form, as sent.
type portalFile struct {
	name string // cleaned
	data []byte
}

// Portal form limits: one text field, and all text fields together.
const (
	maxFormField = 64 << 10
	maxFormText  = 256 << 10
)

// errPortalForm answers a portal form that cannot be read.
var errPortalForm = sotto.Errorf(sotto.KindInvalid, "The form could not be read. Reload the page and try again.")

// readPortalForm reads a posted portal form: multipart (with a photo or
// PDF in the part "attachment") or urlencoded. It streams the body with
// the API's upload limit: the file stays in memory, never in a temporary
// file on disk. Errors: errUploadTooLarge, errPortalForm.
func readPortalForm(w http.ResponseWriter, r *http.Request) (*portalForm, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		if err := parseForm(w, r); err != nil {
			return nil, errPortalForm
		}
		return &portalForm{values: r.PostForm}, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errPortalForm
	}
	f := &portalForm{values: url.Values{}}
	text := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, portalReadError(err)
		}
		if err := f.readPart(part, &text); err != nil {
			return nil, err
		}
	}
}

// readPart adds one multipart part to f; text counts the text read so far.
func (f *portalForm) readPart(part *multipart.Part, text *int) error {
	defer part.Close()
	switch name := part.FormName(); {
	case name == "attachment":
		data, err := io.ReadAll(io.LimitReader(part, media.MaxSize+1))
		if err != nil {
			return portalReadError(err)
		}
		if len(data) > media.MaxSize {
			return errUploadTooLarge
		}
		if len(data) > 0 { // a form without a chosen file sends an empty part
			f.file = &portalFile{name: sotto.CleanFileName(part.FileName()), data: data}
		}
	case name != "":
		b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return portalReadError(err)
		}
		if *text += len(b); len(b) > maxFormField || *text > maxFormText {
			return errPortalForm
		}
		f.values.Add(name, string(b))
	}
	return nil
}

// portalReadError maps a failure reading a form's body.
func portalReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errUploadTooLarge
	}
	return errPortalForm
}

// formProblem words err, the refusal of a posted portal form, for the
// viewer: what went wrong and what to do. ok is false for errors that are
// not about the form (they are answered as errors).
func formProblem(l *web.Locale, err error) (msg string, status int, ok bool) {
	switch {
	case sotto.ErrorCode(err) == "too_large":
		return l.T("portal.err_too_large"), http.StatusRequestEntityTooLarge, true
	case sotto.ErrorCode(err) == "unsupported_media_type":
		return l.T("portal.err_file_type"), http.StatusUnsupportedMediaType, true
	case sotto.ErrorCode(err) == "malformed_file":
		return l.T("portal.err_file_bad"), http.StatusBadRequest, true
	case errors.Is(err, errPortalForm):
		return l.T("portal.err_form"), http.StatusBadRequest, true
	case sotto.ErrorKind(err) == sotto.KindInvalid:
		return l.T("portal.err_check"), http.StatusBadRequest, true
	}
	return "", 0, false
}

// firstWords makes a conversation subject of text: its first line,
// control characters as spaces, at most n characters.
func firstWords(text string, n int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.Join(strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(line) > n {
		line = strings.TrimSpace(string([]rune(line)[:n-1])) + "…"
	}
	return line
}
