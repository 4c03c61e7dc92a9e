// Package directory owns organisations and their users: who exists, in which organisation, with
// which display name, email and roles. It does not know how anyone signs in (see authn/session
// and, later, authn/passkey); the provider reads it to fill ID token and userinfo claims.
package directory
