package kmstest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// GCP is a stand-in for Google Cloud KMS's REST API:
// POST /v1/{cryptoKey}:encrypt and :decrypt with Google's JSON shapes
// (base64 bytes, int64 CRC32C values as strings), including its CRC32C
// integrity protocol: it rejects a request whose checksums do not match,
// reports verifiedPlaintextCrc32c/verifiedAdditionalAuthenticatedDataCrc32c,
// and returns ciphertextCrc32c/plaintextCrc32c. Requests need
// "Authorization: Bearer {Token}". Keys really encrypt with AES-256-GCM,
// authenticating the additional authenticated data; ciphertexts embed the
// key version, and decrypting under another key fails as Cloud KMS does
// (400 INVALID_ARGUMENT). It also serves an OAuth 2.0 token endpoint for
// service-account credentials (see [GCP.ServiceAccountFile]). Errors use
// Google's {"error": {"code", "message", "status"}} bodies.
type GCP struct {
	URL   string // base URL, the client's endpoint
	Token string // the access token Cloud KMS accepts

	srv            *httptest.Server
	requests       atomic.Int64
	missingCRC     atomic.Int64
	tokenRequests  atomic.Int64
	fault          atomic.Value // "", "500", "corrupt", "unverified"
	failNext       atomic.Int64
	serviceAccount serviceAccount

	mu   sync.Mutex
	keys map[string]*gcpKey
}

type gcpKey struct {
	versions [][]byte // index 0 is version 1
	primary  int      // index of the primary version
	denied   bool
}

// gcpKeyName is the resource name of a CryptoKey.
var gcpKeyName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

