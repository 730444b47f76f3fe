package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"sotto"
)

// handlerFunc is the shape of every sotto handler: it returns an error, and
// serveError is the one place that turns errors into HTTP responses.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// statusOf maps an error kind to its HTTP status.
func statusOf(k sotto.Kind) int {
	switch k {
	case sotto.KindInvalid:
		return http.StatusBadRequest
	case sotto.KindUnauthenticated:
		return http.StatusUnauthorized
	case sotto.KindForbidden:
		return http.StatusForbidden
	case sotto.KindNotFound:
		return http.StatusNotFound
	case sotto.KindConflict:
		return http.StatusConflict
	case sotto.KindRateLimited:
		return http.StatusTooManyRequests
	case sotto.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// serveError writes err as a JSON error. Internal errors are logged with
// their cause (which must hold no PHI: store and crypt errors carry ids and
// kinds only) and answered with a generic message.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(sotto.ErrorKind(err))
	switch sotto.ErrorCode(err) {
	case "method_not_allowed":
		status = http.StatusMethodNotAllowed
	case "too_large":
		status = http.StatusRequestEntityTooLarge
	case "unsupported_media_type":
		status = http.StatusUnsupportedMediaType
	}
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(r.Context())),
			slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
	}
	var body errorBody
	body.Error.Code = sotto.ErrorCode(err)
	body.Error.Message = sotto.ErrorMessage(err)
	body.Error.RequestID = requestID(r.Context())
	var se *sotto.Error
	if errors.As(err, &se) && se.Kind == sotto.KindRateLimited && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, status, body)
}

// writeJSON writes v with status. Encoding errors cannot be reported to the
// client once the header is out, so they are ignored here.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// MaxJSONBody bounds JSON request bodies.
const MaxJSONBody = 1 << 20

// decodeJSON reads one JSON object from r's body into v, rejecting wrong
// content types, unknown fields, trailing data and oversized bodies with
// KindInvalid errors that never echo the input.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &sotto.Error{Kind: sotto.KindInvalid, Code: "unsupported_media_type", Msg: "Send the request body as application/json."}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sotto.Errorf(sotto.KindInvalid, "The request body must hold a single JSON object.")
	}
	return nil
}

// jsonError turns a decoding failure into a client-safe message naming the
// field or position, never the offending value.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return sotto.Errorf(sotto.KindInvalid, "The request body is empty; send a JSON object.")
	case errors.As(err, &tooBig):
		return &sotto.Error{Kind: sotto.KindInvalid, Code: "too_large", Msg: "The request body is too large."}
	case errors.As(err, &syn):
		return sotto.Errorf(sotto.KindInvalid, "The request body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return sotto.Errorf(sotto.KindInvalid, "Field %q has the wrong type; expected %s.", typ.Field, typ.Type.String())
		}
		return sotto.Errorf(sotto.KindInvalid, "The request body must be a JSON object.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if len(name) > 66 {
			name = name[:64] + `…"`
		}
		return sotto.Errorf(sotto.KindInvalid, "Unknown field %s.", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return sotto.Errorf(sotto.KindInvalid, "The request body is truncated JSON.")
	}
	return sotto.Errorf(sotto.KindInvalid, "The request body could not be read as JSON.")
}

// queryLimit reads the "limit" query parameter: def when absent, else an
// integer from 1 to max.
func queryLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, sotto.Errorf(sotto.KindInvalid, "limit must be a whole number from 1 to %d.", max)
	}
	return n, nil
}

// queryCursor reads an integer cursor parameter (0 when absent).
func queryCursor(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, sotto.Errorf(sotto.KindInvalid, "%s must be a cursor returned by an earlier page.", name)
	}
	return n, nil
}

// itoa64 formats a cursor.
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
