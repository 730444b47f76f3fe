// Package kmstest runs faithful local stand-ins for AWS KMS and Google
// Cloud KMS on loopback, so the real clients in package crypt (and the
// commands that configure them) are tested over HTTP without a cloud
// account. Only tests may import it.
package kmstest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// AWSAccount is the account id in the fake's key ARNs.
const AWSAccount = "111122223333"

// AWS is a stand-in for AWS KMS speaking the AWS JSON 1.1 protocol
// (POST /, X-Amz-Target: TrentService.Encrypt or TrentService.Decrypt).
// Every request must carry a valid Signature Version 4 for the fake's
// region and access key pair; the fake recomputes it. Keys really encrypt
// with AES-256-GCM, authenticating the encryption context; a ciphertext
// blob embeds the key id and backing-key version, and Decrypt enforces the
// requested KeyId and the context. Errors use AWS's {"__type", "message"}
// bodies.
type AWS struct {
	URL         string // base URL, for kms.Options.BaseEndpoint
	Region      string
	AccessKeyID string
	SecretKey   string

	srv      *httptest.Server
	requests atomic.Int64
	fault    atomic.Value // "", "500", "403" or "garbage"

	mu       sync.Mutex
	keys     map[string]*awsKey // by key id (a UUID)
	aliases  map[string]string  // "alias/name" -> key id
	contexts []map[string]string
}

type awsKey struct {
	versions [][]byte // backing keys; the last encrypts
	denied   bool
}

// NewAWS starts a fake AWS KMS for region that accepts requests signed
// with the access key pair (akid, secret). It stops when t ends.
func NewAWS(t testing.TB, region, akid, secret string) *AWS {
	t.Helper()
	f := &AWS{Region: region, AccessKeyID: akid, SecretKey: secret, keys: map[string]*awsKey{}, aliases: map[string]string{}}
	f.fault.Store("")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// CreateKey adds a symmetric key, optionally reachable as alias (e.g.
// "alias/sotto"), and returns its ARN.
func (f *AWS) CreateKey(alias string) string {
	id := newUUID()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = &awsKey{versions: [][]byte{randomKey()}}
	if alias != "" {
		f.aliases[alias] = id
	}
	return f.arn(id)
}

// RotateKey gives key (any accepted KeyId form) new backing key material,
// as KMS's automatic or on-demand rotation does: new ciphertexts use it,
// old ones still decrypt.
func (f *AWS) RotateKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, _ := f.resolve(key); k != nil {
		k.versions = append(k.versions, randomKey())
	}
}

// Deny makes every use of key answer AccessDeniedException, as a key
// policy without kms:Encrypt/kms:Decrypt for the caller does.
func (f *AWS) Deny(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, _ := f.resolve(key); k != nil {
		k.denied = true
	}
}

// SetFault makes every request fail: "500" (KMSInternalException), "403"
// (MissingAuthenticationTokenException, as from a wrong endpoint),
// "garbage" (an HTML page with status 200); "" restores normal service.
func (f *AWS) SetFault(mode string) { f.fault.Store(mode) }

// Requests counts the HTTP requests the fake received.
func (f *AWS) Requests() int64 { return f.requests.Load() }

// Contexts returns the encryption contexts of the Encrypt requests served.
func (f *AWS) Contexts() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.contexts...)
}

func (f *AWS) arn(id string) string {
	return "arn:aws:kms:" + f.Region + ":" + AWSAccount + ":key/" + id
}

// resolve finds a key by id, key ARN, alias name or alias ARN. Callers
// hold f.mu.
func (f *AWS) resolve(keyID string) (*awsKey, string) {
	id := keyID
	prefix := "arn:aws:kms:" + f.Region + ":" + AWSAccount + ":"
	if rest, ok := strings.CutPrefix(id, prefix); ok {
		id = rest
	}
	if strings.HasPrefix(id, "alias/") {
		id = f.aliases[id]
	} else {
		id = strings.TrimPrefix(id, "key/")
	}
	if k := f.keys[id]; k != nil {
		return k, id
	}
	return nil, ""
}

type awsFailure struct {
	status int
	typ    string
	msg    string
}

func (e *awsFailure) Error() string { return e.typ + ": " + e.msg }

func awsErr(status int, typ, msg string) *awsFailure { return &awsFailure{status, typ, msg} }

