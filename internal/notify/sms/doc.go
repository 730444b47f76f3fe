// Package sms sends text messages through a Twilio-compatible REST API
// and reads the webhooks such a provider calls: delivery-status callbacks
// and inbound messages, each signed with X-Twilio-Signature.
//
// Client.Send posts one message to the provider's Messages resource with
// an idempotency token, so that the notifier may retry a temporary failure
// without sending the patient a second text; every error it returns is
// classified as temporary (errors.Is(err, ErrTemporary): retry later with
// the same token) or permanent (ErrPermanent: do not retry). ReadWebhook
// verifies a webhook's signature and ParseStatusCallback and ParseInbound
// read its form.
//
// Phone numbers and message bodies are personal data and may be PHI: no
// error returned by this package holds one, not even when the provider's
// own error message does (Twilio's error 21211 names the number), so
// errors may be logged freely. The provider's error code is kept.
//
// The subpackage smstest is a local fake of the provider for tests.
package sms