// NewGCP starts a fake Cloud KMS that accepts the bearer token token. It
// stops when t ends.
func NewGCP(t testing.TB, token string) *GCP {
	t.Helper()
	f := &GCP{Token: token, keys: map[string]*gcpKey{}}
	f.fault.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{rest...}", f.serveKMS)
	mux.HandleFunc("POST /token", f.serveToken)
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// CreateKey adds a symmetric CryptoKey with one version. name is its full
// resource name, projects/P/locations/L/keyRings/R/cryptoKeys/K.
func (f *GCP) CreateKey(name string) {
	if !gcpKeyName.MatchString(name) {
		panic("kmstest: bad CryptoKey name " + name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[name] = &gcpKey{versions: [][]byte{randomKey()}}
}

// RotateKey adds a version to key name and makes it primary; older
// versions still decrypt.
func (f *GCP) RotateKey(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[name]; k != nil {
		k.versions = append(k.versions, randomKey())
		k.primary = len(k.versions) - 1
	}
}

// Deny makes every use of key name answer 403 PERMISSION_DENIED.
func (f *GCP) Deny(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[name]; k != nil {
		k.denied = true
	}
}

// SetFault changes every KMS answer: "500" (INTERNAL), "corrupt" (a
// response byte changed in transit, checksums left as computed),
// "unverified" (the verified* flags false, as when the request checksums
// were lost); "" restores normal service.
func (f *GCP) SetFault(mode string) { f.fault.Store(mode) }

// FailNext makes the next n KMS requests answer 503 UNAVAILABLE.
func (f *GCP) FailNext(n int) { f.failNext.Store(int64(n)) }

// Requests counts the KMS requests received (token requests excluded).
func (f *GCP) Requests() int64 { return f.requests.Load() }

// MissingChecksums counts KMS requests that lacked a CRC32C field the
// integrity protocol expects.
func (f *GCP) MissingChecksums() int64 { return f.missingCRC.Load() }

// TokenRequests counts successful OAuth token grants.
func (f *GCP) TokenRequests() int64 { return f.tokenRequests.Load() }

func gcpErr(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func gcpOK(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

// crc is CRC32C (Castagnoli), the checksum Cloud KMS uses.
func crc(b []byte) int64 { return int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))) }

// int64Field is a google.protobuf.Int64Value in proto3 JSON: a string
// (or number) holding the value, absent when unset.
type int64Field struct {
	v   int64
	set bool
}

func (i *int64Field) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	i.v, i.set = v, true
	return nil
}

type gcpRequest struct {
	Plaintext                         []byte     `json:"plaintext"`
	Ciphertext                        []byte     `json:"ciphertext"`
	AdditionalAuthenticatedData       []byte     `json:"additionalAuthenticatedData"`
	PlaintextCrc32c                   int64Field `json:"plaintextCrc32c"`
	CiphertextCrc32c                  int64Field `json:"ciphertextCrc32c"`
	AdditionalAuthenticatedDataCrc32c int64Field `json:"additionalAuthenticatedDataCrc32c"`
}

func (f *GCP) serveKMS(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.failNext.Add(-1) >= 0 {
		gcpErr(w, http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable.")
		return
	}
	if f.fault.Load() == "500" {
		gcpErr(w, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		gcpErr(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	rest := r.PathValue("rest")
	name, op, _ := strings.Cut(rest, ":")
	if op != "encrypt" && op != "decrypt" {
		gcpErr(w, http.StatusNotFound, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	var req gcpRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	f.mu.Lock()
	k := f.keys[name]
	var keyCopy gcpKey
	if k != nil {
		keyCopy = gcpKey{versions: append([][]byte(nil), k.versions...), primary: k.primary, denied: k.denied}
	}
	f.mu.Unlock()
	switch {
	case k == nil:
		gcpErr(w, http.StatusNotFound, "NOT_FOUND", "CryptoKey "+name+" not found.")
		return
	case keyCopy.denied:
		gcpErr(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'cloudkms.cryptoKeyVersions.useTo"+strings.ToUpper(op[:1])+op[1:]+"' denied on resource '"+name+"' (or it may not exist).")
		return
	case len(req.AdditionalAuthenticatedData) > 64<<10:
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The additional authenticated data must be no larger than 64KiB.")
		return
	case req.AdditionalAuthenticatedDataCrc32c.set && req.AdditionalAuthenticatedDataCrc32c.v != crc(req.AdditionalAuthenticatedData):
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The checksum in field additional_authenticated_data_crc32c did not match the data in field additional_authenticated_data.")
		return
	}
	if !req.AdditionalAuthenticatedDataCrc32c.set {
		f.missingCRC.Add(1)
	}
	if op == "encrypt" {
		f.encrypt(w, name, &keyCopy, &req)
	} else {
		f.decrypt(w, name, &keyCopy, &req)
	}
}

func (f *GCP) encrypt(w http.ResponseWriter, name string, k *gcpKey, req *gcpRequest) {
	switch {
	case len(req.Plaintext) == 0:
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Plaintext is required.")
		return
	case len(req.Plaintext) > 64<<10:
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The plaintext must be no larger than 64KiB.")
		return
	case req.PlaintextCrc32c.set && req.PlaintextCrc32c.v != crc(req.Plaintext):
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The checksum in field plaintext_crc32c did not match the data in field plaintext.")
		return
	}
	if !req.PlaintextCrc32c.set {
		f.missingCRC.Add(1)
	}
	version := name + "/cryptoKeyVersions/" + strconv.Itoa(k.primary+1)
	hdr := []byte{0x12, 'F', 'G'}
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(version)))
	hdr = append(hdr, version...)
	a := newGCM(k.versions[k.primary])
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	ct := append(append(hdr, nonce...), a.Seal(nil, nonce, req.Plaintext, append(append([]byte(nil), hdr...), req.AdditionalAuthenticatedData...))...)
	sum := crc(ct)
	verified := f.fault.Load() != "unverified"
	if f.fault.Load() == "corrupt" {
		ct[len(ct)-1] ^= 1
	}
	gcpOK(w, map[string]any{
		"name":                    version,
		"ciphertext":              ct,
		"ciphertextCrc32c":        strconv.FormatInt(sum, 10),
		"verifiedPlaintextCrc32c": verified && req.PlaintextCrc32c.set,
		"verifiedAdditionalAuthenticatedDataCrc32c": verified && req.AdditionalAuthenticatedDataCrc32c.set,
		"protectionLevel": "SOFTWARE",
	})
}

func (f *GCP) decrypt(w http.ResponseWriter, name string, k *gcpKey, req *gcpRequest) {
	if req.CiphertextCrc32c.set && req.CiphertextCrc32c.v != crc(req.Ciphertext) {
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The checksum in field ciphertext_crc32c did not match the data in field ciphertext.")
		return
	}
	if !req.CiphertextCrc32c.set {
		f.missingCRC.Add(1)
	}
	invalid := func() {
		gcpErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")
	}
	ct := req.Ciphertext
	if len(ct) < 5 || !bytes.Equal(ct[:3], []byte{0x12, 'F', 'G'}) {
		invalid()
		return
	}
	n := int(binary.BigEndian.Uint16(ct[3:5]))
	if len(ct) < 5+n+12+16 {
		invalid()
		return
	}
	hdr, version := ct[:5+n], string(ct[5:5+n])
	vs, ok := strings.CutPrefix(version, name+"/cryptoKeyVersions/")
	v, err := strconv.Atoi(vs)
	if !ok || err != nil || v < 1 || v > len(k.versions) {
		invalid()
		return
	}
	a := newGCM(k.versions[v-1])
	body := ct[len(hdr):]
	pt, err := a.Open(nil, body[:a.NonceSize()], body[a.NonceSize():], append(append([]byte(nil), hdr...), req.AdditionalAuthenticatedData...))
	if err != nil {
		invalid()
		return
	}
	sum := crc(pt)
	if f.fault.Load() == "corrupt" {
		pt[0] ^= 1
	}
	gcpOK(w, map[string]any{
		"plaintext":       pt,
		"plaintextCrc32c": strconv.FormatInt(sum, 10),
		"usedPrimary":     v-1 == k.primary,
		"protectionLevel": "SOFTWARE",
	})
}

// serviceAccount is the key pair behind ServiceAccountFile.
type serviceAccount struct {
	once  sync.Once
	key   *rsa.PrivateKey
	email string
}

// accountKey returns the service account's RSA key, generating it once.
func (f *GCP) accountKey() *rsa.PrivateKey {
	f.serviceAccount.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		f.serviceAccount.key = k
		f.serviceAccount.email = "sotto@sotto-test.iam.gserviceaccount.com"
	})
	return f.serviceAccount.key
}
