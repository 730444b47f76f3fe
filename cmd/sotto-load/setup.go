package main

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"sotto/internal/auth"
)

// parseTOTPSecret accepts the otpauth:// URI printed by "sotto admin
// create-user" and "sotto serve --demo", or its bare base32 secret.
func parseTOTPSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "otpauth://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--staff-totp-secret: not an otpauth URI: %w", err)
		}
		s = u.Query().Get("secret")
	}
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
	s = strings.TrimRight(s, "=")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(secret) < 16 {
		return nil, errors.New("--staff-totp-secret: need the base32 secret (16+ bytes) or the otpauth:// URI")
	}
	return secret, nil
}

// staffSignIn returns a staff session token: the saved one while it still
// works, else a new sign-in with a TOTP code computed from the secret.
// Each 30-second code signs in once per account, so a rejected code is
// retried with the next step's code.
func staffSignIn(ctx context.Context, a *api, cfg *config, st *state, note func(string)) (string, error) {
	if st.StaffToken != "" {
		if m, err := a.me(ctx, st.StaffToken); err == nil && isStaffRole(m.Role) {
			return st.StaffToken, nil
		}
	}
	secret, err := parseTOTPSecret(cfg.staffTOTP)
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		tok, err := a.login(ctx, cfg.staffEmail, cfg.staffPassword, auth.TOTPCode(secret, time.Now()))
		if err == nil {
			m, err := a.me(ctx, tok)
			if err != nil {
				return "", err
			}
			if !isStaffRole(m.Role) {
				return "", fmt.Errorf("%s is a %s account, not staff", cfg.staffEmail, m.Role)
			}
			st.StaffToken = tok
			return tok, nil
		}
		var wait time.Duration
		switch {
		case attempt >= 2:
			return "", fmt.Errorf("staff sign-in: %w (check --staff-email, --staff-password and --staff-totp-secret)", err)
		case codeOf(err) == "invalid_credentials":
			// Most likely this step's code was used already (by an
			// earlier run): wait for the next one.
			step := auth.TOTPPeriod
			wait = step - time.Duration(time.Now().UnixNano())%step + time.Second
		case codeOf(err) == "rate_limited" && retryAfter(err) <= time.Minute:
			wait = max(retryAfter(err), time.Second)
		default:
			return "", fmt.Errorf("staff sign-in: %w", err)
		}
		note(fmt.Sprintf("staff sign-in refused (%s); retrying with the next TOTP code in %s", codeOf(err), wait.Round(time.Second)))
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

func isStaffRole(r string) bool { return r != "" && r != "patient" && r != "proxy" }

// discoverDepartment finds a department queue the staff account belongs
// to, without any API to list departments: the candidates are the
// departments of the conversations it can see, and each is tried by
// opening a conversation (in that queue) about a probe patient with no
// care team or department, which only a member of the queue may do.
func discoverDepartment(ctx context.Context, a *api, token string, st *state) (string, error) {
	var list conversationsAnswer
	if err := a.do(ctx, "list_conversations", "GET", "/api/v1/conversations?queue=all&limit=100", token, nil, &list); err != nil {
		return "", err
	}
	freq := map[string]int{}
	for _, c := range list.Conversations {
		if c.DepartmentID != "" {
			freq[c.DepartmentID]++
		}
	}
	cands := make([]string, 0, len(freq))
	for d := range freq {
		cands = append(cands, d)
	}
	sort.Slice(cands, func(i, j int) bool {
		if freq[cands[i]] != freq[cands[j]] {
			return freq[cands[i]] > freq[cands[j]]
		}
		return cands[i] < cands[j]
	})
	if len(cands) == 0 {
		return "", errors.New("the staff account sees no conversation with a department: pass --department-id")
	}
	if st.ProbePatientID == "" {
		p := &patientInfo{Index: -1, MRN: fmt.Sprintf("LOAD-%s-PROBE-%s", st.RunID, newRunID()[:4]), BirthDate: "1970-01-01"}
		id, err := createPatientRecord(ctx, a, token, p, "")
		if err != nil {
			return "", err
		}
		st.ProbePatientID = id
	}
	for _, d := range cands {
		body := map[string]string{"patient_id": st.ProbePatientID, "subject": "Load test department probe (fake)", "category": "general", "department_id": d}
		err := a.do(ctx, "probe_department", "POST", "/api/v1/conversations", token, body, nil)
		if err == nil {
			return d, nil
		}
		if statusOf(err) != http.StatusForbidden {
			return "", err
		}
	}
	return "", fmt.Errorf("the staff account is a member of none of the %d departments it sees conversations in: pass --department-id", len(cands))
}

// createPatientRecord registers the patient record of p (invented data)
// in department dept (none when empty) and returns its id.
func createPatientRecord(ctx context.Context, a *api, token string, p *patientInfo, dept string) (string, error) {
	body := map[string]any{
		"given_name": "Loadtest", "family_name": fmt.Sprintf("Fake-%d", p.Index), "birth_date": p.BirthDate, "sex": "unknown",
		"mrn": p.MRN, "language": "en", "time_zone": "America/Chicago", "department_ids": []string{},
	}
	if p.Email != "" {
		body["email"] = p.Email
	}
	if dept != "" {
		body["department_ids"] = []string{dept}
	}
	var out idAnswer
	if err := a.do(ctx, "create_patient", "POST", "/api/v1/patients", token, body, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// setupOutcome says how a patient became ready.
type setupOutcome int

const (
	outcomeReused setupOutcome = iota
	outcomeSignedIn
	outcomeCreated
)

// ensurePatient makes patient i ready: the saved session if it still
// works, else a password sign-in, else a new record, invitation,
// acceptance and conversation.
func ensurePatient(ctx context.Context, a *api, staffToken, dept string, st *state, i int) (*patientInfo, setupOutcome, error) {
	if p := st.patient(i); p.ready() {
		_, err := a.me(ctx, p.Token)
		if err == nil {
			return p, outcomeReused, nil
		}
		if statusOf(err) != http.StatusUnauthorized {
			return nil, 0, err
		}
		if tok, err := a.login(ctx, p.Email, p.Password, ""); err == nil {
			p.Token = tok
			return p, outcomeSignedIn, nil
		}
	}
	sfx := newRunID()[:4] // a rerun after a lost state must not reuse an MRN or e-mail address
	p := &patientInfo{Index: i, MRN: fmt.Sprintf("LOAD-%s-%d-%s", st.RunID, i, sfx),
		Email:     fmt.Sprintf("load-%s-%d-%s@load.sotto.example", st.RunID, i, sfx),
		BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1940+i%60, 1+i%12, 1+i%28)}
	var err error
	if p.PatientID, err = createPatientRecord(ctx, a, staffToken, p, dept); err != nil {
		return nil, 0, err
	}
	var inv struct {
		Token string `json:"token"`
	}
	if err := a.do(ctx, "invite", "POST", "/api/v1/patients/"+p.PatientID+"/invite", staffToken, nil, &inv); err != nil {
		return nil, 0, err
	}
	for try := 0; ; try++ {
		p.Password = auth.GeneratePassword()
		var t tokenAnswer
		body := map[string]string{"birth_date": p.BirthDate, "password": p.Password, "email": p.Email}
		err = a.do(ctx, "accept_invite", "POST", "/api/v1/invites/"+url.PathEscape(inv.Token)+"/accept", "", body, &t)
		if err == nil {
			p.Token = t.Token
			break
		}
		if !strings.HasPrefix(codeOf(err), "password_") || try == 3 {
			return nil, 0, err
		}
	}
	var conv idAnswer
	body := map[string]string{"subject": fmt.Sprintf("Load test conversation %d (fake)", i), "category": "general", "department_id": dept}
	if err := a.do(ctx, "create_conversation", "POST", "/api/v1/conversations", p.Token, body, &conv); err != nil {
		return nil, 0, err
	}
	p.ConversationID = conv.ID
	st.setPatient(p)
	return p, outcomeCreated, nil
}
