package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"sotto"
	"sotto/internal/audit"
)

const auditUsage = `Usage: sotto audit <subcommand> [flags]

Subcommands:
  verify       walk every organization's hash chain (or --org's), check its head and
               signed checkpoints; exits non-zero on any break
  checkpoint   sign the current head of --org's chain and print the checkpoint (JSON) to
               keep outside the database
`

// errAuditBroken makes `sotto audit verify` exit non-zero.
var errAuditBroken = errors.New("audit trail verification failed")

// auditCmd runs audit subcommands.
func auditCmd(ctx context.Context, env *environ, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		fmt.Fprint(env.stderr, auditUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usageError{"audit needs a subcommand: verify or checkpoint"}
	}
	sub := args[0]
	var org string
	a, err := env.openData(ctx, "audit "+sub, auditUsage, args[1:], true, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", "", "organization id (verify: all when empty; checkpoint: required)")
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	keyFor := func(orgID string) ([]byte, error) {
		if orgID == sotto.SystemOrgID {
			return nil, nil // deployment-level events have no org key
		}
		k, err := a.db.OrgKey(ctx, orgID)
		if err != nil {
			return nil, err
		}
		return k.PublicKey(), nil
	}
	enc := json.NewEncoder(env.stdout)
	if sub == "checkpoint" {
		if org == "" {
			return usageError{"audit checkpoint needs --org"}
		}
		k, err := a.db.OrgKey(ctx, org)
		if err != nil {
			return cliError(err)
		}
		cp, err := audit.CreateCheckpoint(ctx, a.db, org, k)
		if err != nil {
			return cliError(err)
		}
		return enc.Encode(cp)
	}
	var reports []audit.Report
	if org != "" {
		pub, err := keyFor(org)
		if err != nil {
			return cliError(err)
		}
		r, err := audit.Verify(ctx, a.db, org, pub)
		if err != nil {
			return cliError(err)
		}
		reports = []audit.Report{r}
	} else if reports, err = audit.VerifyAll(ctx, a.db, keyFor); err != nil {
		return cliError(err)
	}
	if err := enc.Encode(map[string]any{"reports": reports}); err != nil {
		return err
	}
	for _, r := range reports {
		if !r.OK {
			return errAuditBroken
		}
	}
	return nil
}
