package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

const topUsage = `sotto: secure messaging for medical practices.

Usage: sotto <command> [flags]

Commands:
  serve     run the server (zero configuration: SQLite in ./sotto-data)
  migrate   apply database migrations and report them
  admin     create organizations, users and departments
  keys      key rotation and status
  audit     verify the audit trail and print checkpoints
  version   print the version

Run "sotto <command> --help" for a command's settings.
`

// run is the whole program behind main, so that tests can drive it with
// their own arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return usageError{"no command given"}
	}
	env := &environ{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, env, rest)
	case "migrate":
		err = migrate(ctx, env, rest)
	case "admin":
		err = admin(ctx, env, rest)
	case "keys":
		err = keys(ctx, env, rest)
	case "audit":
		err = auditCmd(ctx, env, rest)
	case "version", "--version":
		fmt.Fprintln(stdout, buildVersion().Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
		return nil
	default:
		fmt.Fprint(stderr, topUsage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// environ is what a command gets from the outside world.
type environ struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// newLogger returns the process logger: text on a terminal, JSON
// otherwise, unless format forces one.
func (e *environ) newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{"--log-level must be debug, info, warn or error"}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	case "auto", "":
		if f, ok := e.stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usageError{"--log-format must be auto, text or json"}
}

// flagSet returns a FlagSet for a command whose errors and help go to
// stderr.
func (e *environ) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sotto "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// trimmed returns s without surrounding white space; used for flag values.
func trimmed(s string) string { return strings.TrimSpace(s) }
