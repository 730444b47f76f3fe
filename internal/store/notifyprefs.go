package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"sotto"
	"sotto/internal/crypt"
)

// NotifyPrefs reads the notification preferences of user userID of orgID,
// or the defaults when none were set. Errors: KindInternal.
func (db *DB) NotifyPrefs(ctx context.Context, orgID, userID string) (sotto.NotifyPrefs, error) {
	p := sotto.DefaultNotifyPrefs()
	var consent sql.NullInt64
	var updated int64
	err := db.r.QueryRowContext(ctx, `SELECT sms, email, push, sms_consent_at, sms_consent_source, updated_at
		FROM notify_prefs WHERE user_id = $1 AND org_id = $2`, userID, orgID).
		Scan(&p.SMS, &p.Email, &p.Push, &consent, &p.SMSConsentSource, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, &sotto.Error{Kind: sotto.KindInternal, Op: "store.NotifyPrefs", Err: err}
	}
	p.SMSConsentAt, p.UpdatedAt = timePtr(consent), fromMicros(updated)
	return p, nil
}

// SetNotifyPrefs stores p (validated by the caller) as the preferences of
// user userID of orgID. Turning SMS on records the consent time now unless
// p carries one. Errors: KindNotFound (no such user), KindInternal.
func (t *Tx) SetNotifyPrefs(orgID, userID string, p *sotto.NotifyPrefs) error {
	const op = "store.SetNotifyPrefs"
	now := t.Now()
	if p.SMS && p.SMSConsentAt == nil {
		p.SMSConsentAt = &now
	}
	p.UpdatedAt = now
	_, err := t.Exec(`INSERT INTO notify_prefs (user_id, org_id, sms, email, push, sms_consent_at, sms_consent_source, updated_at)
		SELECT id, org_id, $3, $4, $5, $6, $7, $8 FROM users WHERE id = $1 AND org_id = $2
		ON CONFLICT (user_id) DO UPDATE SET sms = excluded.sms, email = excluded.email, push = excluded.push,
			sms_consent_at = excluded.sms_consent_at, sms_consent_source = excluded.sms_consent_source, updated_at = excluded.updated_at`,
		userID, orgID, p.SMS, p.Email, p.Push, microsPtr(p.SMSConsentAt), p.SMSConsentSource, micros(now))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	var n int
	if err := t.QueryRow(`SELECT COUNT(*) FROM notify_prefs WHERE user_id = $1 AND org_id = $2`, userID, orgID).Scan(&n); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	return nil
}

// phoneIndex is one organization's blind index of a phone number, and
// whether the organization has a patient with that number.
type phoneIndex struct {
	orgID string
	idx   []byte
	known bool
}

