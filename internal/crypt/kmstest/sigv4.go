package kmstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4Failure is why a request's AWS Signature Version 4 did not verify:
// the AWS error type and message the real service answers with.
type sigV4Failure struct {
	status int
	typ    string
	msg    string
}

// sigV4MaxSkew is how far X-Amz-Date may be from the server's clock.
const sigV4MaxSkew = 15 * time.Minute

// verifySigV4 checks r (whose body is body) against the AWS Signature
// Version 4 algorithm for service, region and the given access key pair,
// recomputing the signature independently of the SDK. It returns nil when
// the signature is valid.
func verifySigV4(r *http.Request, body []byte, service, region, akid, secret string, now time.Time) *sigV4Failure {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &sigV4Failure{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	incomplete := func(why string) *sigV4Failure {
		return &sigV4Failure{http.StatusBadRequest, "IncompleteSignatureException", why}
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return incomplete("Unsupported authorization type")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return incomplete("Authorization header requires each component to be of the form key=value")
		}
		fields[k] = v
	}
	cred, signedHeaders, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedHeaders == "" || sig == "" {
		return incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return incomplete("Credential should be scoped to a valid region and service")
	}
	if scope[0] != akid {
		return &sigV4Failure{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if scope[2] != region || scope[3] != service {
		return &sigV4Failure{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to a valid region and service."}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, scope[1]) {
		return incomplete("Date must be in ISO-8601 'basic format' and match the credential scope")
	}
	if d := now.Sub(t); d > sigV4MaxSkew || d < -sigV4MaxSkew {
		return &sigV4Failure{http.StatusBadRequest, "InvalidSignatureException", "Signature expired"}
	}
	names := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(names) || !contains(names, "host") || !contains(names, "x-amz-date") {
		return incomplete("SignedHeaders must be sorted and include host and x-amz-date")
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return &sigV4Failure{http.StatusBadRequest, "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalURI(r) + "\n")
	canon.WriteString(canonicalQuery(r) + "\n")
	for _, n := range names {
		canon.WriteString(n + ":" + headerValue(r, n) + "\n")
	}
	canon.WriteString("\n" + signedHeaders + "\n" + payloadHash)
	creq := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4" + secret)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return &sigV4Failure{http.StatusBadRequest, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// canonicalURI is the URI-encoded path (AWS JSON services POST to "/").
func canonicalURI(r *http.Request) string {
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// canonicalQuery sorts the query parameters by name, then value.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes everything but the RFC 3986 unreserved set.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// headerValue is the canonical value of one signed header: Go's server
// keeps Host and Content-Length out of r.Header, so they come from r.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := append([]string(nil), r.Header.Values(name)...)
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}
