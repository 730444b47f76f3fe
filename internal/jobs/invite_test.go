package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestInvitationTextedWithItsLink: an invitation created with send_via sms
// texts the patient the link and how long it lasts; the link (a
// credential) is sealed on the notification and never in the job's args.
func TestInvitationTextedWithItsLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		fake, ch := smsChannel(t)
		n := startRunner(t, db, ch, noon, 0)
		const token = "INVITE-TOKEN-canary-7f3a"
		link := "https://msg.lakeside.example/invite/" + token
		var nn *sotto.Notification
		write(t, db, func(tx *store.Tx) error {
			var err error
			nn, err = n.EnqueueInvitation(tx, f.org.ID, f.patient.ID, "sms", link)
			return err
		})
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := n.EnqueueInvitation(tx, f.org.ID, f.patient.ID, "email", link)
			return err
		}); sotto.ErrorCode(err) != "channel_not_configured" {
			t.Fatalf("e-mail without an e-mail channel: err = %v", err)
		}
		var got *sotto.Notification
		for deadline := time.Now().Add(60 * time.Second); got == nil || got.Status == sotto.NotifyQueued; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("invitation still queued: %+v", got)
			}
			var err error
			if got, err = db.Notification(context.Background(), f.org.ID, nn.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got.Status != sotto.NotifySent || got.Kind != sotto.NotifyInvitation || got.UserID != "" || got.PatientID != f.patient.ID {
			t.Fatalf("notification = %+v; want a sent invitation to the patient", got)
		}
		msgs := fake.Messages()
		if len(msgs) != 1 || msgs[0].To != patPhone || !strings.Contains(msgs[0].Body, link) ||
			!strings.Contains(msgs[0].Body, "7 days") || !strings.Contains(msgs[0].Body, practice) {
			t.Fatalf("SMS = %+v; want the invitation with its link to the patient's phone", msgs)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM river_job WHERE CAST(args AS TEXT) LIKE '%` + token + `%'`,
			`SELECT COUNT(*) FROM notifications WHERE CAST(payload_enc AS TEXT) LIKE '%` + token + `%'`} {
			var c int
			if err := db.QueryRow(context.Background(), q).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c != 0 {
				t.Fatalf("the invitation token is stored in plaintext (%s)", q)
			}
		}
	})
}

// TestSignInCodeSentEvenAtNight: a sign-in code the patient asked for goes
// out at once, even in quiet hours, with the code and its lifetime.
func TestSignInCodeSentEvenAtNight(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	f := newFixture(t, db, "America/Chicago")
	fake, ch := smsChannel(t)
	midnight := func() time.Time { return time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC) }
	n := startRunner(t, db, ch, midnight, 0)
	write(t, db, func(tx *store.Tx) error { return n.EnqueueSignInCode(tx, f.org.ID, f.puser.ID, "sms", "493817") })
	for deadline := time.Now().Add(60 * time.Second); len(fake.Messages()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sign-in code was not sent")
		}
	}
	m := fake.Messages()[0]
	if m.To != patPhone || !strings.Contains(m.Body, "493817") || !strings.Contains(m.Body, "10 minutes") || !strings.Contains(m.Body, practice) {
		t.Fatalf("SMS = %+v", m)
	}
}
