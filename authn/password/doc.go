// Package password owns legacy passwords during the move to passkeys: hashing new passwords,
// verifying stored and imported hashes, and the rules a new password must meet. It stores
// nothing itself; the caller keeps the encoded hash next to the user and decides, from the
// organisation's policy, whether a password may be used at all.
//
// New passwords are hashed with argon2id (RFC 9106) and encoded as PHC strings
// ($argon2id$v=19$m=..,t=..,p=..$salt$hash). Hashes imported from other systems (CSV import) may
// be bcrypt ($2a$, $2b$, $2y$), argon2id PHC, or PBKDF2-SHA256 in Django's form
// (pbkdf2_sha256$iter$salt$hash) or passlib's ($pbkdf2-sha256$iter$salt$hash). CheckImported
// validates them at import time and refuses parameters so costly that one sign-in could tie up the
// server. Verify accepts all of them and reports when the stored hash should be replaced by a
// fresh argon2id hash with the configured parameters; the caller re-hashes with Hash and stores it
// in the same step as the successful sign-in. For an unknown user, the caller calls Dummy so that
// the response takes as long as a real check.
//
// New passwords follow NIST SP 800-63B §5.1.1.2: at least 12 characters, at most 256, no
// composition rules, not one of the 10,000 most common passwords, not the username. The common
// list is zxcvbn's ranked password frequency list, compiled into the binary by the
// github.com/trustelem/zxcvbn module. CheckNew's errors (*RuleError) are sentences for the person
// choosing the password.
package password
