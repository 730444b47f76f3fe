package main

import "context"

// auditCmd is filled in by the audit trail (verify, checkpoint).
func auditCmd(ctx context.Context, env *environ, args []string) error {
	return usageError{"sotto audit is not available in this build yet"}
}
