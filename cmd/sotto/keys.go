package main

import (
	"context"
	"encoding/json"
	"fmt"

	"sotto/internal/crypt"
	"sotto/internal/store"
)

const keysUsage = `Usage: sotto keys <subcommand> [flags]

Subcommands:
  status   report master key versions and how many wrapped keys each protects
  rotate   add a new master key version, re-wrap every organization key under
           it while the server runs, then retire the old versions
`

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
	a, err := env.openData(ctx, "keys "+sub, keysUsage, args[1:], true, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	fm, ok := a.master.(*crypt.FileMaster)
	if !ok {
		return usageError{"with Vault Transit as the master key, rotate the key in Vault (vault write -f transit/keys/NAME/rotate)"}
	}
	if sub == "rotate" {
		if err := rotateMaster(ctx, env, a, fm); err != nil {
			return err
		}
	}
	return keyStatus(ctx, env, a, fm)
}

// rotateMaster adds a master key version and re-wraps every stored key.
func rotateMaster(ctx context.Context, env *environ, a *app, fm *crypt.FileMaster) error {
	old := fm.Versions()
	if err := fm.Rotate(); err != nil {
		return fmt.Errorf("rotate master key: %w", err)
	}
	wrapped, err := a.db.WrappedKeys(ctx)
	if err != nil {
		return err
	}
	for i, k := range wrapped {
		nw, err := a.keys.RewrapOrgKey(store.KeyOrgID(k.ID), k.Wrapped)
		if err != nil {
			return fmt.Errorf("re-wrap key %d of %d: %w", i+1, len(wrapped), err)
		}
		err = a.db.Write(ctx, func(tx *store.Tx) error {
			ok, err := tx.ReplaceWrappedKey(k.ID, k.Wrapped, nw)
			if err == nil && !ok {
				err = fmt.Errorf("key changed during rotation; run sotto keys rotate again")
			}
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "\rre-wrapping keys %s %d/%d", progressBar(i+1, len(wrapped), 30), i+1, len(wrapped))
	}
	fmt.Fprintln(env.stderr)
	primary := fm.PrimaryKeyID()
	for _, v := range old {
		if v.ID != primary && v.Status == crypt.StatusEnabled {
			if err := fm.Retire(v.ID); err != nil {
				return fmt.Errorf("retire old master key version: %w", err)
			}
		}
	}
	return nil
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

// keyStatus prints master key versions with the count of keys each wraps.
func keyStatus(ctx context.Context, env *environ, a *app, fm *crypt.FileMaster) error {
	wrapped, err := a.db.WrappedKeys(ctx)
	if err != nil {
		return err
	}
	counts := map[uint32]int{}
	for _, k := range wrapped {
		if id, ok := fm.KeyIDOf(k.Wrapped); ok {
			counts[id]++
		}
	}
	type version struct {
		KeyID  uint32 `json:"key_id"`
		Status string `json:"status"`
		Wraps  int    `json:"wraps"`
	}
	var out struct {
		Master   []version `json:"master_versions"`
		Wrapped  int       `json:"wrapped_keys"`
		KeyFile  string    `json:"key_file"`
		Database string    `json:"database"`
	}
	for _, v := range fm.Versions() {
		out.Master = append(out.Master, version{v.ID, string(v.Status), counts[v.ID]})
	}
	out.Wrapped, out.KeyFile, out.Database = len(wrapped), fm.Path(), string(a.db.Dialect())
	return json.NewEncoder(env.stdout).Encode(out)
}
