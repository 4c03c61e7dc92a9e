// Package admin owns the administration use cases of an organisation and of the instance:
// organisations, users (create, edit, disable, CSV import, enrollment links), their passkeys and
// sessions, the passkey policy with its impact preview, OIDC clients, signing keys, adoption
// figures and the audit log.
//
// It is a top-level package because it spans both halves of the server: the directory and
// sign-in state of authn/ and the clients, keys and tokens of provider/. Neither of those fits a
// layer that drives the other, and ui/ is only one of its callers: the JSON admin API (admin/api),
// the admin pages and the command line all run the same use cases here.
//
// Every use case takes an explicit Actor (who acts: a client of the admin API, an admin signed in
// to the pages, or the command line), is scoped to the actor's organisation (another
// organisation's users and clients are ErrNotFound, so ids cannot be probed), and is audited with
// the actor, reads included. Changes and their audit records are written in one transaction.
// Errors are *Error values with a stable code and, for validation errors, the field at fault.
package admin
