// Package crypt implements Sotto's encryption-at-rest key hierarchy and
// record encryption on top of Tink (github.com/tink-crypto/tink-go/v2).
//
// The hierarchy has three levels:
//
//   - A Master key-encryption key (a Tink keyset file, see [OpenMasterFile], or
//     a KMS such as Vault Transit, see [NewVaultTransit]) wraps each
//     organization's key material.
//   - An organization keyset ([OrgKey]) holds an AES256-GCM AEAD keyset (wraps
//     patient data keys and encrypts org-level records such as staff contact
//     points), an HMAC-SHA256 PRF keyset (blind indexes) and an Ed25519
//     signing keyset (audit checkpoints).
//   - A patient data key ([DataKey]) is an AES256-GCM keyset wrapped by the
//     org AEAD. Deleting the wrapped data key crypto-shreds every record
//     encrypted under it.
//
// The package is storage-agnostic: it produces and consumes wrapped key bytes
// and ciphertexts; the store persists them. Unwrapped keys only ever live in
// memory, in the bounded cache of a [Keyring]. Every ciphertext should be
// bound to its location with associated data built by [AD], so that a
// ciphertext copied to another row or column fails with [ErrTampered].
//
// Errors returned by this package never contain plaintext or key material.
// The container formats are described in docs/adr/0002-crypt.md.
package crypt
