package push

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		" 7 ":                           7 * time.Second,
		"0":                             0,
		"-5":                            0,
		"1.5":                           0,
		"soon":                          0,
		"999999999":                     maxRetryAfter,
		"Sun, 01 Mar 2026 12:01:30 GMT": 90 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
		"Mon, 01 Mar 2027 12:00:00 GMT": maxRetryAfter,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestStatusClasses(t *testing.T) {
	type class struct{ temporary, permanent, gone bool }
	for status, want := range map[int]class{
		301: {false, true, false},
		400: {false, true, false},
		401: {false, true, false},
		403: {false, true, false},
		404: {false, true, true},
		408: {true, false, false},
		410: {false, true, true},
		413: {false, true, false},
		429: {true, false, false},
		500: {true, false, false},
		502: {true, false, false},
		503: {true, false, false},
	} {
		err := error(statusError(status, http.Header{"Retry-After": {"3"}}, time.Now()))
		got := class{IsTemporary(err), IsPermanent(err), errors.Is(err, ErrGone)}
		if got != want {
			t.Errorf("%d: got %+v, want %+v", status, got, want)
		}
		if ra := RetryAfter(err); (ra == 3*time.Second) != want.temporary {
			t.Errorf("%d: RetryAfter = %v", status, ra)
		}
	}
	if got := statusError(503, http.Header{"Retry-After": {"2"}}, time.Now()).Error(); got != "push: service answered 503 (temporary, retry after 2s)" {
		t.Errorf("Error() = %q", got)
	}
	if got := statusError(410, nil, time.Now()).Error(); got != "push: service answered 410 (subscription gone)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestNetworkErrors(t *testing.T) {
	for cause, what := range map[error]string{
		context.DeadlineExceeded: "service timed out",
		context.Canceled:         "send cancelled",
		syscall.ECONNREFUSED:     "service unreachable: connection refused",
		syscall.ECONNRESET:       "service reset the connection",
		errors.New("odd"):        "no answer from service",
	} {
		e := networkError(cause)
		if !IsTemporary(e) || IsPermanent(e) || e.What != what || !errors.Is(e, cause) {
			t.Errorf("%v: %+v", cause, e)
		}
	}
}
