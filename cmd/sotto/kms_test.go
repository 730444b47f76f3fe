package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sotto/internal/crypt/kmstest"
	"sotto/internal/store/storetest"
)

const (
	kmsTestRegion = "us-west-2"
	kmsTestAKID   = "AKIDSOTTOCLI"
	kmsTestSecret = "cli/secret/access/key/do-not-log"
	kmsTestToken  = "ya29.cli-token-do-not-log"
	kmsTestGCPKey = "projects/sotto-test/locations/us/keyRings/sotto/cryptoKeys/master"
)

// isolateAWS gives the AWS SDK only the test's static credentials: no
// shared files, no instance metadata, no inherited region or endpoint.
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": kmsTestAKID, "AWS_SECRET_ACCESS_KEY": kmsTestSecret, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_KMS": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
	} {
		t.Setenv(k, v)
	}
}

// runCmd runs one sotto command with env as its SOTTO_* environment and
// returns its error, standard output and standard error.
func runCmd(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// createOrgWith creates an organization (wrapping its key with the
// configured master) and returns its id.
func createOrgWith(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(env, append([]string{"admin", "create-org", "--name", "KMS Practice"}, args...)...)
	if err != nil {
		t.Fatalf("create-org: %v\n%s", err, errOut)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(out), &v); err != nil || v["id"] == "" {
		t.Fatalf("create-org output %q: %v", out, err)
	}
	return v["id"]
}

// checkWrongMaster runs serve with args and checks it refuses to start,
// naming the master and saying it cannot open the stored keys.
func checkWrongMaster(t *testing.T, env map[string]string, name string, args ...string) {
	t.Helper()
	stdout, stderr, err := runCmd(env, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	out := stdout + stderr
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("serve with the wrong master key: err = %v, output:\n%s", err, out)
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot open this database's stored keys") || !strings.Contains(msg, name) {
		t.Errorf("start-up error does not explain the wrong master key: %v", err)
	}
	if strings.Contains(out, "listening on") {
		t.Error("server listened with the wrong master key")
	}
	for _, s := range []string{kmsTestSecret, kmsTestToken} {
		if strings.Contains(msg, s) || strings.Contains(out, s) {
			t.Errorf("start-up error or output leaks %q", s)
		}
	}
}

func TestServeAWSKMSMaster(t *testing.T) {
	for _, dbKind := range []string{"sqlite", "postgres"} {
		t.Run(dbKind, func(t *testing.T) {
			isolateAWS(t)
			f := kmstest.NewAWS(t, kmsTestRegion, kmsTestAKID, kmsTestSecret)
			f.CreateKey("alias/sotto")
			f.CreateKey("alias/other")
			dir := t.TempDir()
			common := []string{"--data", dir, "--kms-aws-region", kmsTestRegion, "--kms-aws-endpoint", f.URL}
			if dbKind == "postgres" {
				common = append(common, "--database", storetest.PostgresDSN(t))
			}
			good := append([]string{"--kms-aws-key", "alias/sotto"}, common...)

			before := f.Requests()
			createOrgWith(t, nil, good...)
			if f.Requests() == before {
				t.Fatal("creating an organization did not call AWS KMS")
			}
			if _, err := os.Stat(filepath.Join(dir, "master.key")); !os.IsNotExist(err) {
				t.Errorf("a master.key file was created with a KMS master (stat err %v)", err)
			}
			t.Run("same key serves", func(t *testing.T) {
				base, _ := startServer(t, good...)
				if v := getJSON(t, base+"/readyz", 200); v["status"] != "ready" {
					t.Fatalf("readyz = %v", v)
				}
			})
			t.Run("other key refused", func(t *testing.T) {
				checkWrongMaster(t, nil, "alias/other", append([]string{"--kms-aws-key", "alias/other"}, common...)...)
			})
			t.Run("key file refused", func(t *testing.T) {
				checkWrongMaster(t, nil, "master.key", "--data", dir, "--database", argAfter(common, "--database"))
			})
		})
	}
}

// argAfter returns the value following flag in args, or "".
func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func TestServeGCPKMSMaster(t *testing.T) {
	f := kmstest.NewGCP(t, kmsTestToken)
	f.CreateKey(kmsTestGCPKey)
	other := strings.Replace(kmsTestGCPKey, "master", "other", 1)
	f.CreateKey(other)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", f.ServiceAccountFile(t))
	dir := t.TempDir()
	// The key comes from the environment, as a deployment would set it.
	env := map[string]string{"SOTTO_KMS_GCP_KEY": kmsTestGCPKey, "SOTTO_KMS_GCP_ENDPOINT": f.URL}

	before := f.Requests()
	createOrgWith(t, env, "--data", dir)
	if f.Requests() == before || f.TokenRequests() == 0 {
		t.Fatalf("creating an organization made %d Cloud KMS requests and %d token grants", f.Requests()-before, f.TokenRequests())
	}
	if n := f.MissingChecksums(); n != 0 {
		t.Errorf("%d requests without CRC32C checksums", n)
	}
	t.Run("same key serves", func(t *testing.T) {
		base, _ := startServer(t, "--data", dir, "--kms-gcp-key", kmsTestGCPKey, "--kms-gcp-endpoint", f.URL)
		getJSON(t, base+"/readyz", 200)
	})
	t.Run("other key refused", func(t *testing.T) {
		checkWrongMaster(t, env, other, "--data", dir, "--kms-gcp-key", other)
	})
	t.Run("denied key on a new database", func(t *testing.T) {
		f.Deny(other)
		_, out, err := runCmd(nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--kms-gcp-key", other, "--kms-gcp-endpoint", f.URL)
		if err == nil || !strings.Contains(err.Error(), "does not work") || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
			t.Fatalf("serve with a forbidden key: err = %v\n%s", err, out)
		}
	})
}

func TestKMSMasterFlagConflicts(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--kms-aws-key", "alias/a", "--kms-gcp-key", kmsTestGCPKey}, "--kms-aws-key and --kms-gcp-key"},
		{[]string{"--kms-vault-url", "http://127.0.0.1:1", "--kms-aws-key", "alias/a"}, "--kms-aws-key and --kms-vault-url"},
		{[]string{"--kms-aws-endpoint", "http://127.0.0.1:1"}, "need --kms-aws-key"},
		{[]string{"--kms-gcp-endpoint", "http://127.0.0.1:1"}, "needs --kms-gcp-key"},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		_, out, err := runCmd(nil, append([]string{"admin", "create-org", "--name", "X", "--data", dir}, tc.args...)...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v (exit %d), want usage error %q\n%s", tc.args, err, exitCode(err), tc.want, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "master.key")); !os.IsNotExist(err) {
			t.Errorf("%v: a master key file was created", tc.args)
		}
	}
	t.Run("malformed gcp key", func(t *testing.T) {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", kmstest.NewGCP(t, kmsTestToken).ServiceAccountFile(t))
		_, _, err := runCmd(nil, "migrate", "--data", t.TempDir(), "--kms-gcp-key", "keyRings/sotto/cryptoKeys/master")
		if err == nil || !strings.Contains(err.Error(), "not a CryptoKey name") {
			t.Errorf("err = %v", err)
		}
	})
}
