// Command sotto-load drives a running sotto server over HTTP and
// WebSocket exactly as real clients do (patients write to a department
// queue, staff reply, patients open the replies) and reports sustained
// message rate, send-to-arrival latency percentiles, lost and duplicated
// deliveries, errors by kind and the server's CPU and memory.
//
// Setup uses only the public API: one staff account (password + TOTP
// secret, as printed by "sotto admin create-user" or "sotto serve --demo")
// creates, invites and signs up the load-test patients. See
// scripts/bench.sh for a complete run against a fresh demo server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// config holds the command-line settings.
type config struct {
	url, staffEmail, staffPassword, staffTOTP string
	departmentID                              string
	patients, staff, devicesPerPatient        int
	rate, replyFraction                       float64
	duration, warmup, grace                   time.Duration
	maxMessages                               int64
	concurrency, setupConcurrency, connectPar int
	sourceAddrs, statePath                    string
	serverPID                                 int
	jsonOut, quiet, setupOnly                 bool
}

// usageError is a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errFailed means the run completed but lost, duplicated or misrouted
// deliveries (the report says which).
var errFailed = errors.New("deliveries were lost, duplicated or misrouted")

// errInterrupted means a signal ended the run early (the report covers
// the part that ran).
var errInterrupted = errors.New("interrupted")

func exitStatus(err error, stderr io.Writer) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintln(stderr, "sotto-load:", err)
		return 2
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "sotto-load: interrupted")
		return 130
	}
	fmt.Fprintln(stderr, "sotto-load:", err)
	return 1
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("sotto-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the running sotto server")
	fs.StringVar(&c.staffEmail, "staff-email", "", "staff account that creates and invites the patients and answers them (required)")
	fs.StringVar(&c.staffPassword, "staff-password", "", "its password (or SOTTO_LOAD_STAFF_PASSWORD)")
	fs.StringVar(&c.staffTOTP, "staff-totp-secret", "", "its TOTP secret: base32, or the otpauth:// URI (or SOTTO_LOAD_STAFF_TOTP)")
	fs.StringVar(&c.departmentID, "department-id", "", "department queue the patients write to; empty: discover one the staff account belongs to")
	fs.IntVar(&c.patients, "patients", 200, "simulated patients, each with one conversation and one WebSocket")
	fs.IntVar(&c.staff, "staff", 2, "staff WebSockets (all signed in as the one staff session)")
	fs.IntVar(&c.devicesPerPatient, "devices-per-patient", 1, "WebSockets per patient (one session): many connections for few argon2id-costly accounts")
	fs.Float64Var(&c.rate, "rate", 100, "target messages/s, patient messages and staff replies together")
	fs.Float64Var(&c.replyFraction, "reply-fraction", 0.25, "fraction of patient messages a staff member answers")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "measured run time (after warm-up)")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "warm-up at the target rate before measuring")
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "how long to wait after the last send for frames still in flight")
	fs.Int64Var(&c.maxMessages, "max-messages", 1_000_000, "stop sending after this many messages (0: no limit besides --duration)")
	fs.IntVar(&c.concurrency, "concurrency", 256, "maximum requests in flight during the run")
	fs.IntVar(&c.setupConcurrency, "setup-concurrency", 2*runtime.GOMAXPROCS(0), "patients set up at once (each costs the server an argon2id hash)")
	fs.IntVar(&c.connectPar, "connect-concurrency", 64, "WebSockets opened at once")
	fs.StringVar(&c.sourceAddrs, "source-addrs", "", "spread connections over these local addresses, e.g. 127.0.0.2-127.0.0.50")
	fs.StringVar(&c.statePath, "state", "", "file to save and reuse patient accounts in between runs against the same server")
	fs.IntVar(&c.serverPID, "server-pid", 0, "pid of the server process (same machine): report its CPU and memory")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as one JSON object")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress output on stderr")
	fs.BoolVar(&c.setupOnly, "setup-only", false, "only make the patients ready (and save --state), e.g. before restarting the server for a clean memory baseline")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sotto-load --url URL --staff-email EMAIL --staff-password PW --staff-totp-secret SECRET [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if c.staffPassword == "" {
		c.staffPassword = os.Getenv("SOTTO_LOAD_STAFF_PASSWORD")
	}
	if c.staffTOTP == "" {
		c.staffTOTP = os.Getenv("SOTTO_LOAD_STAFF_TOTP")
	}
	switch {
	case c.staffEmail == "" || c.staffPassword == "" || c.staffTOTP == "":
		return nil, usageError{"--staff-email, --staff-password and --staff-totp-secret are required"}
	case c.patients < 1 || c.staff < 1 || c.devicesPerPatient < 1 || c.devicesPerPatient > 200:
		return nil, usageError{"--patients, --staff and --devices-per-patient (at most 200) must be at least 1"}
	case c.rate <= 0 || c.replyFraction < 0 || c.replyFraction > 1:
		return nil, usageError{"--rate must be positive and --reply-fraction within 0..1"}
	case c.duration <= 0 || c.warmup < 0 || c.grace < 0:
		return nil, usageError{"--duration must be positive, --warmup and --grace not negative"}
	case c.maxMessages < 0 || c.concurrency < 1 || c.setupConcurrency < 1 || c.connectPar < 1:
		return nil, usageError{"--max-messages must not be negative; concurrencies must be at least 1"}
	}
	if c.maxMessages == 0 {
		c.maxMessages = 1<<63 - 1
	}
	return c, nil
}

// run is the whole program: flags, setup, connections, the timed run and
// the report on stdout (progress goes to stderr).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	l, err := newLoad(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	rep, err := l.execute(ctx)
	if err != nil {
		return err
	}
	if cfg.jsonOut {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return err
	}
	switch {
	case rep.SetupOnly && !rep.Pass:
		return fmt.Errorf("%d patients could not be set up (see the errors)", rep.Setup.Failed)
	case !rep.Pass:
		return errFailed
	case rep.Interrupted:
		return errInterrupted
	}
	return nil
}
