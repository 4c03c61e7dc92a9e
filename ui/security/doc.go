// Package security serves /security: the public page an IT or information-security team reads
// before it trusts the instance (PRODUCT.md journey 7, issue 7 "The security page"). It states
// what a passkey is here, what is stored and what never is, the relying-party ID and origins,
// user verification and attestation, synced versus device-bound passkeys and the organisations'
// policies, how the cross-device code and recovery are protected, what amr and acr mean and how
// they map to NIST SP 800-63B assurance levels, which algorithms sign tokens, how keys rotate and
// where audit events go. docs/security.md says the same for the default configuration.
//
// Nothing on the page is a hand-kept copy of a setting: Facts is built from the running
// configuration (Settings, filled in by the composition root from the same values it wires into
// the other packages), the packages' exported constants and rules (authn/handoff,
// authn/recovery, authn/throttle, authn/policy, provider, provider/keys), and live data (the
// organisations' policies and the signing keys), read per request and cached for CacheFor.
//
// Organisations are tenants, and their list is nobody else's business: by default the page shows
// the policy a new organisation starts with and the built-in system organisation's, and says that
// each organisation sets its own. Only when the operator sets Settings.ListOrgs
// (security_page_orgs) does it list every organisation's policy, by slug (already public in
// /o/{slug}/login), never by name.
//
// The page is public (no sign-in, no cookies read or set), has no script and is rendered through
// the shared base page, so it is served under the same Content-Security-Policy as every page.
package security
