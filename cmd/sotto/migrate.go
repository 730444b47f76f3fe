package main

import (
	"context"
	"encoding/json"
	"fmt"
)

func migrate(ctx context.Context, env *environ, args []string) error {
	a, err := env.openData(ctx, "migrate", "Apply pending database migrations and print what was applied as JSON.", args, false, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	applied, err := a.db.Migrate(ctx)
	if err != nil {
		return err
	}
	st, err := a.db.MigrationState(ctx)
	if err != nil {
		return err
	}
	out := map[string]any{"applied": applied, "current": st.Current, "latest": st.Latest, "database": string(a.db.Dialect())}
	if applied == nil {
		out["applied"] = []any{}
	}
	if err := json.NewEncoder(env.stdout).Encode(out); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
