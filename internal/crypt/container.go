package crypt

import (
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/signature"
)

// Container format versions (first byte of the plaintext before wrapping).
const (
	orgContainerV1 = 0x01
	dataKeyV1      = 0x01
)

// orgKeysets is the unwrapped key material of one organization: one Tink
// keyset per purpose.
type orgKeysets struct {
	aead *keyset.Handle // AES256-GCM: wraps data keys, encrypts org records
	prf  *keyset.Handle // HMAC-SHA256 PRF: blind indexes
	sign *keyset.Handle // Ed25519 (raw output): audit checkpoints
}

// generateOrgKeysets creates fresh org key material.
func generateOrgKeysets() (orgKeysets, error) {
	a, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return orgKeysets{}, fmt.Errorf("generate AEAD keyset: %w", err)
	}
	p, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return orgKeysets{}, fmt.Errorf("generate PRF keyset: %w", err)
	}
	s, err := keyset.NewHandle(signature.ED25519KeyWithoutPrefixTemplate())
	if err != nil {
		return orgKeysets{}, fmt.Errorf("generate signing keyset: %w", err)
	}
	return orgKeysets{aead: a, prf: p, sign: s}, nil
}

// marshalOrgKeysets encodes the org container:
//
//	0x01 || lp(aead keyset) || lp(prf keyset) || lp(signing keyset)
//
// where lp is a 4-byte big-endian length prefix and each keyset is a binary
// Tink Keyset protobuf in cleartext. The result is secret: the caller must
// wrap it with the master and clear it.
func marshalOrgKeysets(k orgKeysets) ([]byte, error) {
	out := []byte{orgContainerV1}
	for _, h := range []*keyset.Handle{k.aead, k.prf, k.sign} {
		b, err := serializeKeyset(h)
		if err != nil {
			clear(out)
			return nil, err
		}
		out = appendLP(out, b)
		clear(b)
	}
	return out, nil
}

// unmarshalOrgKeysets decodes an org container. It never panics on
// arbitrary input and its errors never include the input.
func unmarshalOrgKeysets(b []byte) (orgKeysets, error) {
	if len(b) == 0 || b[0] != orgContainerV1 {
		return orgKeysets{}, errors.New("unknown org keyset container version")
	}
	rest := b[1:]
	var hs [3]*keyset.Handle
	for i := range hs {
		var field []byte
		var err error
		field, rest, err = readLP(rest)
		if err != nil {
			return orgKeysets{}, fmt.Errorf("org keyset container: %w", err)
		}
		if hs[i], err = parseKeyset(field); err != nil {
			return orgKeysets{}, fmt.Errorf("org keyset container field %d: %w", i, err)
		}
	}
	if len(rest) != 0 {
		return orgKeysets{}, errors.New("org keyset container: trailing bytes")
	}
	return orgKeysets{aead: hs[0], prf: hs[1], sign: hs[2]}, nil
}

// marshalDataKey encodes a patient data key as 0x01 || binary Tink keyset.
// The result is secret.
func marshalDataKey(h *keyset.Handle) ([]byte, error) {
	b, err := serializeKeyset(h)
	if err != nil {
		return nil, err
	}
	out := append([]byte{dataKeyV1}, b...)
	clear(b)
	return out, nil
}

// unmarshalDataKey decodes a patient data key. It never panics on arbitrary
// input and its errors never include the input.
func unmarshalDataKey(b []byte) (*keyset.Handle, error) {
	if len(b) == 0 || b[0] != dataKeyV1 {
		return nil, errors.New("unknown data key format version")
	}
	return parseKeyset(b[1:])
}

// rotateAEAD returns a copy of h with a new AES256-GCM key as primary.
func rotateAEAD(h *keyset.Handle) (*keyset.Handle, error) {
	km := keyset.NewManagerFromHandle(h)
	id, err := km.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("add key: %w", err)
	}
	if err := km.SetPrimary(id); err != nil {
		return nil, fmt.Errorf("set primary: %w", err)
	}
	nh, err := km.Handle()
	if err != nil {
		return nil, fmt.Errorf("build keyset: %w", err)
	}
	return nh, nil
}
