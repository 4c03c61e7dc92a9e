// Package passkey owns passkeys (WebAuthn public key credentials) and the WebAuthn ceremonies
// that create and use them. It keeps, per passkey, only what verification needs: the credential
// id, the COSE public key, the signature counter, the backup flags and a few labels for the
// account page. It never sees a private key or anything biometric.
//
// Registration (WebAuthn Level 3 §5.4, verified as in §7.1 "Registering a New Credential") asks
// for a discoverable credential (resident key required), accepting ES256, EdDSA and RS256 keys;
// the user's existing passkeys are excluded so one authenticator is not registered twice.
//
// Each organisation's passkey policy (authn/policy, read through Config.Policies) decides the
// rest: user verification "required" (the default) or "preferred"; attestation "direct" when it
// lists the authenticator models (AAGUIDs) it accepts, "none" otherwise; and which passkeys are
// accepted (policy.CheckPasskey: synced or only device-bound, listed models). A passkey the
// policy refuses is not stored, and one that a later, tighter policy refuses no longer signs in;
// both fail with an error matching ErrPolicy whose message says why and what to use instead
// (PolicyRefusal). Under Mandatory, a user's password is deleted when their first passkey is
// stored (Credential.PasswordRetired).
//
// Sign-in (§5.5, verified as in §7.2 "Verifying an Authentication Assertion") is either
// username-first (allowCredentials lists that user's passkeys) or discoverable, which also serves
// conditional mediation (autofill): the authenticator picks the passkey and returns the user
// handle (§5.4.3), which names the user. Whether user verification is required is the policy of
// the signing-in user's organisation, whatever the options asked; a verified passkey sign-in is
// multi-factor on its own (something you have, unlocked by something you know or are), and
// Credential.AMR says "mfa" only then.
// The signature counter (§6.1.1) is checked for device-bound passkeys: a counter that does not
// advance suggests a cloned authenticator, and the passkey is flagged and refused from then on.
// Synced passkeys report 0 and their counter is ignored.
//
// Username-first sign-in does not reveal whether a username exists, is disabled or has passkeys:
// such a request gets options of the same shape with decoy credential ids derived from a keyed
// hash of the username (stable across requests), after the same database reads, and fails at the
// finish step with the same error as a passkey that is not registered.
//
// Ceremony state (the challenge and what it was issued for) lives in the webauthn_ceremonies
// table under the keyed hash of a random token that the caller puts in a cookie, so any server
// process can finish a ceremony another began. Taking a ceremony deletes it in the same statement,
// so a challenge is answered at most once (§13.4.3), and it expires after Config.Timeout.
// Call the Finish methods outside a caller's transaction: a rolled-back transaction would
// resurrect the used ceremony.
//
// Errors returned to callers are sentinel errors whose messages can be shown to users as they
// are; the technical reason, for logs, is available through Detail (see Error).
package passkey
