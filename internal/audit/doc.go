// Package audit keeps sotto's tamper-evident audit trail (HIPAA
// 164.312(b)): one hash chain of sotto.AuditEvent entries per organization,
// appended inside the transaction of the action it records, with signed
// checkpoints, verification, queries and exports (CSV, FHIR R4 AuditEvent,
// RFC 5424 syslog to a SIEM).
//
// # Who calls what
//
// Every package that performs an auditable action calls Append with the
// *store.Tx of its own store.DB.Write function. Append is fail-closed: if it
// returns an error the caller returns that error from its function, so the
// action and its audit record are committed together or not at all.
// Verify, CreateCheckpoint, List, Events and the exporters are called by the
// server's audit pages and by the `sotto audit` command.
//
// # Chain
//
// Entries of an org are numbered Seq = 1, 2, 3, ... without gaps. Each
// entry stores PrevHash, the Hash of the entry before it (32 zero bytes for
// Seq 1), and
//
//	Hash = SHA-256(PrevHash || canonical(entry))
//
// The table audit_heads holds each org's last (seq, hash); it is updated in
// the same transaction as the entry, and its row lock serializes an org's
// appends on PostgreSQL.
//
// # Canonical encoding (version 1)
//
// canonical(entry) is the concatenation of these fields, in this order:
//
//	tag          str  the constant "sotto.audit.v1" (domain and version)
//	org_id       str
//	seq          i64
//	id           str
//	at           i64  Unix microseconds (UTC)
//	actor_id     str
//	actor_role   str
//	action       str
//	target_type  str
//	target_id    str
//	patient_id   str
//	outcome      str
//	source_ip    str
//	user_agent   str
//	request_id   str
//	prev_hash    bin
//
// where str and bin are a 4-byte big-endian unsigned length in bytes
// followed by the bytes (strings are UTF-8, exactly as stored; an absent
// value is the empty string, length 0), and i64 is an 8-byte big-endian
// two's-complement integer. Hash itself is not encoded.
// Because every field has a fixed position and a length prefix, two
// different entries never share an encoding. The test vector in
// canonical_test.go (TestCanonicalKnownAnswer) pins one entry's bytes and
// hash.
//
// # Checkpoints
//
// A checkpoint is an Ed25519 signature by the org's key over the chain head
// at one moment. The signed message is this ASCII text, each line ended by
// a single "\n":
//
//	sotto.audit.checkpoint.v1
//	org <org_id>
//	seq <seq in decimal>
//	hash <head hash in lowercase hex>
//	signed_at <Unix microseconds in decimal>
//
// The signature is a raw 64-byte Ed25519 signature (RFC 8032) and the
// public key a raw 32-byte Ed25519 key. Checkpoints are stored in
// audit_checkpoints and should also be copied out of the database (their
// JSON form is made for that): the chain proves the entries link up, the
// checkpoint proves who vouched for the head, and a copy held elsewhere
// proves the trail was not cut back and rebuilt.
//
// # Verification
//
// Verify reads an org's entries in seq order, a page at a time, recomputes
// every hash and reports the first break: a changed field ("hash
// mismatch"), an entry that does not link to the one before ("prev hash
// mismatch", e.g. after a reorder or an insertion), a missing seq
// ("sequence gap"), a head that does not match the last entry ("head
// mismatch", e.g. the last entries were deleted or forged ones added), a
// checkpoint whose hash differs from the entry at its seq ("checkpoint
// mismatch") or whose signature fails ("checkpoint signature invalid").
package audit
