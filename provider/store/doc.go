// Package store is fosite's storage on the Portcullis database: authorize codes, access and
// refresh tokens, PKCE and OpenID Connect request state, pushed authorization requests and used
// client-assertion JWT IDs. Every token kind shares one row shape in oauth2_tokens keyed by
// fosite's HMAC signature (never the token), with the request serialized as JSON.
// Clients come from the ClientSource it is given; sign-in sessions live in authn/session.
package store
