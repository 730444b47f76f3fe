package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"sotto"
)

// SignatureHeader is the header a Twilio-compatible provider signs its
// webhooks in.
const SignatureHeader = "X-Twilio-Signature"

// maxWebhookBody bounds the form ReadWebhook reads: an inbound message of
// 1600 characters, percent-encoded, and its two dozen other fields fit
// with room to spare.
const maxWebhookBody = 64 << 10

// Sign returns the signature a Twilio-compatible provider puts in
// SignatureHeader for a POST of form to fullURL: the base64 HMAC-SHA1,
// keyed with authToken, of fullURL (exactly as configured at the provider,
// query included) followed by each form parameter's name and value, names
// sorted, a repeated name's values sorted. Tests and smstest use it to
// sign what they send.
func Sign(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vals := slices.Clone(form[k])
		slices.Sort(vals)
		for _, v := range vals {
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signature is Sign(authToken, fullURL,
// form), comparing in constant time. Like Twilio's own libraries it also
// accepts the signature of fullURL with the scheme's default port added
// or removed (":443" for https, ":80" for http), since providers are not
// consistent about it. An empty authToken or signature never validates.
// Webhook handlers normally call ReadWebhook, which calls it.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	ok := 0
	for _, u := range portVariants(fullURL) {
		ok |= subtle.ConstantTimeCompare([]byte(Sign(authToken, u, form)), []byte(signature))
	}
	return ok == 1
}

// portVariants returns raw and, when its authority has no port or the
// scheme's default one, raw with that port added or removed. It edits the
// string rather than reformatting a parsed URL, so that nothing else
// about the signed URL changes.
func portVariants(raw string) []string {
	scheme, rest, ok := strings.Cut(raw, "://")
	var port string
	switch strings.ToLower(scheme) {
	case "https":
		port = ":443"
	case "http":
		port = ":80"
	}
	if !ok || port == "" {
		return []string{raw}
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	hostStart := strings.LastIndex(authority, "@") + 1
	host := authority[hostStart:]
	switch {
	case host == "":
		return []string{raw}
	case strings.HasSuffix(host, port):
		return []string{raw, scheme + "://" + strings.TrimSuffix(authority, port) + tail}
	case strings.HasSuffix(host, "]") || !strings.Contains(host, ":"):
		return []string{raw, scheme + "://" + authority + port + tail}
	}
	return []string{raw}
}

// ReadWebhook reads and authenticates a provider's webhook request: a POST
// of an application/x-www-form-urlencoded body of at most 64 KiB, signed
// in SignatureHeader over publicURL + the request URI. publicURL is the
// scheme and host (and any path prefix a proxy strips) under which the
// provider reaches sotto, e.g. "https://msg.lakeside.example": the Host
// header is never trusted. The webhook handlers for status callbacks and
// inbound messages call it, then ParseStatusCallback or ParseInbound.
//
// It returns the form (from the body only, not the URL query). Errors: a
// KindForbidden *sotto.Error with Code "bad_signature" wrapping
// ErrBadSignature when the signature is missing or wrong (answer 403,
// audit, ignore the request); KindInvalid for another method, content
// type, or an unreadable or oversized body. No error holds form values.
func ReadWebhook(r *http.Request, authToken, publicURL string) (url.Values, error) {
	const op = "sms.ReadWebhook"
	if r.Method != http.MethodPost {
		return nil, invalid(op, "A webhook must be a POST.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalid(op, "A webhook body must be form-encoded.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		return nil, invalid(op, "The webhook body is unreadable or too large.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid(op, "The webhook body is not a valid form.")
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if !ValidateSignature(authToken, strings.TrimRight(publicURL, "/")+uri, form, r.Header.Get(SignatureHeader)) {
		return nil, &sotto.Error{Kind: sotto.KindForbidden, Code: "bad_signature", Op: op,
			Msg: "The webhook signature is missing or invalid.", Err: ErrBadSignature}
	}
	return form, nil
}
