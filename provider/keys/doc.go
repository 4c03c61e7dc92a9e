// Package keys owns the keys Portcullis signs tokens with: it generates them, stores them sealed in
// the signing_keys table, moves them through their states, publishes the public halves as a JWK Set
// (RFC 7517 section 5) and hands fosite a jwt.Signer that signs with the active key.
//
// Every supported algorithm (ES256 on P-256, the default, and RS256 with RSA 2048; RFC 7518
// section 3.1) has at any time exactly one key in each of these states:
//
//   - next: published in the JWKS but not yet signing, so that relying parties have it cached
//     before the first token it signs reaches them;
//   - active: signs every new token of its algorithm.
//
// and zero or more retired keys, which no longer sign but stay published until publish_until (the
// retirement time plus the longest token lifetime) so that every token they signed can still be
// verified. Prune deletes them afterwards.
//
// Rotate moves next to active and active to retired and generates a new next key, in one
// transaction. Several server processes may share one database: Ensure and Rotate serialise on a
// lock, and each process keeps the decoded keys in memory for Options.CacheFor, so a process that
// has not yet seen a rotation keeps signing with a key that is still published.
//
// Private keys are stored as PKCS #8 sealed with the system secret (package secret); a database
// without the secret file gives away no signing key.
package keys
