// Package push sends Web Push notifications: the browser channel of
// notify. It speaks RFC 8030 (the push protocol) to the push service a
// browser chose (Mozilla autopush, Google FCM, Apple, ...), encrypts every
// payload for the one device it is meant for (RFC 8291, aes128gcm) and
// identifies this server with a VAPID key pair (RFC 8292), so a push
// service accepts messages for a subscription only from the server that
// created it.
//
// Three pieces:
//
//   - Keys, GenerateVAPID and LoadOrCreateVAPID: the server's VAPID key
//     pair, kept in a 0600 JSON file next to the other server keys. The
//     public half is the applicationServerKey the web page hands to
//     PushManager.subscribe; the private half never appears in a log or
//     an error.
//   - Subscription and ParseSubscription: what the browser sends back
//     (PushSubscription.toJSON()), checked before it is stored.
//   - Sender: encrypts and posts one payload to one subscription and
//     classifies the answer. ErrGone means the subscription is dead and
//     should be deleted; IsTemporary errors may be retried later (after
//     RetryAfter, if the service said); IsPermanent errors never succeed.
//
// Endpoint URLs identify a device and subscription keys decrypt its
// messages: treat both as secrets. No error of this package holds an
// endpoint, a key or a payload, so errors may be logged freely. Payloads
// themselves come from notify's PHI-free templates.
//
// The package touches no database. Package pushtest is a local push
// service for tests that decrypts and verifies what it receives.
package push
