package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/crypt"
	"sotto/internal/store"
)

const keysUsage = `Usage: sotto keys <subcommand> [flags]

Subcommands:
  status   report master key versions and how many wrapped keys each protects,
           and each organization's record key versions (--count: how many
           data keys and records each seals)
  rotate   without flags: add a new master key version, re-wrap every
           organization key under it, then retire the old version (with a
           KMS master: re-wrap under the KMS key's current version)
           --org ID or --all-orgs: add a new version of the organization's
           record key, re-wrap every patient data key and re-seal every
           organization-level record under it, then retire the old version
  Both run while the server runs; the server follows the new keys by itself.
`

// keysFlags are the flags of `sotto keys`.
type keysFlags struct {
	org     string
	allOrgs bool
	count   bool
	force   bool
	grace   time.Duration
}

// keys runs key management subcommands.
func keys(ctx context.Context, env *environ, args []string) error {
	if len(args) == 0 || (args[0] != "status" && args[0] != "rotate") {
		fmt.Fprint(env.stderr, keysUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usageError{"keys needs a subcommand: status or rotate"}
	}
	sub := args[0]
	var kf keysFlags
	a, err := env.openData(ctx, "keys "+sub, keysUsage, args[1:], true, func(fs *flag.FlagSet) {
		if sub == "rotate" {
			fs.StringVar(&kf.org, "org", "", "rotate this organization's record key instead of the master key")
			fs.BoolVar(&kf.allOrgs, "all-orgs", false, "rotate every organization's record key instead of the master key")
			fs.DurationVar(&kf.grace, "grace", 2*time.Second, "with --org: how long after the new version is in use to wait before the final count (longer than any write transaction)")
			fs.BoolVar(&kf.force, "retire-unreadable", false, "retire the old organization key even if some records under it no longer authenticate (they stay unreadable)")
		} else {
			fs.BoolVar(&kf.count, "count", false, "count the data keys and records under each organization key version (scans every encrypted column)")
		}
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	if sub == "rotate" {
		var err error
		switch {
		case kf.org != "" && kf.allOrgs:
			return usageError{"--org and --all-orgs cannot be combined"}
		case kf.org != "" || kf.allOrgs:
			err = rotateOrgs(ctx, env, a, kf)
		default:
			err = rotateMaster(ctx, env, a)
		}
		if err != nil {
			return cliError(err)
		}
	}
	return keyStatus(ctx, env, a, kf.count)
}

// fileMaster is what a master key kept in a keyset file offers beyond
// crypt.Master: versions to add and retire.
type fileMaster interface {
	Versions() []crypt.KeyVersion
	PrimaryKeyID() uint32
	Rotate() error
	Retire(keyID uint32) error
}

// rotateMaster adds a master key version (a key file) and re-wraps every
// stored key under the master's current primary, then retires the old
// versions. With a KMS master the KMS rotates its key; this re-wraps.
func rotateMaster(ctx context.Context, env *environ, a *app) error {
	fm, versioned := a.master.(fileMaster)
	var old []crypt.KeyVersion
	if versioned {
		old = fm.Versions()
		if err := fm.Rotate(); err != nil {
			return fmt.Errorf("rotate master key: %w", err)
		}
	}
	// Re-wrap until a pass finds nothing left under an old version: an org
	// created by the running server just before it saw the new key file
	// is caught by the next pass.
	for pass := 0; ; pass++ {
		n, err := rewrapAll(ctx, env.stderr, a, fm, versioned, pass == 0)
		if err != nil {
			return err
		}
		if n == 0 || !versioned || pass == 3 {
			break
		}
	}
	if versioned {
		primary := fm.PrimaryKeyID()
		for _, v := range old {
			if v.ID != primary && v.Status == crypt.StatusEnabled {
				if err := fm.Retire(v.ID); err != nil {
					return fmt.Errorf("retire old master key version: %w", err)
				}
			}
		}
	}
	return auditEveryOrg(ctx, a, "master_key", "rotate")
}

// rewrapAll re-wraps every keys row not yet under the master's primary
// (every row, for a KMS master on the first pass) and returns how many.
func rewrapAll(ctx context.Context, progress io.Writer, a *app, fm fileMaster, versioned, first bool) (int, error) {
	wrapped, err := a.db.WrappedKeys(ctx)
	if err != nil {
		return 0, err
	}
	var todo []store.WrappedKey
	for _, k := range wrapped {
		if id, ok := crypt.KeyIDOf(k.Wrapped); (versioned && (!ok || id != fm.PrimaryKeyID())) || (!versioned && first) {
			todo = append(todo, k)
		}
	}
	for i, k := range todo {
		nw, err := a.keys.RewrapOrgKey(store.KeyOrgID(k.ID), k.Wrapped)
		if err != nil {
			return 0, fmt.Errorf("re-wrap key %d of %d: %w", i+1, len(todo), err)
		}
		err = a.db.Write(ctx, func(tx *store.Tx) error {
			ok, err := tx.ReplaceWrappedKey(k.ID, k.Wrapped, nw)
			if err == nil && !ok {
				err = fmt.Errorf("key changed during rotation; run sotto keys rotate again")
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(progress, "\rre-wrapping organization keys %s %d/%d", progressBar(i+1, len(todo), 30), i+1, len(todo))
	}
	if len(todo) > 0 {
		fmt.Fprintln(progress)
	}
	return len(todo), nil
}

// auditEveryOrg records a key rotation event in every organization's
// audit chain (the master key protects them all).
func auditEveryOrg(ctx context.Context, a *app, target, phase string) error {
	orgs, err := a.db.OrgIDs(ctx)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *store.Tx) error {
		for _, org := range orgs {
			if err := audit.Append(tx, cliEvent(org, sotto.AuditKeyRotate, target, phase)); err != nil {
				return err
			}
		}
		return nil
	})
}

func progressBar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

// keyStatus prints master key versions with the count of keys each wraps,
// and each organization's record key versions.
func keyStatus(ctx context.Context, env *environ, a *app, count bool) error {
	wrapped, err := a.db.WrappedKeys(ctx)
	if err != nil {
		return err
	}
	type version struct {
		KeyID  uint32 `json:"key_id"`
		Status string `json:"status"`
		Wraps  *int   `json:"wraps,omitempty"`
	}
	type orgKeys struct {
		Org      string    `json:"org"`
		Versions []version `json:"versions"`
	}
	var out struct {
		Master   []version `json:"master_versions,omitempty"`
		Wrapped  int       `json:"wrapped_keys"`
		Orgs     []orgKeys `json:"org_keys"`
		Database string    `json:"database"`
	}
	if fm, ok := a.master.(fileMaster); ok {
		counts := map[uint32]int{}
		for _, k := range wrapped {
			if id, ok := crypt.KeyIDOf(k.Wrapped); ok {
				counts[id]++
			}
		}
		for _, v := range fm.Versions() {
			n := counts[v.ID]
			out.Master = append(out.Master, version{v.ID, string(v.Status), &n})
		}
	}
	orgs, err := a.db.OrgIDs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		vs, err := a.db.OrgKeyVersions(ctx, org)
		if err != nil {
			return err
		}
		var use map[uint32]int
		if count {
			if use, err = a.db.OrgKeyUse(ctx, org, vs); err != nil {
				return err
			}
		}
		ok := orgKeys{Org: org}
		for _, v := range vs {
			ver := version{KeyID: v.ID, Status: string(v.Status)}
			if count {
				n := use[v.ID]
				ver.Wraps = &n
			}
			ok.Versions = append(ok.Versions, ver)
		}
		out.Orgs = append(out.Orgs, ok)
	}
	out.Wrapped, out.Database = len(wrapped), string(a.db.Dialect())
	return json.NewEncoder(env.stdout).Encode(out)
}
