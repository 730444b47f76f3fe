package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newSet() (*flag.FlagSet, *string, *string, *int) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	data := fs.String("data", "./sotto-data", "data dir")
	n := fs.Int("workers", 2, "workers")
	fs.String("config", "", "config file")
	return fs, addr, data, n
}

func TestPrecedenceFlagEnvFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sotto.conf")
	os.WriteFile(cfg, []byte("# comment\naddr = 10.0.0.1:1\ndata = \"/from/file\"\nworkers = 7\n"), 0o600)
	env := map[string]string{"SOTTO_DATA": "/from/env", "SOTTO_CONFIG": cfg}
	fs, addr, data, n := newSet()
	if err := Resolve(fs, []string{"--addr", "127.0.0.1:9"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:9" || *data != "/from/env" || *n != 7 {
		t.Fatalf("addr=%q data=%q workers=%d", *addr, *data, *n)
	}
}

func TestDefaultsWithoutSources(t *testing.T) {
	fs, addr, data, n := newSet()
	if err := Resolve(fs, nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:8080" || *data != "./sotto-data" || *n != 2 {
		t.Fatalf("defaults changed: %q %q %d", *addr, *data, *n)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(s string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("c%d.conf", n))
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"bad env value":   {env: map[string]string{"SOTTO_WORKERS": "many"}, want: "SOTTO_WORKERS"},
		"unknown setting": {args: []string{"--config", write("nope = 1\n")}, want: "unknown setting"},
		"no equals":       {args: []string{"--config", write("addr\n")}, want: "line 1"},
		"duplicate":       {args: []string{"--config", write("addr = a\naddr = b\n")}, want: "set twice"},
		"bad file value":  {args: []string{"--config", write("workers = x\n")}, want: "workers"},
		"missing file":    {args: []string{"--config", filepath.Join(dir, "absent")}, want: "open config file"},
		"nested config":   {args: []string{"--config", write("config = /x\n")}, want: "cannot name another"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fs, _, _, _ := newSet()
			err := Resolve(fs, c.args, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestUsageListsEnvAndDefaults(t *testing.T) {
	fs, _, _, _ := newSet()
	var b strings.Builder
	Usage(&b, "serve", "Run it.", fs)
	for _, want := range []string{"--addr", "SOTTO_ADDR", "127.0.0.1:8080", "SOTTO_CONFIG"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add("addr = 1\n# c\n\ndata=\"x\"\n")
	f.Add("=\n")
	f.Add("a = \"\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFile(strings.NewReader(s))
		if err == nil {
			for k := range m {
				if k == "" || strings.ContainsAny(k, " =\n") {
					t.Fatalf("accepted bad name %q", k)
				}
			}
		}
	})
}
