// Package provider is the OAuth 2.0 / OpenID Connect provider: the fosite composition and one file
// per endpoint (authorize, token, PAR, introspection, revocation, userinfo, end-session, discovery,
// JWKS). /oauth2/auth is a dispatcher: an authorize request that needs a sign-in is parked in
// pending_authorizations and the browser is sent to /login; the sign-in step (authn) brings the
// browser back to /oauth2/auth/resume, which runs the same checks again with the new session.
// Signing keys live in provider/keys, fosite's storage in provider/store, clients in provider/clients.
package provider
