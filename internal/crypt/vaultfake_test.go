package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeVault is a faithful in-process stand-in for Vault's Transit engine:
// it checks X-Vault-Token, really encrypts with AES-256-GCM per key version,
// emits "vault:vN:" ciphertexts, honours min_decryption_version and answers
// errors in Vault's {"errors": [...]} shape.
type fakeVault struct {
	token    string
	srv      *httptest.Server
	requests atomic.Int64
	mode     atomic.Value // "" (normal), "500" or "garbage"

	mu         sync.Mutex
	keys       map[string][][]byte // name -> versions (index 0 is v1)
	minDecrypt map[string]int
}

// newFakeVault starts a fake Vault on loopback with one key, "sotto".
func newFakeVault(t *testing.T, token string) *fakeVault {
	t.Helper()
	f := &fakeVault{token: token, keys: map[string][][]byte{}, minDecrypt: map[string]int{}}
	f.mode.Store("")
	f.rotate("sotto")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transit/encrypt/{name}", f.encrypt)
	mux.HandleFunc("POST /v1/transit/decrypt/{name}", f.decrypt)
	f.srv = httptest.NewServer(f.auth(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// rotate adds a new version of key name (creating it if needed).
func (f *fakeVault) rotate(name string) {
	k := make([]byte, 32)
	rand.Read(k)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[name] = append(f.keys[name], k)
	if f.minDecrypt[name] == 0 {
		f.minDecrypt[name] = 1
	}
}

// setMinDecryptionVersion mirrors Vault's key config of the same name.
func (f *fakeVault) setMinDecryptionVersion(name string, v int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.minDecrypt[name] = v
}

func (f *fakeVault) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		switch f.mode.Load() {
		case "500":
			vaultErr(w, http.StatusInternalServerError, "internal error")
			return
		case "garbage":
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "<html>proxy</html>")
			return
		}
		if r.Header.Get("X-Vault-Token") != f.token {
			vaultErr(w, http.StatusForbidden, "permission denied")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			vaultErr(w, http.StatusBadRequest, "unexpected content type "+ct)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func vaultErr(w http.ResponseWriter, status int, msgs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"errors": msgs})
}

func vaultOK(w http.ResponseWriter, data map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"request_id": "fake", "data": data})
}

func gcm(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a
}

func (f *fakeVault) encrypt(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Plaintext string `json:"plaintext"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	pt, err := base64.StdEncoding.DecodeString(req.Plaintext)
	if err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to base64-decode plaintext")
		return
	}
	f.mu.Lock()
	versions := f.keys[r.PathValue("name")]
	f.mu.Unlock()
	if len(versions) == 0 {
		vaultErr(w, http.StatusBadRequest, "encryption key not found")
		return
	}
	v := len(versions)
	a := gcm(versions[v-1])
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	ct := a.Seal(nonce, nonce, pt, nil)
	vaultOK(w, map[string]any{
		"ciphertext":  fmt.Sprintf("vault:v%d:%s", v, base64.StdEncoding.EncodeToString(ct)),
		"key_version": v,
	})
}

func (f *fakeVault) decrypt(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	rest, ok := strings.CutPrefix(req.Ciphertext, "vault:v")
	if !ok {
		vaultErr(w, http.StatusBadRequest, "invalid ciphertext: no prefix")
		return
	}
	vs, b64, ok := strings.Cut(rest, ":")
	v, err := strconv.Atoi(vs)
	if !ok || err != nil {
		vaultErr(w, http.StatusBadRequest, "invalid ciphertext: could not parse version")
		return
	}
	f.mu.Lock()
	versions, minV := f.keys[r.PathValue("name")], f.minDecrypt[r.PathValue("name")]
	f.mu.Unlock()
	switch {
	case len(versions) == 0:
		vaultErr(w, http.StatusBadRequest, "encryption key not found")
		return
	case v > len(versions) || v < 1:
		vaultErr(w, http.StatusBadRequest, "invalid key version")
		return
	case v < minV:
		vaultErr(w, http.StatusBadRequest, "ciphertext or signature version is disallowed by policy (too old)")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	a := gcm(versions[v-1])
	if err != nil || len(raw) < a.NonceSize() {
		vaultErr(w, http.StatusBadRequest, "invalid ciphertext: could not decode")
		return
	}
	pt, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
	if err != nil {
		vaultErr(w, http.StatusBadRequest, "cipher: message authentication failed")
		return
	}
	vaultOK(w, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)})
}
