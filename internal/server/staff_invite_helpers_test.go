package server

import (
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto/internal/auth"
	"sotto/internal/jobs"
	"sotto/internal/notify/email"
	"sotto/internal/notify/email/smtptest"
)

// inviteMail is the loopback SMTP peer a world's invitation e-mails go
// to, sent by a real jobs runner.
type inviteMail struct {
	t    *testing.T
	srv  *smtptest.Server
	seen int // messages already taken by next
}

// withInviteMail serves w again with links under base and an e-mail
// channel to a fresh loopback SMTP peer (STARTTLS), and starts the jobs
// runner that sends notifications. The runner's log must hold neither an
// address nor a token: checked at cleanup.
func withInviteMail(t *testing.T, w *world, base string) *inviteMail {
	t.Helper()
	srv := smtptest.NewServer(t, smtptest.Options{STARTTLS: true})
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	es, err := email.New(email.Config{Host: host, Port: p, From: "Test Practice A <no-reply@lakeside.example>", RootCAs: srv.RootCAs(), HelloName: "sotto.test"})
	if err != nil {
		t.Fatal(err)
	}
	n := jobs.NewNotifier(w.db, jobs.Channels{Email: es}, base, 0, w.clock.Now)
	w.srv = New(w.db, slog.New(slog.NewJSONHandler(&w.log, &slog.HandlerOptions{Level: slog.LevelDebug})), Config{Now: w.clock.Now,
		PasswordParams: auth.TestParams, PublicURL: base, Notify: NotifyConfig{Notifier: n}})
	t.Cleanup(w.srv.Close)
	logs := &lockedBuffer{}
	r, err := jobs.Start(context.Background(), w.db, n, jobs.Options{RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("jobs.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("runner Stop: %v", err)
		}
		if out := logs.String(); strings.Contains(out, "@example.test") || strings.Contains(out, "/welcome/") {
			t.Errorf("the job log holds an address or a link:\n%s", out)
		}
	})
	return &inviteMail{t: t, srv: srv}
}

// sentMail is one e-mail as the peer received it, its body decoded.
type sentMail struct {
	To, Subject, Text string
}

// next waits for the next message the peer accepts and returns it. The
// deadline only guards against a hung runner.
func (m *inviteMail) next() sentMail {
	m.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if msgs := m.srv.Messages(); len(msgs) > m.seen {
			msg := msgs[m.seen]
			m.seen++
			head, body, _ := strings.Cut(string(msg.Data), "\r\n\r\n")
			text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
			if err != nil {
				m.t.Fatal(err)
			}
			var subject string
			for _, line := range strings.Split(head, "\r\n") {
				if v, ok := strings.CutPrefix(line, "Subject: "); ok {
					subject = v
				}
			}
			if len(msg.To) != 1 || !msg.TLS {
				m.t.Fatalf("message envelope %v (TLS %v): want one recipient over TLS", msg.To, msg.TLS)
			}
			return sentMail{To: msg.To[0], Subject: subject, Text: string(text)}
		}
		select {
		case <-deadline:
			m.t.Fatalf("no invitation e-mail arrived (%d so far)", len(m.srv.Messages()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// welcomeLink matches an invitation link in an e-mail.
var welcomeLink = regexp.MustCompile(`https?://[^\s/]+/welcome/[A-Za-z0-9_-]+`)

// linkPath returns the path of the one invitation link of mail text.
func linkPath(t *testing.T, text string) string {
	t.Helper()
	links := welcomeLink.FindAllString(text, -1)
	if len(links) != 1 {
		t.Fatalf("e-mail holds %d invitation links, want 1:\n%s", len(links), text)
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
