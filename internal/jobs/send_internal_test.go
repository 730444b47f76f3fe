package jobs

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"sotto/internal/notify/push"
	"sotto/internal/notify/sms"
)

// TestRetryAfterFromProviders: the wait a provider asks for is taken from
// SMS and push errors, even wrapped, and capped at an hour.
func TestRetryAfterFromProviders(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"sms", &sms.ProviderError{HTTPStatus: 429, Temporary: true, RetryAfter: 30 * time.Second}, 30 * time.Second},
		{"sms wrapped", fmt.Errorf("send: %w", &sms.ProviderError{HTTPStatus: 503, Temporary: true, RetryAfter: 2 * time.Second}), 2 * time.Second},
		{"push", &push.Error{Status: 429, Temporary: true, RetryAfter: time.Minute}, time.Minute},
		{"capped", &sms.ProviderError{HTTPStatus: 429, Temporary: true, RetryAfter: 24 * time.Hour}, time.Hour},
		{"none", &sms.ProviderError{HTTPStatus: 503, Temporary: true}, 0},
		{"other", errors.New("boom"), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.err); got != tt.want {
			t.Errorf("%s: retryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
}
