// Package clients owns the OIDC client registry: the client record, the rules a client
// registration must follow (redirect URIs, grant types, authentication methods, scopes), the
// generation of client IDs and secrets and the keyed hashing of those secrets, and the storage of
// clients in the clients table.
//
// Client secrets are high-entropy random strings, so they are stored as a keyed hash (see
// package secret) rather than with a slow password hash: verifying one on every token request
// stays cheap, and a stolen database is useless without the system secret. The plaintext secret
// is returned once, by New, and never stored.
//
// The provider adapts Client to fosite's client interfaces; this package does not import fosite.
package clients
