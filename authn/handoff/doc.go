// Package handoff owns the cross-device sign-in code (PRODUCT.md journey 4): a device without a
// passkey for an account (the "new device") shows a short code; the person types it on a device
// where they are already signed in (the "trusted device"), sees what is asking, and approves it
// with a fresh passkey check; the new device then creates its own passkey and is signed in.
//
// What the code grants is deliberately narrow: one sign-in and one new passkey, on the browser
// that showed it (a cookie holding a secret only that browser has), for the organisation and
// username typed there, within five minutes. Codes and browser secrets are stored only as keyed
// hashes (internal/secret). Code entry is limited per account and per IP address (authn/throttle).
//
// The new device's session says how it came about: Method "handoff", amr ["handoff", "user"] and
// acr "0" (see NewDeviceSession). Once signed in, the browser continues to the pending authorize
// request (provider, /oauth2/auth/resume) or to the account page (ui/account), which can list
// recent handoffs with Store.RecentForUser.
package handoff
