package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/crypt"
	"sotto/internal/store"
)

// rotateOrgs rotates the record key of the organization kf names, or of
// every organization.
func rotateOrgs(ctx context.Context, env *environ, a *app, kf keysFlags) error {
	orgs := []string{kf.org}
	if kf.allOrgs {
		var err error
		if orgs, err = a.db.OrgIDs(ctx); err != nil {
			return err
		}
	} else if _, err := a.db.Org(ctx, kf.org); err != nil {
		return err
	}
	for _, org := range orgs {
		if err := rotateOrg(ctx, env.stderr, a, org, kf); err != nil {
			return fmt.Errorf("organization %s: %w", org, err)
		}
	}
	return nil
}

// rotateOrg moves one organization to a new record key version: the new
// version becomes primary (from then on everything new is sealed under
// it), every data key and org-level record under the old version is moved
// over, and the old version is retired once nothing is left under it.
// Each step is its own transaction and is audited, so an interrupted
// rotation is finished by running the command again.
func rotateOrg(ctx context.Context, progress io.Writer, a *app, org string, kf keysFlags) error {
	var newID uint32
	rotated := time.Now()
	err := a.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if _, newID, err = tx.RotateOrgKey(org); err != nil {
			return err
		}
		return audit.Append(tx, cliEvent(org, sotto.AuditKeyRotate, "org_key", strconv.FormatUint(uint64(newID), 10)))
	})
	if err != nil {
		return err
	}
	// Every version other than the new primary is moved over, so that a
	// rotation interrupted earlier is finished now.
	vs, err := a.db.OrgKeyVersions(ctx, org)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.ID == newID || v.Status != crypt.StatusEnabled {
			continue
		}
		if err := moveOff(ctx, progress, a, org, v.ID, kf, rotated); err != nil {
			return err
		}
	}
	return nil
}

// moveOff re-wraps and re-seals everything of org under key version oldID,
// then retires it. It waits until kf.grace has passed since the rotation
// before its final count, so that a write the running server began under
// the old version before the rotation committed has committed too.
func moveOff(ctx context.Context, progress io.Writer, a *app, org string, oldID uint32, kf keysFlags, rotated time.Time) error {
	show := func(what string) func(int) {
		return func(done int) { fmt.Fprintf(progress, "\r%s %d", what, done) }
	}
	n, err := a.db.RewrapDataKeys(ctx, org, oldID, show("re-wrapping patient data keys"))
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintln(progress)
	}
	n, skipped, err := a.db.ResealOrgRecords(ctx, org, oldID, show("re-sealing organization records"))
	if err != nil {
		return err
	}
	if n+skipped > 0 {
		fmt.Fprintln(progress)
	}
	if skipped > 0 {
		fmt.Fprintf(progress, "%d records under the old key did not authenticate and were left as they are\n", skipped)
	}
	if wait := kf.grace - time.Since(rotated); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		// Anything such a write sealed under the old version moves now.
		if _, err := a.db.RewrapDataKeys(ctx, org, oldID, nil); err != nil {
			return err
		}
		if _, _, err := a.db.ResealOrgRecords(ctx, org, oldID, nil); err != nil {
			return err
		}
	}
	return a.db.Write(ctx, func(tx *store.Tx) error {
		remaining, err := tx.RetireOrgKey(org, oldID, kf.force)
		if err != nil {
			return err
		}
		ev := cliEvent(org, sotto.AuditKeyRotate, "org_key_retired", strconv.FormatUint(uint64(oldID), 10))
		if remaining > 0 {
			ev.Outcome = sotto.AuditFailure // retired with unreadable records left under it
		}
		return audit.Append(tx, ev)
	})
}
