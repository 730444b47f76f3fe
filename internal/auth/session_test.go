package auth

import (
	"testing"
	"time"
)

func TestSessionDefaults(t *testing.T) {
	if StaffDefault != (SessionPolicy{Idle: 15 * time.Minute, Absolute: 12 * time.Hour}) {
		t.Errorf("StaffDefault = %+v", StaffDefault)
	}
	if PatientDefault != (SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}) {
		t.Errorf("PatientDefault = %+v", PatientDefault)
	}
}

func TestSessionPolicyExpired(t *testing.T) {
	created := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	const ns = time.Nanosecond
	tests := []struct {
		name       string
		p          SessionPolicy
		lastSeen   time.Duration // after created
		now        time.Duration // after created
		wantExp    bool
		wantReason string
		wantAt     time.Duration // ExpiresAt, after created
	}{
		{"fresh", StaffDefault, 0, 0, false, "", 15 * time.Minute},
		{"idle just before", StaffDefault, 0, 15*time.Minute - ns, false, "", 15 * time.Minute},
		{"idle at boundary", StaffDefault, 0, 15 * time.Minute, true, ReasonIdle, 15 * time.Minute},
		{"idle after", StaffDefault, 0, 15*time.Minute + ns, true, ReasonIdle, 15 * time.Minute},
		{"patient idle just before", PatientDefault, time.Hour, time.Hour + 30*time.Minute - ns, false, "", time.Hour + 30*time.Minute},
		{"patient idle at boundary", PatientDefault, time.Hour, time.Hour + 30*time.Minute, true, ReasonIdle, time.Hour + 30*time.Minute},
		{"active, absolute just before", StaffDefault, 12*time.Hour - time.Minute, 12*time.Hour - ns, false, "", 12 * time.Hour},
		{"active, absolute at boundary", StaffDefault, 12*time.Hour - time.Minute, 12 * time.Hour, true, ReasonAbsolute, 12 * time.Hour},
		{"active, absolute after", StaffDefault, 12*time.Hour - ns, 12*time.Hour + ns, true, ReasonAbsolute, 12 * time.Hour},
		{"both expired, idle first", StaffDefault, time.Hour, 13 * time.Hour, true, ReasonIdle, time.Hour + 15*time.Minute},
		{"idle and absolute tie", StaffDefault, 12*time.Hour - 15*time.Minute, 12 * time.Hour, true, ReasonAbsolute, 12 * time.Hour},
		{"lastSeen before created counts as created", StaffDefault, -time.Hour, 14 * time.Minute, false, "", 15 * time.Minute},
		{"lastSeen in the future", StaffDefault, 11 * time.Hour, 10 * time.Hour, false, "", 11*time.Hour + 15*time.Minute},
		{"zero policy fails closed", SessionPolicy{}, 0, 0, true, ReasonAbsolute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lastSeen := created.Add(tt.lastSeen)
			exp, reason := tt.p.Expired(created, lastSeen, created.Add(tt.now))
			if exp != tt.wantExp || reason != tt.wantReason {
				t.Fatalf("Expired = %v, %q; want %v, %q", exp, reason, tt.wantExp, tt.wantReason)
			}
			if got := tt.p.ExpiresAt(created, lastSeen); !got.Equal(created.Add(tt.wantAt)) {
				t.Fatalf("ExpiresAt = %v; want %v", got, created.Add(tt.wantAt))
			}
		})
	}
}

func TestSessionPolicyZeroLastSeen(t *testing.T) {
	created := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if exp, _ := StaffDefault.Expired(created, time.Time{}, created.Add(time.Minute)); exp {
		t.Fatal("zero lastSeen expired a one-minute-old session")
	}
}