func (f *AWS) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	w.Header().Set("x-amzn-RequestId", newUUID())
	switch f.fault.Load() {
	case "500":
		awsReply(w, awsErr(http.StatusInternalServerError, "KMSInternalException", "The request was rejected because an internal exception occurred."), nil)
		return
	case "403":
		awsReply(w, awsErr(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"), nil)
		return
	case "garbage":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>captive portal</html>")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		awsReply(w, awsErr(http.StatusBadRequest, "SerializationException", "could not read body"), nil)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		awsReply(w, awsErr(http.StatusNotFound, "UnknownOperationException", ""), nil)
		return
	}
	if sf := verifySigV4(r, body, "kms", f.Region, f.AccessKeyID, f.SecretKey, time.Now()); sf != nil {
		awsReply(w, awsErr(sf.status, sf.typ, sf.msg), nil)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		awsReply(w, awsErr(http.StatusBadRequest, "SerializationException", "unexpected content type "+ct), nil)
		return
	}
	var out any
	switch r.Header.Get("X-Amz-Target") {
	case "TrentService.Encrypt":
		out, err = f.encrypt(body)
	case "TrentService.Decrypt":
		out, err = f.decrypt(body)
	default:
		err = awsErr(http.StatusBadRequest, "UnknownOperationException", "")
	}
	awsReply(w, err, out)
}

func awsReply(w http.ResponseWriter, err error, out any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var af *awsFailure
	if errors.As(err, &af) {
		w.WriteHeader(af.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": af.typ, "message": af.msg})
		return
	}
	json.NewEncoder(w).Encode(out)
}

type awsRequest struct {
	KeyId             string
	Plaintext         []byte // encoding/json reads base64, as the protocol sends blobs
	CiphertextBlob    []byte
	EncryptionContext map[string]string
}

// key looks up req.KeyId for use, as KMS authorizes it.
func (f *AWS) key(keyID string) (*awsKey, string, error) {
	k, id := f.resolve(keyID)
	switch {
	case keyID == "":
		return nil, "", awsErr(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	case k == nil && strings.HasPrefix(keyID, "alias/"):
		return nil, "", awsErr(http.StatusBadRequest, "NotFoundException", "Alias arn:aws:kms:"+f.Region+":"+AWSAccount+":"+keyID+" is not found.")
	case k == nil:
		return nil, "", awsErr(http.StatusBadRequest, "NotFoundException", "Invalid keyId '"+keyID+"'")
	case k.denied:
		return nil, "", awsErr(http.StatusBadRequest, "AccessDeniedException", "User: arn:aws:iam::"+AWSAccount+":user/test is not authorized to perform this operation on resource "+f.arn(id)+" because no resource-based policy allows it")
	}
	return k, id, nil
}

func (f *AWS) encrypt(body []byte) (any, error) {
	var req awsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, awsErr(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected.")
	}
	if n := len(req.Plaintext); n < 1 || n > 4096 {
		return nil, awsErr(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k, id, err := f.key(req.KeyId)
	if err != nil {
		return nil, err
	}
	f.contexts = append(f.contexts, req.EncryptionContext)
	v := len(k.versions) - 1
	hdr := []byte{0x01, 'F', 'K', byte(v)}
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(id)))
	hdr = append(hdr, id...)
	a := newGCM(k.versions[v])
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	blob := append(append(hdr, nonce...), a.Seal(nil, nonce, req.Plaintext, awsAAD(hdr, req.EncryptionContext))...)
	return map[string]any{"CiphertextBlob": blob, "KeyId": f.arn(id), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (f *AWS) decrypt(body []byte) (any, error) {
	var req awsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, awsErr(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected.")
	}
	if n := len(req.CiphertextBlob); n < 1 || n > 6144 {
		return nil, awsErr(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	invalid := awsErr(http.StatusBadRequest, "InvalidCiphertextException", "")
	blob := req.CiphertextBlob
	if len(blob) < 6 || !bytes.Equal(blob[:3], []byte{0x01, 'F', 'K'}) {
		return nil, invalid
	}
	v, idLen := int(blob[3]), int(binary.BigEndian.Uint16(blob[4:6]))
	if len(blob) < 6+idLen+12+16 {
		return nil, invalid
	}
	hdr, blobID := blob[:6+idLen], string(blob[6:6+idLen])
	f.mu.Lock()
	defer f.mu.Unlock()
	var k *awsKey
	id := blobID
	if req.KeyId != "" {
		var err error
		if k, id, err = f.key(req.KeyId); err != nil {
			return nil, err
		}
		if id != blobID {
			return nil, awsErr(http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.")
		}
	} else if k = f.keys[blobID]; k == nil {
		return nil, invalid
	} else if k.denied {
		return nil, awsErr(http.StatusBadRequest, "AccessDeniedException", "not authorized to perform kms:Decrypt on "+f.arn(id))
	}
	if v >= len(k.versions) {
		return nil, invalid
	}
	a := newGCM(k.versions[v])
	rest := blob[len(hdr):]
	pt, err := a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], awsAAD(hdr, req.EncryptionContext))
	if err != nil {
		return nil, invalid
	}
	return map[string]any{"Plaintext": pt, "KeyId": f.arn(id), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// awsAAD authenticates the blob header and the encryption context, sorted
// by key (KMS treats the context as an unordered map).
func awsAAD(hdr []byte, ctx map[string]string) []byte {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	aad := append([]byte(nil), hdr...)
	for _, k := range keys {
		aad = binary.BigEndian.AppendUint32(aad, uint32(len(k)))
		aad = append(aad, k...)
		aad = binary.BigEndian.AppendUint32(aad, uint32(len(ctx[k])))
		aad = append(aad, ctx[k]...)
	}
	return aad
}

func newGCM(key []byte) cipher.AEAD {
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

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}
