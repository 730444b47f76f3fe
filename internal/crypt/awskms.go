package crypt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
)

// AWSKMS is a [Master].
var _ Master = (*AWSKMS)(nil)

// awsEnvelopeVersion is the first byte of an [AWSKMS] ciphertext.
const awsEnvelopeVersion = 0x01

// awsDEKSize is the size of the one-time AES-256-GCM key AWS KMS wraps.
const awsDEKSize = 32

// awsMaxBlob is the largest ciphertext blob AWS KMS produces or accepts.
const awsMaxBlob = 6144

// awsContextKey is the encryption-context key that carries the associated
// data (base64url, unpadded) to AWS KMS.
const awsContextKey = "sotto_ad"

// awsDefaultTimeout bounds one Encrypt or Decrypt, retries included, when
// NewAWSKMS is given no timeout.
const awsDefaultTimeout = 30 * time.Second

// awsMaxAttempts and awsMaxBackoff configure the SDK's standard retryer in
// NewAWSKMSClient: transient failures (HTTP 5xx, throttling, connection
// resets) are tried three times in all, with jittered backoff.
const (
	awsMaxAttempts = 3
	awsMaxBackoff  = 2 * time.Second
)

// AWSKMS is a [Master] backed by an AWS KMS symmetric key: the key never
// leaves KMS and every unwrap is a kms:Decrypt call that CloudTrail records.
//
// AWS KMS encrypts at most 4096 bytes, and an org keyset grows with every
// org-key rotation, so AWSKMS is an envelope: Encrypt draws a fresh 32-byte
// key, has KMS encrypt it under the configured key with the encryption
// context {"sotto_ad": base64url(ad)}, and seals the plaintext locally with
// that key (Tink's AES-256-GCM, ad as associated data). The ciphertext is
//
//	0x01 || uint32be(len(blob)) || blob || nonce || ct || tag
//
// where blob is KMS's CiphertextBlob. ad is thus bound twice: KMS refuses
// the blob under any other context, and the local AEAD refuses any other ad.
//
// An AWSKMS is safe for concurrent use. Each call is bounded by the timeout
// given to [NewAWSKMS].
type AWSKMS struct {
	client  *kms.Client
	keyID   string
	timeout time.Duration
}

// NewAWSKMS returns a Master that uses the AWS KMS key keyID (a key id, key
// ARN, alias name such as "alias/sotto", or alias ARN) through client,
// typically built by [NewAWSKMSClient]. timeout bounds each Encrypt or
// Decrypt including retries (30s if zero or negative). It performs no I/O.
//
// Intended caller: server start-up when the deployment configures AWS KMS.
// Errors: a nil client or an empty keyID.
func NewAWSKMS(client *kms.Client, keyID string, timeout time.Duration) (*AWSKMS, error) {
	if client == nil {
		return nil, errors.New("crypt: aws kms: no client")
	}
	if keyID == "" {
		return nil, errors.New("crypt: aws kms: no key id")
	}
	if timeout <= 0 {
		timeout = awsDefaultTimeout
	}
	return &AWSKMS{client: client, keyID: keyID, timeout: timeout}, nil
}

