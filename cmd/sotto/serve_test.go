package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/internal/auth"
	"sotto/internal/store/storetest"
)

// syncBuffer is a goroutine-safe output sink for run().
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `sotto serve` through run() on a free loopback port and
// returns its base URL and stdout; the server stops at cleanup.
func startServer(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	argv := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)
	go func() { done <- run(ctx, argv, func(string) string { return "" }, strings.NewReader(""), out, errOut) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v; stderr:\n%s", err, errOut.String())
		}
	})
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], out
		}
		select {
		case err := <-done:
			done <- err // for the cleanup, which waits on done
			t.Fatalf("serve exited early: %v\nstderr: %s", err, errOut.String())
		default:
		}
	}
	t.Fatalf("server did not start; stderr:\n%s", errOut.String())
	return "", nil
}

func getJSON(t *testing.T, url string, wantStatus int) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s: body is not JSON: %v", url, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s: status %d, want %d: %v", url, resp.StatusCode, wantStatus, v)
	}
	return v
}

func TestServeZeroConfigAndSetup(t *testing.T) {
	for _, dbKind := range []string{"sqlite", "postgres"} {
		t.Run(dbKind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sotto-data")
			args := []string{"--data", dir}
			if dbKind == "postgres" {
				args = append(args, "--database", storetest.PostgresDSN(t))
			}
			base, out := startServer(t, args...)
			getJSON(t, base+"/healthz", 200)
			if v := getJSON(t, base+"/readyz", 200); v["status"] != "ready" {
				t.Fatalf("readyz = %v", v)
			}
			getJSON(t, base+"/version", 200)
			if v := getJSON(t, base+"/no/such/route", 404); v["error"].(map[string]any)["code"] != "not_found" {
				t.Fatalf("unknown route = %v", v)
			}
			resp, err := http.Post(base+"/healthz", "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("POST /healthz: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("data dir: %v %v", fi, err)
			}
			if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("master key: %v %v", fi, err)
			}

			// First run printed a one-time setup link.
			m := regexp.MustCompile(`(http://\S+/setup/(\S+))`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no setup link in output:\n%s", out.String())
			}
			link := m[1]
			resp, err = http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Practice name")) || resp.Header.Get("Cache-Control") != "no-store" ||
				!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Fatalf("setup page: %d %s", resp.StatusCode, body)
			}
			form := url.Values{"org_name": {"Test Practice"}, "name": {"Alex Example"}, "email": {"alex@example.test"}, "password": {"short"}}
			resp, err = http.PostForm(link, form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !bytes.Contains(body, []byte("at least 12")) {
				t.Fatalf("weak password accepted: %d %s", resp.StatusCode, body)
			}
			form.Set("password", "lilac tractor umbrella 93")
			resp, err = http.PostForm(link, form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte("otpauth://totp/")) {
				t.Fatalf("setup submit: %d %s", resp.StatusCode, body)
			}
			// The link is single-use.
			resp, err = http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("reused setup link: %d", resp.StatusCode)
			}
		})
	}
}

func TestServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "0.0.0.0:8080", "--data", t.TempDir()}, func(string) string { return "" }, nil, &out, &errOut)
	if err == nil || exitCode(err) == 0 {
		t.Fatal("serve on 0.0.0.0 without TLS succeeded")
	}
	for _, flag := range []string{"--tls-cert", "--tls-key", "--acme-domain", "--behind-tls-proxy"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("error does not name %s: %v", flag, err)
		}
	}
}

