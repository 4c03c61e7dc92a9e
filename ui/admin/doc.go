// Package admin serves the server-rendered admin pages (PRODUCT.md journey 6): under
// /o/{slug}/admin, for the organisation's users with the admin role, the overview (passkey
// adoption, recent security events, the policy at a glance), users (search, create, import,
// disable, roles, passkeys, sessions, recovery, enrollment links), apps (OIDC clients), the
// passkey policy with its impact preview, and the audit log; under /admin, for admins of the
// system organisation, organisations and signing keys.
//
// It owns only the HTTP side: who may open which page and how the forms read. Every change and
// every read runs through the use cases of package admin (github.com/portcullis-id/portcullis/admin),
// which scope it to the admin's organisation (another organisation's ids are not found) and audit
// it with the admin as actor.
//
// Every page needs a session from a passkey sign-in, whatever the organisation's policy (a
// password or handoff session is refused), and every form a CSRF token; sensitive actions
// (recovery, roles, client secrets, policy, key rotation) also need a passkey check within
// FreshCheck, which the navigation offers ("Confirm it's you"). The pages are script-free apart
// from the shared WebAuthn helper (ui/static/webauthn.js), which also asks for confirmation
// before every destructive form (form[data-confirm]).
package admin
