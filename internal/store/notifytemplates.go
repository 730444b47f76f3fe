package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"sotto"
	"sotto/internal/crypt"
)

// NotifyTemplate is an organization's own text for one notification kind
// in one language. The caller (the server) has parsed it with
// notify.ParseTemplate before storing it.
type NotifyTemplate struct {
	Kind      string    `json:"kind"`
	Lang      string    `json:"lang"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// NotifyTemplates returns orgID's own templates, by kind then language.
// Errors: KindInternal.
func (db *DB) NotifyTemplates(ctx context.Context, orgID string) ([]NotifyTemplate, error) {
	const op = "store.NotifyTemplates"
	rows, err := db.r.QueryContext(ctx, `SELECT kind, lang, body, updated_at, updated_by FROM notify_templates
		WHERE org_id = $1 ORDER BY kind, lang`, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	var out []NotifyTemplate
	for rows.Next() {
		var t NotifyTemplate
		var at int64
		if err := rows.Scan(&t.Kind, &t.Lang, &t.Text, &at, &t.UpdatedBy); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		t.UpdatedAt = fromMicros(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// NotifyTemplate returns orgID's own template of kind in lang. Callers:
// the notification sender, at each send. Errors: KindNotFound (the
// organization uses the shipped default), KindInternal.
func (db *DB) NotifyTemplate(ctx context.Context, orgID, kind, lang string) (NotifyTemplate, error) {
	t := NotifyTemplate{Kind: kind, Lang: lang}
	var at int64
	err := db.r.QueryRowContext(ctx, `SELECT body, updated_at, updated_by FROM notify_templates
		WHERE org_id = $1 AND kind = $2 AND lang = $3`, orgID, kind, lang).Scan(&t.Text, &at, &t.UpdatedBy)
	if err != nil {
		return t, notFound(err, "store.NotifyTemplate", "No template of the organization's own.")
	}
	t.UpdatedAt = fromMicros(at)
	return t, nil
}

// SetNotifyTemplate stores text (already parsed and accepted by the
// caller) as orgID's template of kind in lang, replacing any earlier one;
// by is the admin's user id. Errors: KindInternal.
func (t *Tx) SetNotifyTemplate(orgID, kind, lang, text, by string) error {
	_, err := t.Exec(`INSERT INTO notify_templates (org_id, kind, lang, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id, kind, lang) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		orgID, kind, lang, text, micros(t.Now()), by)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.SetNotifyTemplate", Err: err}
	}
	return nil
}

// DeleteNotifyTemplate removes orgID's template of kind in lang, so the
// shipped default applies again. Errors: KindNotFound (none was set),
// KindInternal.
func (t *Tx) DeleteNotifyTemplate(orgID, kind, lang string) error {
	res, err := t.Exec(`DELETE FROM notify_templates WHERE org_id = $1 AND kind = $2 AND lang = $3`, orgID, kind, lang)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.DeleteNotifyTemplate", Err: err}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "No template of the organization's own.")
	}
	return nil
}

// OnCall is who takes an organization's urgent items out of hours: a
// staff member and, optionally, the number (E.164) that reaches them now.
type OnCall struct {
	UserID    string    `json:"user_id"`
	Phone     string    `json:"phone,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// OnCall decrypts orgID's on-call setting. Callers: the staff-alert
// planner and the admin API (which audits the read). Errors: KindNotFound
// (nobody is on call), KindInternal.
func (db *DB) OnCall(ctx context.Context, orgID string) (OnCall, error) {
	const op = "store.OnCall"
	var oc OnCall
	var enc []byte
	var at int64
	err := db.r.QueryRowContext(ctx, `SELECT user_id, phone_enc, updated_at, updated_by FROM on_call WHERE org_id = $1`, orgID).
		Scan(&oc.UserID, &enc, &at, &oc.UpdatedBy)
	if err != nil {
		return oc, notFound(err, op, "Nobody is on call.")
	}
	oc.UpdatedAt = fromMicros(at)
	if len(enc) > 0 {
		ok, err := db.OrgKey(ctx, orgID)
		if err != nil {
			return oc, err
		}
		raw, err := ok.Open(enc, crypt.AD("on_call", "phone", orgID))
		if err != nil {
			return oc, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		oc.Phone = string(raw)
	}
	return oc, nil
}

// SetOnCall makes staff member oc.UserID (checked by the caller to be
// active staff of orgID) the one on call, reached at oc.Phone (E.164,
// validated by the caller; "" for push only). by is the admin's id.
// Errors: KindNotFound (no such user), KindInternal.
func (t *Tx) SetOnCall(orgID string, oc OnCall, by string) error {
	const op = "store.SetOnCall"
	var enc []byte
	if oc.Phone != "" {
		ok, err := t.orgKey(orgID)
		if err != nil {
			return err
		}
		if enc, err = ok.Seal([]byte(oc.Phone), crypt.AD("on_call", "phone", orgID)); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	res, err := t.Exec(`INSERT INTO on_call (org_id, user_id, phone_enc, updated_at, updated_by)
		SELECT org_id, id, $3, $4, $5 FROM users WHERE id = $2 AND org_id = $1
		ON CONFLICT (org_id) DO UPDATE SET user_id = excluded.user_id, phone_enc = excluded.phone_enc,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		orgID, oc.UserID, enc, micros(t.Now()), by)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	return nil
}

// ClearOnCall records that nobody is on call for orgID. Errors:
// KindInternal.
func (t *Tx) ClearOnCall(orgID string) error {
	if _, err := t.Exec(`DELETE FROM on_call WHERE org_id = $1`, orgID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.ClearOnCall", Err: err}
	}
	return nil
}

// StaffAlertTargets returns the active staff of orgID who should hear of a
// new item in conversation convID: its assignee when it has one, else the
// members of its department; only those with a push subscription when
// pushOnly. Callers: the staff-alert planner. Errors: KindInternal.
func (db *DB) StaffAlertTargets(ctx context.Context, orgID, convID string, pushOnly bool) ([]string, error) {
	const op = "store.StaffAlertTargets"
	var assignee, dept sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT assignee_id, department_id FROM conversations WHERE id = $1 AND org_id = $2`, convID, orgID).
		Scan(&assignee, &dept)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	var q string
	var args []any
	switch {
	case assignee.Valid && assignee.String != "":
		q, args = `SELECT u.id FROM users u WHERE u.id = $1 AND u.org_id = $2 AND u.disabled = $3`, []any{assignee.String, orgID, false}
	case dept.Valid && dept.String != "":
		q, args = `SELECT u.id FROM users u JOIN department_members d ON d.user_id = u.id
			WHERE d.department_id = $1 AND u.org_id = $2 AND u.disabled = $3`, []any{dept.String, orgID, false}
	default:
		return nil, nil
	}
	if pushOnly {
		q += ` AND EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.user_id = u.id)`
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY u.id`, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// HasStaffPush reports whether any staff member of orgID has a push
// subscription. Callers: the send path's cached check before it asks for
// staff alerts. Errors: KindInternal.
func (db *DB) HasStaffPush(ctx context.Context, orgID string) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM push_subscriptions p JOIN users u ON u.id = p.user_id
		WHERE p.org_id = $1 AND u.role NOT IN ('patient', 'proxy')`, orgID).Scan(&n)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.HasStaffPush", Err: err}
	}
	return n > 0, nil
}