// phoneIndexes computes, inside a write, every organization's blind index
// of phone (E.164) and whether a patient of that organization has it.
func (t *Tx) phoneIndexes(op, phone string) ([]phoneIndex, error) {
	orgIDs, err := stringsQuery(t.ctx, txq{t}, `SELECT id FROM orgs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	out := make([]phoneIndex, 0, len(orgIDs))
	for _, orgID := range orgIDs {
		ok, err := t.orgKey(orgID)
		if err != nil {
			return nil, err
		}
		pi := phoneIndex{orgID: orgID, idx: ok.BlindIndex("phone", phone)}
		var n int
		if err := t.QueryRow(`SELECT COUNT(*) FROM patients WHERE org_id = $1 AND phone_idx = $2`, orgID, pi.idx).Scan(&n); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		pi.known = n > 0
		out = append(out, pi)
	}
	return out, nil
}

// knownOrgs returns the ids of the organizations that know the number.
func knownOrgs(pis []phoneIndex) []string {
	var known []string
	for _, pi := range pis {
		if pi.known {
			known = append(known, pi.orgID)
		}
	}
	return known
}

// SetSMSOptOut records, for every organization (they share the SMS sender
// number that received the keyword), that phone (E.164) opted out (out) or
// back in, with the keyword that did it. It returns the ids of the
// organizations that have a patient with that number. Callers: the inbound
// SMS webhook. Errors: KindInternal.
func (t *Tx) SetSMSOptOut(phone string, out bool, keyword string) ([]string, error) {
	const op = "store.SetSMSOptOut"
	pis, err := t.phoneIndexes(op, phone)
	if err != nil {
		return nil, err
	}
	now := micros(t.Now())
	for _, pi := range pis {
		if _, err := t.Exec(`INSERT INTO sms_opt_outs (org_id, phone_idx, opted_out, keyword, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (org_id, phone_idx) DO UPDATE SET opted_out = excluded.opted_out, keyword = excluded.keyword, updated_at = excluded.updated_at`,
			pi.orgID, pi.idx, out, keyword, now); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	return knownOrgs(pis), nil
}

// OrgsWithPhone returns, inside a write, the ids of the organizations that
// have a patient with phone (E.164). Errors: KindInternal.
func (t *Tx) OrgsWithPhone(phone string) ([]string, error) {
	pis, err := t.phoneIndexes("store.OrgsWithPhone", phone)
	if err != nil {
		return nil, err
	}
	return knownOrgs(pis), nil
}

// SMSOptedOut reports whether phone (E.164) opted out of orgID's texts.
// Callers: the notification worker, just before each send. Errors:
// KindInternal.
func (db *DB) SMSOptedOut(ctx context.Context, orgID, phone string) (bool, error) {
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return false, err
	}
	var out bool
	err = db.r.QueryRowContext(ctx, `SELECT opted_out FROM sms_opt_outs WHERE org_id = $1 AND phone_idx = $2`,
		orgID, ok.BlindIndex("phone", phone)).Scan(&out)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.SMSOptedOut", Err: err}
	}
	return out, nil
}

// Contact is where a user's notifications go, decrypted for the moment of
// sending. It is PHI: never log it.
type Contact struct {
	Phone    string // E.164, "" when none
	Email    string
	Language string // "en" or "es"
	TimeZone string // IANA name, "" when unknown
}

// NotifyContact decrypts where user userID of orgID is reached: a patient's
// own phone, e-mail, language and zone; for a proxy or staff member the
// account's e-mail (a proxy takes the language and zone of the first
// patient they act for). Callers: the notification worker, which audits
// the read with the send. Errors: KindNotFound, KindInternal.
func (db *DB) NotifyContact(ctx context.Context, orgID, userID string) (Contact, error) {
	var patientID string
	err := db.r.QueryRowContext(ctx, `SELECT id FROM patients WHERE user_id = $1 AND org_id = $2`, userID, orgID).Scan(&patientID)
	switch {
	case err == nil:
		p, err := db.Patient(ctx, orgID, patientID)
		if err != nil {
			return Contact{}, err
		}
		return Contact{Phone: p.Phone, Email: p.Email, Language: p.Language, TimeZone: p.TimeZone}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Contact{}, &sotto.Error{Kind: sotto.KindInternal, Op: "store.NotifyContact", Err: err}
	}
	u, err := db.User(ctx, orgID, userID)
	if err != nil {
		return Contact{}, err
	}
	c := Contact{Email: u.Email, Language: "en"}
	var pid string
	err = db.r.QueryRowContext(ctx, `SELECT patient_id FROM patient_proxies WHERE user_id = $1 ORDER BY created_at LIMIT 1`, userID).Scan(&pid)
	if err == nil {
		if p, err := db.Patient(ctx, orgID, pid); err == nil {
			c.Language, c.TimeZone = p.Language, p.TimeZone
		}
	}
	return c, nil
}

// PushSubscription is one browser's Web Push subscription (the JSON the
// browser gave), decrypted. The endpoint identifies a device: never log it.
type PushSubscription struct {
	ID     string
	UserID string
	JSON   []byte
}

// AddPushSubscription stores a browser's subscription (raw, already
// validated) for user userID, keyed by endpoint; the same endpoint again
// replaces the old row. Errors: KindInternal.
func (t *Tx) AddPushSubscription(orgID, userID, endpoint string, raw []byte) (string, error) {
	const op = "store.AddPushSubscription"
	ok, err := t.orgKey(orgID)
	if err != nil {
		return "", err
	}
	idx := ok.BlindIndex("push", endpoint)
	if _, err := t.Exec(`DELETE FROM push_subscriptions WHERE org_id = $1 AND endpoint_idx = $2`, orgID, idx); err != nil {
		return "", &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	id := NewID()
	enc, err := ok.Seal(raw, crypt.AD("push_subscriptions", "subscription", id))
	if err != nil {
		return "", &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	_, err = t.Exec(`INSERT INTO push_subscriptions (id, org_id, user_id, endpoint_idx, subscription_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, orgID, userID, idx, enc, micros(t.Now()))
	return id, insertErr(err, op, "push subscription")
}

// DeletePushSubscription removes subscription id of user userID (a user
// removes their own; the worker removes one the push service says is
// gone: userID "" then). Errors: KindInternal.
func (t *Tx) DeletePushSubscription(orgID, userID, id string) error {
	q, args := `DELETE FROM push_subscriptions WHERE id = $1 AND org_id = $2`, []any{id, orgID}
	if userID != "" {
		q, args = q+` AND user_id = $3`, append(args, userID)
	}
	if _, err := t.Exec(q, args...); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.DeletePushSubscription", Err: err}
	}
	return nil
}

// PushSubscriptions decrypts the push subscriptions of user userID.
// Errors: KindInternal.
func (db *DB) PushSubscriptions(ctx context.Context, orgID, userID string) ([]PushSubscription, error) {
	const op = "store.PushSubscriptions"
	rows, err := db.r.QueryContext(ctx, `SELECT id, subscription_enc FROM push_subscriptions WHERE org_id = $1 AND user_id = $2 ORDER BY id`, orgID, userID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	type row struct {
		id  string
		enc []byte
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.enc); err != nil {
			rows.Close()
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		rs = append(rs, r)
	}
	rows.Close()
	if len(rs) == 0 {
		return nil, rows.Err()
	}
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]PushSubscription, 0, len(rs))
	for _, r := range rs {
		raw, err := ok.Open(r.enc, crypt.AD("push_subscriptions", "subscription", r.id))
		if err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		if !json.Valid(raw) {
			continue
		}
		out = append(out, PushSubscription{ID: r.id, UserID: userID, JSON: raw})
	}
	return out, nil
}
