// Package recovery owns account recovery for a lost device (PRODUCT.md journey 5, issue 5):
//
//   - admin-started recovery (Service.Start): in one transaction it removes the user's passkeys
//     (unless asked to keep them), ends all their sessions, revokes all their tokens and issues a
//     single-use recovery link (an enroll.Links link of purpose "recovery"), so that a lost phone
//     is useless to whoever finds it;
//   - the recovery link page (/recover/{token}, Handler): the user creates a passkey on the device
//     they have and is signed in with it; the link is then used up;
//   - self-service recovery codes (Codes), when the organisation's policy allows them
//     (policy.Policy.RecoveryCodes, off by default): ten single-use codes per user, stored only as
//     keyed hashes and compared in constant time; one code, typed on /recover-code with the
//     username, leads to a short-lived recovery link for that one new passkey;
//   - "I lost this device" (Service.LostDevice): one passkey removed, and the sessions it signed
//     in ended and their tokens revoked, at once; never the user's last passkey.
//
// Every step is audited (recovery.started, recovery.completed, recovery.link_invalid,
// recovery_codes.created, recovery_code.used, recovery_code.failed, passkey.lost) and the user
// is emailed when recovery starts and completes, where they have a verified address.
package recovery