func TestAdminCLI(t *testing.T) {
	dir := t.TempDir()
	cli := func(stdin string, args ...string) map[string]string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(args, "--data", dir), func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		var v map[string]string
		if err := json.NewDecoder(bufio.NewReader(&out)).Decode(&v); err != nil {
			t.Fatalf("%v: output is not JSON: %v", args, err)
		}
		return v
	}
	org := cli("", "admin", "create-org", "--name", "CLI Practice")["id"]
	u := cli("", "admin", "create-user", "--org", org, "--role", "nurse", "--email", "nurse@example.test", "--name", "Nora Example")
	if u["id"] == "" || len(u["password"]) < 12 || u["mfa"] != "enroll_at_first_sign_in" || u["totp_uri"] != "" {
		t.Fatalf("create-user output: %v", u)
	}
	u2 := cli("a long enough passphrase\n", "admin", "create-user", "--org", org, "--role", "provider", "--email", "doc@example.test", "--name", "Dana Example", "--password-stdin")
	if _, generated := u2["password"]; generated {
		t.Fatal("a password was generated despite --password-stdin")
	}
	d := cli("", "admin", "create-department", "--org", org, "--name", "Nursing")["id"]
	cli("", "admin", "add-member", "--department", d, "--user", u["id"])

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"admin", "create-user", "--org", org, "--role", "nurse", "--email", "nurse@example.test", "--name", "Nora Again", "--data", dir},
		func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "conflict") || strings.Contains(err.Error(), "nurse@example.test") {
		t.Fatalf("duplicate user: %v", err)
	}
	status := map[string]any{}
	out.Reset()
	if err := run(context.Background(), []string{"keys", "rotate", "--data", dir}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	if err := json.Unmarshal(out.Bytes(), &status); err != nil {
		t.Fatal(err)
	}
	versions := status["master_versions"].([]any)
	if len(versions) != 2 {
		t.Fatalf("versions after rotate: %v", versions)
	}
	for _, v := range versions {
		v := v.(map[string]any)
		if v["status"] == "primary" && v["wraps"].(float64) != status["wrapped_keys"].(float64) {
			t.Fatalf("primary does not wrap every key: %v", status)
		}
		if v["status"] != "primary" && v["wraps"].(float64) != 0 {
			t.Fatalf("retired version still wraps keys: %v", status)
		}
	}
	// Data written before rotation is still readable after it.
	cli("", "admin", "create-department", "--org", org, "--name", "After Rotation")

	// Every admin action above is in the org's audit chain, which verifies
	// and can be checkpointed.
	out.Reset()
	if err := run(context.Background(), []string{"audit", "checkpoint", "--org", org, "--data", dir}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("audit checkpoint: %v", err)
	}
	var cp map[string]any
	if err := json.Unmarshal(out.Bytes(), &cp); err != nil || cp["seq"].(float64) != 7 {
		t.Fatalf("checkpoint = %v (%v); want seq 7 (org, 2 users, 2 departments, 1 member, the key rotation)", cp, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "verify", "--data", dir}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("audit verify: %v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), `"checkpoint_verified":true`) {
		t.Fatalf("verify report: %s", out.String())
	}
}

func TestServeDemoSeedsAndRefusesRealData(t *testing.T) {
	dir := t.TempDir()
	base, out := startServer(t, "--data", filepath.Join(dir, "demo"), "--demo")
	if !strings.Contains(out.String(), "frontdesk@lakeside.example") || !strings.Contains(out.String(), "otpauth://totp/") {
		t.Fatalf("demo sign-ins not printed:\n%s", out.String())
	}
	// The printed sign-in works, and the nurse finds the invented patients
	// and a conversation in the inbox.
	m := regexp.MustCompile(`nurse@lakeside\.example\s+(otpauth://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no nurse sign-in printed:\n%s", out.String())
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	if err != nil {
		t.Fatal(err)
	}
	login, _ := json.Marshal(map[string]string{"email": "nurse@lakeside.example", "password": demoPassword, "totp_code": auth.TOTPCode(secret, time.Now())})
	res, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || tok.Token == "" {
		t.Fatalf("demo nurse sign-in: %d", res.StatusCode)
	}
	get := func(path string) (int, string) {
		rq, _ := http.NewRequest("GET", base+path, nil)
		rq.Header.Set("Authorization", "Bearer "+tok.Token)
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	for path, want := range map[string]string{"/api/v1/patients?query=demo": `"mrn":"DEMO-0012"`, "/api/v1/conversations": `"category":"general"`} {
		if code, body := get(path); code != 200 || !strings.Contains(body, want) {
			t.Fatalf("GET %s as demo nurse: %d %s", path, code, body)
		}
	}

	// The log channel: a message to the demo patient with a portal account
	// shows up, PHI-free, on the demo notifications page.
	_, body := get("/api/v1/conversations?queue=all")
	var inbox struct {
		Conversations []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
			Subject   string `json:"subject"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(body), &inbox); err != nil {
		t.Fatal(err)
	}
	convID := ""
	for _, c := range inbox.Conversations {
		if c.Subject == "Question after my visit (demo)" {
			convID = c.ID
		}
	}
	if convID == "" {
		t.Fatalf("the demo nurse does not see the portal patient's conversation: %s", body)
	}
	send, _ := json.Marshal(map[string]string{"body": "Your demo test results are in (invented).", "idempotency_key": "demo-test-1"})
	rq, _ := http.NewRequest("POST", base+"/api/v1/conversations/"+convID+"/messages", bytes.NewReader(send))
	rq.Header.Set("Authorization", "Bearer "+tok.Token)
	rq.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(rq); err != nil || res.StatusCode != 201 {
		t.Fatalf("demo nurse send: %v %v", res, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, page := get("/demo/notifications")
		if code == 200 && strings.Contains(page, "You have a new secure message from Lakeside Clinic") {
			if strings.Contains(page, "demo test results") {
				t.Fatal("the demo notification discloses the message text")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notification on the demo page: %d %s", code, page)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Crypto-shredding from the CLI, while the server runs: the patient's
	// records become unreadable, and the act is audited.
	_, body = get("/api/v1/patients?query=DEMO-0004")
	var found struct {
		Patients []struct {
			ID    string `json:"id"`
			OrgID string `json:"org_id"`
		} `json:"patients"`
	}
	if err := json.Unmarshal([]byte(body), &found); err != nil || len(found.Patients) != 1 {
		t.Fatalf("find DEMO-0004: %s", body)
	}
	p := found.Patients[0]
	var o, e bytes.Buffer
	noenv := func(string) string { return "" }
	shred := []string{"admin", "shred-patient", "--data", filepath.Join(dir, "demo"), "--org", p.OrgID, "--patient", p.ID}
	if err := run(context.Background(), append(shred, "--confirm", "something-else"), noenv, nil, &o, &e); err == nil {
		t.Fatal("shred without a matching --confirm succeeded")
	}
	if err := run(context.Background(), append(shred, "--confirm", p.ID), noenv, nil, &o, &e); err != nil {
		t.Fatalf("shred-patient: %v: %s", err, e.String())
	}
	if code, body := get("/api/v1/patients/" + p.ID); code != 404 || !strings.Contains(body, `"shredded"`) {
		t.Fatalf("shredded patient still readable: %d %s", code, body)
	}
	if _, body := get("/api/v1/patients?query=DEMO-0004"); strings.Contains(body, p.ID) {
		t.Fatalf("shredded patient still found: %s", body)
	}
	real := filepath.Join(dir, "real")
	if err := run(context.Background(), []string{"admin", "create-org", "--name", "Real Practice", "--data", real}, noenv, nil, &o, &e); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", real, "--demo"}, noenv, nil, &o, &e)
	if err == nil || !strings.Contains(err.Error(), "real data") {
		t.Fatalf("demo over real data: %v", err)
	}
}
