package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// maxVAPIDLifetime is how far ahead a VAPID token may expire (RFC 8292 §2).
const maxVAPIDLifetime = 24 * time.Hour

// vapid is a verified RFC 8292 Authorization header.
type vapid struct {
	key     string // the k parameter, unpadded base64url
	subject string
	expires time.Time
}

// verifyVAPID checks an Authorization header of the form
// "vapid t=<JWT>, k=<public key>" as a push service does: an ES256 JWT
// signed by k, aud equal to origin, exp in the future and at most 24 h
// ahead, sub a mailto: or https: contact.
func verifyVAPID(header, origin string, now time.Time) (vapid, error) {
	scheme, params, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return vapid{}, errors.New("authorization scheme is not vapid")
	}
	var t, k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		switch {
		case !ok:
			return vapid{}, errors.New("malformed vapid parameter")
		case name == "t" && t == "":
			t = value
		case name == "k" && k == "":
			k = value
		default:
			return vapid{}, fmt.Errorf("unexpected or repeated vapid parameter %q", name)
		}
	}
	if t == "" || k == "" {
		return vapid{}, errors.New("vapid t or k parameter missing")
	}
	kb, err := base64.RawURLEncoding.Strict().DecodeString(k)
	if err != nil {
		return vapid{}, errors.New("vapid k is not unpadded base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return vapid{}, errors.New("vapid k is not an uncompressed P-256 point")
	}

	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return vapid{}, errors.New("vapid t is not a JWS compact serialization")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return vapid{}, fmt.Errorf("JWT header: %w", err)
	}
	if hdr.Alg != "ES256" {
		return vapid{}, fmt.Errorf("JWT alg is %q, not ES256", hdr.Alg)
	}
	if hdr.Typ != "" && !strings.EqualFold(hdr.Typ, "JWT") {
		return vapid{}, fmt.Errorf("JWT typ is %q", hdr.Typ)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return vapid{}, errors.New("JWT signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return vapid{}, errors.New("JWT signature does not verify with k")
	}

	var claims struct {
		Aud string `json:"aud"`
		Exp *int64 `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return vapid{}, fmt.Errorf("JWT claims: %w", err)
	}
	switch {
	case claims.Aud != origin:
		return vapid{}, fmt.Errorf("JWT aud %q is not the push service origin %q", claims.Aud, origin)
	case claims.Exp == nil:
		return vapid{}, errors.New("JWT exp missing")
	case *claims.Exp <= now.Unix():
		return vapid{}, errors.New("JWT expired")
	case *claims.Exp > now.Add(maxVAPIDLifetime).Unix():
		return vapid{}, errors.New("JWT exp more than 24 hours ahead")
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return vapid{}, fmt.Errorf("JWT sub %q is not a mailto: or https: contact", claims.Sub)
	}
	return vapid{key: k, subject: claims.Sub, expires: time.Unix(*claims.Exp, 0)}, nil
}

// decodeSegment decodes one base64url JSON segment of a JWT.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return errors.New("not unpadded base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("not a JSON object of the expected shape")
	}
	return nil
}

// decrypt opens an RFC 8291 message (an RFC 8188 aes128gcm body of one
// record) with the user agent's private key and authentication secret,
// and returns the plaintext without padding and the header's record size.
func decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, int, error) {
	const headerLen = 16 + 4 + 1
	if len(body) < headerLen {
		return nil, 0, errors.New("aes128gcm header truncated")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, 0, fmt.Errorf("record size %d is below 18", rs)
	}
	if idlen != 65 || len(body) < headerLen+idlen {
		return nil, 0, errors.New("keyid is not a 65-byte P-256 public key")
	}
	asPublic := body[headerLen : headerLen+idlen]
	record := body[headerLen+idlen:]
	if uint64(len(record)) > uint64(rs) {
		return nil, 0, errors.New("more than one record (RFC 8291 allows one)")
	}
	if len(record) < 16+1 {
		return nil, 0, errors.New("record shorter than a tag and a delimiter")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, 0, errors.New("keyid is not a point on P-256")
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, 0, fmt.Errorf("ECDH: %w", err)
	}
	info := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(asPublic)
	ikm, err := hkdf.Key(sha256.New, secret, auth, info, 32)
	if err != nil {
		return nil, 0, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, 0, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, 0, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, 0, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, 0, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, 0, errors.New("AES-GCM authentication failed")
	}
	// RFC 8188 §2: the last record ends in 0x02 followed by zero or more
	// zero bytes of padding.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, 0, errors.New("last-record padding delimiter 0x02 missing")
	}
	return plain[:i], int(rs), nil
}