// NewAWSKMSClient builds an AWS KMS client from the standard AWS
// configuration chain: credentials from the environment
// (AWS_ACCESS_KEY_ID...), the shared config and credentials files
// (AWS_PROFILE), web identity (EKS/IRSA), ECS or EC2 instance roles. region
// overrides AWS_REGION and the shared config when not empty; endpoint
// (e.g. a VPC endpoint "https://vpce-....kms.us-east-1.vpce.amazonaws.com")
// overrides the regional endpoint when not empty. attemptTimeout bounds
// each HTTP attempt (none if zero); the SDK's own HTTP client is kept, so
// AWS_CA_BUNDLE and the proxy variables work. Transient failures are
// retried (three attempts in all). Credentials are resolved lazily, on the
// first request.
//
// Intended caller: server start-up, before [NewAWSKMS]. Errors: a malformed
// endpoint, an unreadable shared configuration, or no region configured.
func NewAWSKMSClient(ctx context.Context, region, endpoint string, attemptTimeout time.Duration) (*kms.Client, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("crypt: aws kms: endpoint %q is not an http(s) URL", endpoint)
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = awsMaxAttempts
				o.MaxBackoff = awsMaxBackoff
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if attemptTimeout > 0 {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(attemptTimeout)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("crypt: aws kms: no AWS region configured (set one explicitly or AWS_REGION)")
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// String describes the master without secrets, so it is safe to log.
func (a *AWSKMS) String() string { return "crypt.AWSKMS(key=" + a.keyID + ")" }

// GoString is String for %#v.
func (a *AWSKMS) GoString() string { return a.String() }

// Encrypt wraps a fresh data key with KMS Encrypt (one request) and seals
// plaintext under it, binding ad. Intended caller: the [Keyring]. Errors:
// the SDK's error for the KMS call (access denied, unknown key, transport,
// timeout), wrapped; errors never contain plaintext or credentials.
func (a *AWSKMS) Encrypt(plaintext, ad []byte) ([]byte, error) {
	dek := make([]byte, awsDEKSize)
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("crypt: aws kms encrypt: random key: %w", err)
	}
	defer clear(dek)
	local, err := subtle.NewAESGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms encrypt: %w", err)
	}
	sealed, err := local.Encrypt(plaintext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms encrypt: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	out, err := a.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(a.keyID),
		Plaintext:         dek,
		EncryptionContext: awsContext(ad),
	})
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms encrypt: %w", err)
	}
	blob := out.CiphertextBlob
	if len(blob) == 0 || len(blob) > awsMaxBlob {
		return nil, fmt.Errorf("crypt: aws kms encrypt: response has a %d-byte ciphertext blob", len(blob))
	}
	ct := make([]byte, 0, 5+len(blob)+len(sealed))
	ct = append(ct, awsEnvelopeVersion)
	ct = binary.BigEndian.AppendUint32(ct, uint32(len(blob)))
	ct = append(ct, blob...)
	return append(ct, sealed...), nil
}

// Decrypt has KMS Decrypt (one request, naming the configured key and the
// context for ad) unwrap the data key, then opens the payload locally.
// Intended caller: the [Keyring]. It returns an error wrapping
// [ErrTampered] if ciphertext is malformed, KMS answers
// InvalidCiphertextException (modified blob or different ad) or
// IncorrectKeyException (made under another key), or the payload does not
// authenticate; other failures are the SDK's error, wrapped, without
// plaintext or credentials.
func (a *AWSKMS) Decrypt(ciphertext, ad []byte) ([]byte, error) {
	blob, sealed, ok := parseAWSEnvelope(ciphertext)
	if !ok {
		return nil, fmt.Errorf("crypt: aws kms decrypt: not an AWS KMS envelope: %w", ErrTampered)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	out, err := a.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(a.keyID),
		CiphertextBlob:    blob,
		EncryptionContext: awsContext(ad),
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, fmt.Errorf("crypt: aws kms decrypt: %w: %w", ErrTampered, err)
		}
		return nil, fmt.Errorf("crypt: aws kms decrypt: %w", err)
	}
	dek := out.Plaintext
	defer clear(dek)
	if len(dek) != awsDEKSize {
		return nil, fmt.Errorf("crypt: aws kms decrypt: wrapped key is not a data key: %w", ErrTampered)
	}
	local, err := subtle.NewAESGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms decrypt: %w", err)
	}
	pt, err := local.Decrypt(sealed, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: aws kms decrypt: payload: %w", ErrTampered)
	}
	return pt, nil
}

// awsContext is the encryption context that binds ad at KMS.
func awsContext(ad []byte) map[string]string {
	return map[string]string{awsContextKey: base64.RawURLEncoding.EncodeToString(ad)}
}

// parseAWSEnvelope splits an AWSKMS ciphertext into KMS's blob and the
// locally sealed payload.
func parseAWSEnvelope(ct []byte) (blob, sealed []byte, ok bool) {
	if len(ct) < 5 || ct[0] != awsEnvelopeVersion {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(ct[1:5])
	if n == 0 || n > awsMaxBlob || int(n) > len(ct)-5 {
		return nil, nil, false
	}
	return ct[5 : 5+n], ct[5+n:], true
}
