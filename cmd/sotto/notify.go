package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"sotto/internal/jobs"
	"sotto/internal/notify/email"
	"sotto/internal/notify/push"
	"sotto/internal/notify/sms"
	"sotto/internal/server"
	"sotto/internal/store"
)

// notifyFlags configure the notification channels and the job runner.
type notifyFlags struct {
	logChannel   bool
	nudgeAfter   time.Duration
	jobWorkers   int
	smsBaseURL   string
	smsAccount   string
	smsToken     string
	smsFrom      string
	smsService   string
	smsBAA       bool
	smtpHost     string
	smtpPort     int
	smtpUser     string
	smtpPassword string
	smtpFrom     string
	smtpTLS      string
	smtpBAA      bool
	pushOff      bool
	pushSubject  string
	pushBAA      bool
}

func (f *notifyFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.logChannel, "notify-log", false, "list notifications on the demo page /demo/notifications instead of sending them (on with --demo)")
	fs.DurationVar(&f.nudgeAfter, "nudge-after", 24*time.Hour, "send one more notification when a message is still unread after this long (0 disables)")
	fs.IntVar(&f.jobWorkers, "job-workers", 10, "how many background jobs (notifications) run at once")
	fs.StringVar(&f.smsBaseURL, "sms-base-url", sms.DefaultBaseURL, "SMS provider API root (Twilio-compatible)")
	fs.StringVar(&f.smsAccount, "sms-account-sid", "", "SMS provider account id; SMS is off without it")
	fs.StringVar(&f.smsToken, "sms-auth-token", "", "SMS provider auth token, also the webhook signing key (prefer SOTTO_SMS_AUTH_TOKEN)")
	fs.StringVar(&f.smsFrom, "sms-from", "", "sender: E.164 number, short code or sender id")
	fs.StringVar(&f.smsService, "sms-messaging-service", "", "or a messaging service id (MG...)")
	fs.BoolVar(&f.smsBAA, "sms-baa", false, "a business associate agreement with the SMS provider is on file")
	fs.StringVar(&f.smtpHost, "smtp-host", "", "SMTP submission server; e-mail is off without it")
	fs.IntVar(&f.smtpPort, "smtp-port", 0, "SMTP port (default 587 with STARTTLS, 465 with implicit TLS)")
	fs.StringVar(&f.smtpUser, "smtp-username", "", "SMTP AUTH user name")
	fs.StringVar(&f.smtpPassword, "smtp-password", "", "SMTP AUTH password (prefer SOTTO_SMTP_PASSWORD)")
	fs.StringVar(&f.smtpFrom, "smtp-from", "", `sender, e.g. "Lakeside Clinic <no-reply@lakeside.example>"`)
	fs.StringVar(&f.smtpTLS, "smtp-tls", "starttls", "starttls (required, never plaintext) or implicit")
	fs.BoolVar(&f.smtpBAA, "smtp-baa", false, "a business associate agreement with the e-mail provider is on file")
	fs.BoolVar(&f.pushOff, "push-off", false, "turn Web Push notifications off")
	fs.StringVar(&f.pushSubject, "push-subject", "", "contact push services may use (mailto: or https:); default: the public URL")
	fs.BoolVar(&f.pushBAA, "push-baa", false, "a business associate agreement covers the push services")
}

// notifier builds the channels, the notifier and the server's notification
// settings. Secrets are never printed; errors name the flag, not its value.
func (f *notifyFlags) notifier(db *store.DB, dataDir, base string, demo bool) (*jobs.Notifier, server.NotifyConfig, error) {
	var ch jobs.Channels
	var nc server.NotifyConfig
	if f.logChannel || demo {
		ch.Log = &jobs.Outbox{}
		nc.Outbox = ch.Log
	}
	if f.smsAccount != "" || f.smsToken != "" {
		c, err := sms.New(sms.Config{BaseURL: f.smsBaseURL, AccountSID: f.smsAccount, AuthToken: f.smsToken, From: f.smsFrom,
			MessagingServiceSID: f.smsService, StatusCallback: strings.TrimRight(base, "/") + "/webhooks/sms/status"})
		if err != nil {
			return nil, nc, usageError{"SMS settings: " + err.Error()}
		}
		ch.SMS, ch.SMSBAA, nc.SMSAuthToken = c, f.smsBAA, f.smsToken
	}
	if f.smtpHost != "" {
		s, err := email.New(email.Config{Host: f.smtpHost, Port: f.smtpPort, Username: f.smtpUser, Password: f.smtpPassword,
			From: f.smtpFrom, TLS: email.Mode(f.smtpTLS)})
		if err != nil {
			return nil, nc, usageError{"SMTP settings: " + err.Error()}
		}
		ch.Email, ch.EmailBAA = s, f.smtpBAA
	}
	if !f.pushOff {
		keys, err := push.LoadOrCreateVAPID(filepath.Join(dataDir, "vapid.json"))
		if err != nil {
			return nil, nc, fmt.Errorf("web push keys: %w", err)
		}
		subject := f.pushSubject
		if subject == "" {
			subject = base
			if !strings.HasPrefix(base, "https://") {
				subject = "mailto:push@localhost"
			}
		}
		p, err := push.NewSender(keys, subject, nil)
		if err != nil {
			return nil, nc, usageError{"push settings: " + err.Error()}
		}
		ch.Push, ch.PushBAA, nc.PushPublicKey = p, f.pushBAA, keys.Public
	}
	n := jobs.NewNotifier(db, ch, strings.TrimRight(base, "/"), f.nudgeAfter, nil)
	nc.Notifier = n
	return n, nc, nil
}

// startJobs starts the job runner; stop it before closing the store.
func (f *notifyFlags) startJobs(ctx context.Context, db *store.DB, n *jobs.Notifier, log *slog.Logger) (*jobs.Runner, error) {
	r, err := jobs.Start(context.WithoutCancel(ctx), db, n, jobs.Options{Workers: f.jobWorkers, Logger: log.With("component", "jobs")})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return r, nil
}
