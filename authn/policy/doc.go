// Package policy owns an organisation's passkey policy and the rules that follow from it, as pure
// functions: no database, no HTTP, no clock of its own (callers pass now). PRODUCT.md, "The
// organisation's passkey policy", and journeys 1 and 2 are the source of the rules.
//
// A Policy is the organisation's setting (Off, Optional or Mandatory), an optional date from which
// passwords stop working (Mandatory only), and which passkeys count: user verification required or
// not, synced passkeys accepted or only device-bound ones, and an optional allow-list of
// authenticator models (AAGUIDs). It also says whether users may create self-service recovery codes
// (RecoveryCodes, off by default; authn/recovery owns the codes). The package answers:
//
//   - after a successful primary sign-in, what must happen next (AfterSignIn: continue, offer a
//     passkey with "Do this later", require a passkey, or refuse the password);
//   - whether to offer the password form at all (PasswordSignInAllowed, PasswordsRetired);
//   - what an enrollment link lets the user do (Enrollment) and whether a legacy password is
//     deleted when the first passkey is created (DeletePasswordOnFirstPasskey);
//   - whether a passkey satisfies the policy, at registration and again at every sign-in, since
//     the policy may have been tightened after the passkey was created (CheckPasskey, whose
//     Refusal says why in plain language and what to use instead);
//   - what a change of policy would do to an organisation's users, so that a change never locks
//     anyone out silently (Preview, shown by the CLI and the admin page before they apply it).
//
// Rules the issue leaves open, decided here:
//   - A passkey sign-in is always Continue, under every mode: turning passkeys Off must never lock
//     out someone whose password was deleted. Whether that passkey still satisfies the policy is
//     CheckPasskey's question, which the caller asks separately.
//   - UserState.HasPasskey means "has a passkey that CheckPasskey accepts" (UserSummary.StateUnder
//     computes it): a user whose only passkeys the policy now refuses is treated as having none,
//     so a password, where one exists, still gets them in to create a new one.
//   - Under Off, password users continue. Under Optional, a password user without a passkey is
//     offered one unless they chose "Do this later" less than RemindAfter ago (RemindAfter 0: at
//     every sign-in); one who has a passkey keeps the password as a fallback and continues.
//     Under Mandatory, a password user without a passkey must create one before the deadline and
//     is refused from it on; a password sign-in by a user who has a passkey is refused (they use
//     the passkey; their password should already have been deleted).
//   - The deadline counts only under Mandatory, and passwords stop working at that instant.
//   - The caller's state is distrusted where it contradicts itself, and the answer fails closed: a
//     password sign-in by a user with no password is refused; a "Do this later" time in the
//     future is ignored (the user is asked again); an unknown Mode is treated as Mandatory and an
//     unknown Method as a password (Validate and ParseMode reject both before they are stored).
//
// Verifying passwords and passkeys, storing policies and users, and rendering prompts belong to
// the callers (authn/login, authn/passkey, authn/enroll, authn/directory, the admin pages).
package policy
