// Package roster owns the CSV import of joiners and leavers (`portcullis users import`): it
// parses the file into validated rows and plans what the import would change against the users
// that already exist in the organisation. It is pure: no database, no clock, no I/O beyond the
// reader it is given, so the same plan serves the CLI, the admin pages' dry-run preview and the
// real import.
//
// The caller (the lead's import command) loads the organisation's users, calls Parse and
// MakePlan, shows Plan.Summary, and, unless it is a dry run, applies the whole plan inside one
// transaction: create (and send each new user an enrollment link), update, re-enable, disable
// (ending sessions and revoking tokens). Either every row is good and the whole plan is applied,
// or the caller gets every bad row at once (Errors, each naming its line) and applies nothing.
//
// Decisions this package makes:
//   - Usernames are stored as given, but two rows whose usernames differ only in case, or a row
//     that matches an existing user only by case, are errors: they are almost always a typo, and
//     accepting them would create look-alike accounts.
//   - An empty optional column keeps the stored value; an import never clears a display name,
//     email or roles (use the admin pages for that). A non-empty roles column replaces the
//     user's roles.
//   - A password_hash can't be compared with the stored one, so a non-empty value is always a
//     change; for a user who already has a password it replaces it, and the summary says so.
//   - Role names are ASCII letters, digits and - _ : . (they end up in tokens, where a look-alike
//     letter must not pass for another role); "Admin" and other case variants of the built-in
//     "admin" are refused rather than silently granting, or not granting, administration.
//   - In leavers mode only the username column matters; the other columns are validated but
//     not applied.
//   - full-sync refuses an empty file: it would disable every user of the organisation.
package roster
