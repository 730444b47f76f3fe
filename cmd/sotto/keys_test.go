package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
)

// keyStatusOut is the JSON `sotto keys status` prints.
type keyStatusOut struct {
	Master []struct {
		KeyID  uint32 `json:"key_id"`
		Status string `json:"status"`
		Wraps  *int   `json:"wraps"`
	} `json:"master_versions"`
	Wrapped int `json:"wrapped_keys"`
	Orgs    []struct {
		Org      string `json:"org"`
		Versions []struct {
			KeyID  uint32 `json:"key_id"`
			Status string `json:"status"`
			Wraps  *int   `json:"wraps"`
		} `json:"versions"`
	} `json:"org_keys"`
}

// An organization key rotation from the command line moves everything to
// the new version, retires the old one, audits both steps, and leaves the
// data usable.
func TestKeysRotateOrg(t *testing.T) {
	dir := t.TempDir()
	sotto := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(args, "--data", dir), func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := sotto(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	var org map[string]string
	json.Unmarshal([]byte(must("admin", "create-org", "--name", "Key Rotation Practice")), &org)
	must("admin", "create-user", "--org", org["id"], "--role", "nurse", "--email", "rotating.nurse@example.test", "--name", "Rory Example")
	other := map[string]string{}
	json.Unmarshal([]byte(must("admin", "create-org", "--name", "Untouched Practice")), &other)

	if _, err := sotto("keys", "rotate", "--org", "no-such-org", "--grace", "0s"); err == nil {
		t.Fatal("rotating an unknown organization succeeded")
	}
	must("keys", "rotate", "--org", org["id"], "--grace", "0s")
	var st keyStatusOut
	if err := json.Unmarshal([]byte(must("keys", "status", "--count")), &st); err != nil {
		t.Fatal(err)
	}
	for _, o := range st.Orgs {
		switch o.Org {
		case org["id"]:
			if len(o.Versions) != 2 {
				t.Fatalf("rotated org versions = %+v, want 2", o.Versions)
			}
			for _, v := range o.Versions {
				if v.Status == "primary" && *v.Wraps < 2 { // the user's e-mail and name at least
					t.Errorf("new primary seals %d blobs", *v.Wraps)
				}
				if v.Status != "primary" && (v.Status != "disabled" || *v.Wraps != 0) {
					t.Errorf("old version after rotation: %+v", v)
				}
			}
		case other["id"]:
			if len(o.Versions) != 1 {
				t.Errorf("the other org was rotated too: %+v", o.Versions)
			}
		}
	}
	// The org keeps working, and a second rotation of every org works too.
	must("admin", "create-user", "--org", org["id"], "--role", "provider", "--email", "after.rotation@example.test", "--name", "Avery Example")
	must("keys", "rotate", "--all-orgs", "--grace", "0s")
	// Both steps of both rotations are in the org's chain, which verifies.
	var cp map[string]any
	json.Unmarshal([]byte(must("audit", "checkpoint", "--org", org["id"])), &cp)
	if cp["seq"].(float64) != 7 { // org, user, rotate+retire, user, rotate+retire
		t.Fatalf("checkpoint seq = %v, want 7", cp["seq"])
	}
	if out := must("audit", "verify"); !strings.Contains(out, `"checkpoint_verified":true`) {
		t.Fatalf("verify: %s", out)
	}
}

// A running server (here: the data directory opened as serve opens it)
// keeps reading and creating organizations while `sotto keys rotate`
// rotates and retires the master key in the same key file.
func TestServerFollowsMasterRotation(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := dataFlags{data: dir}
	server, err := d.open(ctx, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	defer server.db.Close()
	before := &sotto.Org{Name: "Before Rotation Practice"}
	if err := server.db.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(before) }); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate", "--data", dir}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("keys rotate: %v: %s", err, errOut.String())
	}
	server.keys.Forget(before.ID) // as if the cache had been evicted: unwrap the re-wrapped key
	if _, err := server.db.OrgKey(ctx, before.ID); err != nil {
		t.Fatalf("the server cannot open an org key re-wrapped under the new master: %v", err)
	}
	after := &sotto.Org{Name: "After Rotation Practice"}
	if err := server.db.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(after) }); err != nil {
		t.Fatal(err)
	}
	// The new org was wrapped under the new master, so a fresh process
	// (which sees the old version retired) opens it.
	fresh, err := d.open(ctx, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.db.Close()
	for _, o := range []*sotto.Org{before, after} {
		if _, err := fresh.db.OrgKey(ctx, o.ID); err != nil {
			t.Errorf("org %q after the rotation: %v", o.Name, err)
		}
	}
}
