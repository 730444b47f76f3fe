package store

import (
	"sotto"
)

// ResetMFA removes every second factor of user id in orgID: the
// authenticator app (enrolled or pending), the recovery codes and the
// passkeys. The user sets up a new authenticator at their next sign-in
// (mfa_enrollment_required). It returns how many passkeys were removed.
// Callers: an administrator's MFA reset, in the Write that audits it and
// ends the user's sessions. Errors: KindNotFound (no such user in orgID),
// KindInternal.
func (t *Tx) ResetMFA(orgID, id string) (int64, error) {
	const op = "store.ResetMFA"
	if !ValidID(id) {
		return 0, sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	res, err := t.Exec(`UPDATE users SET totp_secret_enc = NULL, totp_enrolled = $1, updated_at = $2 WHERE id = $3 AND org_id = $4`,
		false, micros(t.Now()), id, orgID)
	if err := oneRow(res, err, op, "User not found."); err != nil {
		return 0, err
	}
	if _, err := t.Exec(`DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return t.DeletePasskeysOf(orgID, id)
}
