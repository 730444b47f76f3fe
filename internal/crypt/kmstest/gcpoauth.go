package kmstest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CloudKMSScope is the OAuth scope a Cloud KMS token must carry.
const CloudKMSScope = "https://www.googleapis.com/auth/cloudkms"

// ServiceAccountFile writes a service-account key file (the JSON that
// GOOGLE_APPLICATION_CREDENTIALS names) whose token_uri is this fake's
// token endpoint, and returns its path. A client using Application
// Default Credentials with it exchanges a signed JWT for [GCP.Token].
func (f *GCP) ServiceAccountFile(t testing.TB) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(f.accountKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "sotto-test",
		"private_key_id": "test-key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   f.serviceAccount.email,
		"client_id":      "100000000000000000001",
		"token_uri":      f.URL + "/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveToken is the OAuth 2.0 JWT-bearer grant (RFC 7523) Google's token
// endpoint runs for service accounts: it verifies the RS256 assertion
// against the service account's public key and its iss, aud, scope and
// lifetime, then returns the access token Cloud KMS accepts.
func (f *GCP) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_request", "malformed form")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("unsupported_grant_type", "Invalid grant_type.")
		return
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}
	if !verifyRS256(r.PostForm.Get("assertion"), &f.accountKey().PublicKey, &claims) {
		fail("invalid_grant", "Invalid JWT Signature.")
		return
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != f.serviceAccount.email:
		fail("invalid_grant", "Invalid issuer.")
	case claims.Aud != f.URL+"/token":
		fail("invalid_grant", "Invalid JWT audience.")
	case !contains(strings.Fields(claims.Scope), CloudKMSScope):
		fail("invalid_scope", "The scope does not include Cloud KMS.")
	case claims.Exp < now || claims.Iat > now+300 || claims.Exp-claims.Iat > 3600:
		fail("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	default:
		f.tokenRequests.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"access_token": f.Token, "token_type": "Bearer", "expires_in": 3599})
	}
}

// verifyRS256 checks a compact JWS signed with RS256 by pub and decodes
// its payload into claims.
func verifyRS256(jwt string, pub *rsa.PublicKey, claims any) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdrJSON, &hdr) != nil || hdr.Alg != "RS256" {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return false
	}
	return json.Unmarshal(payload, claims) == nil
}
