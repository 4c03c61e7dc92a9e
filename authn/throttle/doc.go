// Package throttle owns attempt limits: how many wrong passwords or wrong cross-device codes an
// account or an IP address may send before it is blocked, and for how long. Portcullis runs as
// stateless nodes on one database, so the counts live in the database (table throttle, migration
// 00004) and every node sees the same ones.
//
// A key is a string the caller builds, such as "password:user:<id>", "code:user:<id>" or
// IPKey("password", addr). Keys are stored as given (they are not secrets) and are at most
// MaxKeyLen bytes. A Rule says how a key is limited:
//
//   - Limit failures counted within Window block the key for Block (the Limit-th failure is the
//     last one let through);
//   - every further failure while over the limit doubles the block, up to MaxBlock (MaxBlock ==
//     Block gives a fixed lock-out);
//   - the count is forgotten Window after the first failure; once the key has been blocked, only
//     Window after the block ends. That second clause is deliberate: with a window anchored only at
//     the first failure, an attacker who waits out a few short blocks would get a fresh Limit of
//     free guesses every Window and the growing delay would never grow far. A legitimate user who
//     stays away for Window after a block starts afresh.
//
// One row per key keeps a window start and a count, not every failure: storage stays bounded
// however hard a key is hammered, at the price of a fixed rather than sliding window. The row
// stores when its count is forgotten (forget_at) rather than when the window began, so that Purge
// needs no rule.
//
// Two ways to count:
//
//   - Attempt counts an attempt before it is made and says whether it may go ahead, atomically.
//     Use it where the limit must hold against parallel requests (the account keys, code entry): a
//     check followed by a later Fail would let a burst of concurrent guesses all pass the check.
//     On success the caller calls Reset, which also cancels the provisional count.
//   - Fail counts a failure after the fact, for keys where only failures should count and a small
//     overshoot under concurrency is acceptable (per-IP password failures behind a shared NAT).
//     Check Blocked first and do not call Fail for refused requests.
//
// Both run in one transaction whose first statement is an upsert: PostgreSQL locks the row for the
// rest of the transaction (correct under READ COMMITTED), and SQLite transactions here take the
// write lock up front (database.Open sets _txlock=immediate). Times come from the node's clock, so
// nodes should keep their clocks in sync (NTP), as token expiry already requires.
//
// What callers own: which keys to consult (the password keys are consulted only on password
// attempts, so the account limit can never lock a user out of passkey sign-in); resetting only the
// account key after a success (resetting an IP key would let an attacker with one valid account
// clear their IP count between guesses); telling the user and writing the audit event when a key
// becomes blocked; and running Purge from the janitor.
package throttle
