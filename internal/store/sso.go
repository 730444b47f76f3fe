package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sotto"
	"sotto/internal/crypt"
)

// SSOConfig is an organization's OpenID Connect single sign-on for staff.
// ClientSecret is a secret: it is sealed at rest with the organization's
// key, never logged (String leaves it out) and never sent to clients.
type SSOConfig struct {
	OrgID        string
	SignInName   string // what staff type on the sign-in page; unique in the deployment
	Issuer       string // the identity provider's issuer URL
	ClientID     string
	ClientSecret string
	TrustIdPMFA  bool // the provider's sign-in satisfies sotto's second factor
	Enabled      bool
	UpdatedAt    time.Time
	UpdatedBy    string // the admin's user id
}

// String describes c without its client secret, so that a configuration
// printed by mistake (%v, %+v) leaks nothing.
func (c SSOConfig) String() string {
	return fmt.Sprintf("SSOConfig{org %s, name %q, issuer %q, client %q, trust_idp_mfa %t, enabled %t}",
		c.OrgID, c.SignInName, c.Issuer, c.ClientID, c.TrustIdPMFA, c.Enabled)
}

// GoString is String, for %#v.
func (c SSOConfig) GoString() string { return c.String() }

// ssoSecretAD binds an organization's sealed client secret to its row.
func ssoSecretAD(orgID string) []byte { return crypt.AD("org_sso", "client_secret", orgID) }

// ssoColumns are the columns every SSO read selects, in scanSSO's order.
const ssoColumns = `org_id, sign_in_name, issuer, client_id, client_secret_enc, trust_idp_mfa, enabled, updated_at, updated_by`

// SSOConfig reads and decrypts orgID's single sign-on settings. Callers:
// the admin API and pages, and the sign-in flow. Errors: KindNotFound (the
// organization has none), KindInternal.
func (db *DB) SSOConfig(ctx context.Context, orgID string) (*SSOConfig, error) {
	return db.scanSSO(ctx, "store.SSOConfig", db.r.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM org_sso WHERE org_id = $1`, orgID))
}

// SSOConfigByName reads and decrypts the single sign-on settings whose
// sign-in name is name (compared as given: callers normalize it). Callers:
// the sign-in flow. Errors: KindNotFound, KindInternal.
func (db *DB) SSOConfigByName(ctx context.Context, name string) (*SSOConfig, error) {
	if name == "" || len(name) > MaxSSONameLen {
		return nil, sotto.Errorf(sotto.KindNotFound, "Single sign-on is not set up.")
	}
	return db.scanSSO(ctx, "store.SSOConfigByName", db.r.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM org_sso WHERE sign_in_name = $1`, name))
}

// MaxSSONameLen bounds a sign-in name.
const MaxSSONameLen = 63

// scanSSO reads one org_sso row and opens its secret.
func (db *DB) scanSSO(ctx context.Context, op string, row *sql.Row) (*SSOConfig, error) {
	var c SSOConfig
	var enc []byte
	var at int64
	err := row.Scan(&c.OrgID, &c.SignInName, &c.Issuer, &c.ClientID, &enc, &c.TrustIdPMFA, &c.Enabled, &at, &c.UpdatedBy)
	if err != nil {
		return nil, notFound(err, op, "Single sign-on is not set up.")
	}
	c.UpdatedAt = fromMicros(at)
	ok, err := db.OrgKey(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	raw, err := ok.Open(enc, ssoSecretAD(c.OrgID))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	c.ClientSecret = string(raw)
	return &c, nil
}

// PutSSOConfig stores c (validated by the caller) as c.OrgID's single
// sign-on, replacing any earlier settings; by is the admin's user id. An
// empty c.ClientSecret keeps the stored secret. It sets c.UpdatedAt and
// c.UpdatedBy. Errors: KindInvalid (no secret given and none stored),
// KindConflict (another organization uses the sign-in name), KindNotFound
// (unknown organization), KindInternal.
func (t *Tx) PutSSOConfig(c *SSOConfig, by string) error {
	const op = "store.PutSSOConfig"
	var enc []byte
	if c.ClientSecret == "" {
		err := t.QueryRow(`SELECT client_secret_enc FROM org_sso WHERE org_id = $1`, c.OrgID).Scan(&enc)
		if errors.Is(err, sql.ErrNoRows) {
			return &sotto.Error{Kind: sotto.KindInvalid, Op: op, Msg: "client_secret is required."}
		}
		if err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	} else {
		ok, err := t.orgKey(c.OrgID)
		if err != nil {
			return err
		}
		if enc, err = ok.Seal([]byte(c.ClientSecret), ssoSecretAD(c.OrgID)); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	c.UpdatedAt, c.UpdatedBy = t.Now().UTC(), by
	_, err := t.Exec(`INSERT INTO org_sso (`+ssoColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (org_id) DO UPDATE SET sign_in_name = excluded.sign_in_name, issuer = excluded.issuer,
			client_id = excluded.client_id, client_secret_enc = excluded.client_secret_enc,
			trust_idp_mfa = excluded.trust_idp_mfa, enabled = excluded.enabled,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		c.OrgID, c.SignInName, c.Issuer, c.ClientID, enc, c.TrustIdPMFA, c.Enabled, micros(c.UpdatedAt), by)
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return &sotto.Error{Kind: sotto.KindConflict, Code: "sso_name_taken", Op: op,
			Msg: "Another organization already uses this sign-in name; choose another.", Err: err}
	case isForeignKeyViolation(err):
		return &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: "Organization not found.", Err: err}
	}
	return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
}

// DeleteSSOConfig removes orgID's single sign-on and reports whether there
// was one. Staff then sign in with their passwords. Errors: KindInternal.
func (t *Tx) DeleteSSOConfig(orgID string) (bool, error) {
	res, err := t.Exec(`DELETE FROM org_sso WHERE org_id = $1`, orgID)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.DeleteSSOConfig", Err: err}
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
