package main

import (
	"context"
	"fmt"
	"time"

	"sotto/internal/auth"
	"sotto/internal/store"
)

// SetupTokenTTL is how long a first-run setup link stays valid.
const SetupTokenTTL = time.Hour

// firstRun prints a one-time setup link when no organization exists yet
// (or seeds the demo practice when asked).
func firstRun(ctx context.Context, env *environ, a *app, baseURL string, demo bool) error {
	n, err := a.db.CountOrgs(ctx)
	if err != nil {
		return err
	}
	if demo {
		return seedDemo(ctx, env, a, n)
	}
	if n > 0 {
		return nil
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return fmt.Errorf("setup token: %w", err)
	}
	exp := a.db.Now().Add(SetupTokenTTL)
	if err := a.db.Write(ctx, func(tx *store.Tx) error { return tx.InsertSetupToken(hash, exp) }); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "No organization exists yet. Open this one-time link within an hour to create yours and its first admin:\n  %s/setup/%s\n", baseURL, token)
	return nil
}
