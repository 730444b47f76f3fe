// Package config resolves sotto's settings from, in order of precedence,
// command-line flags, SOTTO_* environment variables, and an optional
// config file, over built-in defaults. It holds no package-level state:
// cmd/sotto builds a Set per command and passes the values down.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// EnvName returns the environment variable that sets the flag name, e.g.
// "public-url" → "SOTTO_PUBLIC_URL".
func EnvName(name string) string {
	return "SOTTO_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Resolve parses args into fs, then fills every flag not given on the
// command line from the environment (getenv) and then from the config
// file named by the flag "config" (if fs defines it and it is set by any
// source). It returns flag.ErrHelp for -h/--help after printing usage.
// Errors name the offending setting and source, never its value.
func Resolve(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("config: %s: invalid value: %w", EnvName(f.Name), err)
				return
			}
			set[f.Name] = true
		}
	})
	if envErr != nil {
		return envErr
	}
	cf := fs.Lookup("config")
	if cf == nil || cf.Value.String() == "" {
		return nil
	}
	path := cf.Value.String()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: open config file: %w", err)
	}
	defer f.Close()
	values, err := ParseFile(f)
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "config" {
			return fmt.Errorf("config: %s: a config file cannot name another config file", path)
		}
		fl := fs.Lookup(name)
		if fl == nil {
			return fmt.Errorf("config: %s: unknown setting %q", path, name)
		}
		if set[name] {
			continue
		}
		if err := fs.Set(name, values[name]); err != nil {
			return fmt.Errorf("config: %s: setting %q: invalid value: %w", path, name, err)
		}
	}
	return nil
}

// MaxFileSize bounds a config file.
const MaxFileSize = 1 << 20

// ParseFile reads a config file: one `name = value` per line, names as the
// flags spell them; blank lines and lines starting with # are ignored; a
// value may be wrapped in double quotes. Duplicate names are an error.
func ParseFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(r, MaxFileSize+1))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n, size := 0, 0
	for sc.Scan() {
		n++
		size += len(sc.Bytes()) + 1
		if size > MaxFileSize {
			return nil, errors.New("file larger than 1 MiB")
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want name = value", n)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) {
			return nil, fmt.Errorf("line %d: invalid setting name", n)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %q set twice", n, name)
		}
		out[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// Usage writes a help text for fs: each setting with its flag, environment
// variable and default.
func Usage(w io.Writer, command, summary string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: sotto %s [flags]\n\n%s\n\nSettings (flag, then environment variable, then config file):\n", command, summary)
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s\n        %s\n        env %s, default %s\n", f.Name, f.Usage, EnvName(f.Name), def)
	})
}
