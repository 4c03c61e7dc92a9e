// Package rplogout tells relying parties that a Portcullis session ended: OpenID Connect
// Back-Channel Logout 1.0 (a signed logout token POSTed to each client's backchannel_logout_uri,
// queued in the database in the transaction that ends the session and delivered with retries by
// a worker on any node) and Front-Channel Logout 1.0 (the frontchannel_logout_uri of each client
// of the session, for the signed-out page to frame).
//
// It owns the logout_deliveries table. The clients of a session are those that received tokens
// in it: rows of oauth2_tokens with its session_id (codes and refresh tokens stay after the
// session's tokens are revoked, so the lookup works before and after revocation).
package rplogout
