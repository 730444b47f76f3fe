package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// api is a client of one sotto server's public HTTP API, shared by every
// simulated user (each request carries its own bearer token).
type api struct {
	base string // e.g. http://127.0.0.1:8080, no trailing slash
	hc   *http.Client
}

// newAPI returns a client whose connections (HTTP keep-alive and
// WebSocket upgrades alike) are spread over the dialer's source addresses.
// maxIdle bounds the keep-alive pool; it should be about the request
// concurrency.
func newAPI(base string, d *sourceDialer, maxIdle int) *api {
	tr := &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          maxIdle,
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	return &api{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr}}
}

// apiError is a non-2xx answer: the status and the JSON error code.
type apiError struct {
	Op      string
	Status  int
	Code    string
	Message string
	Retry   time.Duration // Retry-After, when given
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Op, e.Status, e.Code, e.Message)
}

// do sends method path with body (JSON-encoded when not nil) as token and
// decodes a JSON answer into out (when not nil). op names the call in
// errors and statistics.
func (a *api) do(ctx context.Context, op, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{Op: op, Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.Retry = time.Duration(s) * time.Second
		}
		return e
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: answer is not the expected JSON: %w", op, err)
		}
	}
	return nil
}

// statusOf returns the HTTP status of an apiError, or 0.
func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// codeOf returns the JSON error code of an apiError, or "".
func codeOf(err error) string {
	var e *apiError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// retryAfter returns the Retry-After of an apiError, or 0.
func retryAfter(err error) time.Duration {
	var e *apiError
	if errors.As(err, &e) {
		return e.Retry
	}
	return 0
}

// errorKind classifies err for the "errors by kind" table: the operation
// with the HTTP status and code, or a short name for a transport failure.
func errorKind(op string, err error) string {
	var e *apiError
	if errors.As(err, &e) {
		code := e.Code
		if code == "" {
			code = "-"
		}
		return fmt.Sprintf("%s: HTTP %d %s", op, e.Status, code)
	}
	return op + ": " + netErrorClass(err)
}

// netErrorClass names a transport error without its addresses, so that
// errors of one kind are counted together.
func netErrorClass(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free source port (EADDRNOTAVAIL): add --source-addrs"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "network error (" + oe.Op + ")"
	}
	return "other error"
}

// Answers of the API calls the load tool makes.
type (
	tokenAnswer struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	meAnswer struct {
		ID    string `json:"id"`
		OrgID string `json:"org_id"`
		Role  string `json:"role"`
	}
	idAnswer struct {
		ID string `json:"id"`
	}
	conversationsAnswer struct {
		Conversations []struct {
			ID           string `json:"id"`
			DepartmentID string `json:"department_id"`
		} `json:"conversations"`
	}
)

// me returns the account behind token.
func (a *api) me(ctx context.Context, token string) (*meAnswer, error) {
	var m meAnswer
	if err := a.do(ctx, "me", "GET", "/api/v1/me", token, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// login signs in with e-mail, password and (for staff) a TOTP code.
func (a *api) login(ctx context.Context, email, password, code string) (string, error) {
	var t tokenAnswer
	body := map[string]string{"email": email, "password": password}
	if code != "" {
		body["totp_code"] = code
	}
	if err := a.do(ctx, "login", "POST", "/api/v1/auth/login", "", body, &t); err != nil {
		return "", err
	}
	return t.Token, nil
}
