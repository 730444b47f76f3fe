package server

import (
	"context"
	"encoding/base32"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestMFAEnrollmentAndRecoveryCodes: a staff member created without an
// authenticator is sent to enroll at first sign-in, enrolls with a code,
// receives ten recovery codes, and each code signs in exactly once.
func TestMFAEnrollmentAndRecoveryCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const email, pw = "new-nurse@example.test", "juniper lantern orbit 27"
		hash, err := auth.HashPassword(pw, auth.TestParams)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(context.Background(), func(tx *store.Tx) error {
			return tx.InsertUser(&sotto.User{OrgID: w.orgA, Role: sotto.RoleNurse, Email: email, Name: "Test New Nurse"}, store.Credentials{PasswordHash: hash})
		})
		if err != nil {
			t.Fatal(err)
		}
		body := func(code string) req {
			return jsonReq("POST", "", map[string]string{"email": email, "password": pw, "totp_code": code})
		}
		at := func(r req, path string) req { r.path = path; return r }

		if r := w.do("anonymous", at(body(""), "/api/v1/auth/login")); r.status != 401 || r.code() != "mfa_enrollment_required" {
			t.Fatalf("first sign-in: %d %s", r.status, r.raw)
		}
		if r := w.do("anonymous", jsonReq("POST", "/api/v1/auth/mfa/enroll", map[string]string{"email": email, "password": "wrong password here"})); r.status != 401 {
			t.Fatalf("enroll with a wrong password: %d %s", r.status, r.raw)
		}
		en := w.must("anonymous", at(body(""), "/api/v1/auth/mfa/enroll"), 200)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.body["secret"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if r := w.do("anonymous", at(body("000000"), "/api/v1/auth/mfa/confirm")); r.status != 401 {
			t.Fatalf("confirm with a wrong code: %d %s", r.status, r.raw)
		}
		w.clock.Add(30 * time.Second)
		conf := w.must("anonymous", at(body(auth.TOTPCode(secret, w.clock.Now())), "/api/v1/auth/mfa/confirm"), 200)
		codes, _ := conf.body["recovery_codes"].([]any)
		if len(codes) != 10 || conf.body["token"] == "" {
			t.Fatalf("confirm answer: %s", conf.raw)
		}
		if r := w.do("anonymous", at(body(""), "/api/v1/auth/mfa/enroll")); r.status != 409 || r.code() != "mfa_already_enrolled" {
			t.Fatalf("second enrollment: %d %s", r.status, r.raw)
		}
		if r := w.do("anonymous", at(body(""), "/api/v1/auth/login")); r.status != 401 || r.code() != "mfa_required" {
			t.Fatalf("sign-in after enrollment: %d %s", r.status, r.raw)
		}
		w.clock.Add(30 * time.Second)
		w.must("anonymous", at(body(auth.TOTPCode(secret, w.clock.Now())), "/api/v1/auth/login"), 200)

		rc := jsonReq("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw, "recovery_code": codes[3].(string)})
		w.must("anonymous", rc, 200)
		if r := w.do("anonymous", rc); r.status != 401 || r.code() != "invalid_credentials" {
			t.Fatalf("recovery code reused: %d %s", r.status, r.raw)
		}
		n, err := db.RecoveryCodesLeft(context.Background(), mustUserID(t, db, email))
		if err != nil || n != 9 {
			t.Fatalf("recovery codes left: %d %v", n, err)
		}
	})
}

func mustUserID(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	u, _, _, err := db.UserForLogin(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
