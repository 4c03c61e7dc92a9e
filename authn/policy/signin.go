package policy

import (
	"fmt"
	"time"
)

// Method is how the user proved who they are at the primary sign-in.
type Method string

// Sign-in methods.
const (
	MethodPasskey  Method = "passkey"
	MethodPassword Method = "password"
)

// UserState is what the rules need to know about a user.
type UserState struct {
	// HasPasskey: the user has at least one passkey that CheckPasskey accepts under the policy
	// (UserSummary.StateUnder computes it). A passkey the policy refuses does not count.
	HasPasskey bool
	// HasPassword: the user has a legacy password.
	HasPassword bool
	// SkippedAt is when the user last chose "Do this later"; nil if never.
	SkippedAt *time.Time
}

// Next is what must happen after a successful primary sign-in. The zero value is none of them,
// so a forgotten assignment is not mistaken for Continue.
type Next int

// The possible next steps.
const (
	// Continue: the user is signed in; carry on to the app.
	Continue Next = iota + 1
	// OfferPasskey: ask the user to create a passkey, with a "Do this later" button.
	OfferPasskey
	// RequirePasskey: the user must create a passkey before getting into any app; no skip.
	RequirePasskey
	// RefusePassword: the password was right but is not accepted here; the user is not signed in.
	RefusePassword
)

func (n Next) String() string {
	switch n {
	case Continue:
		return "Continue"
	case OfferPasskey:
		return "OfferPasskey"
	case RequirePasskey:
		return "RequirePasskey"
	case RefusePassword:
		return "RefusePassword"
	}
	return fmt.Sprintf("Next(%d)", int(n))
}

// AfterSignIn says what must happen after a successful primary sign-in by u with method m.
//
// A passkey sign-in is Continue under every mode (check the passkey with CheckPasskey first).
// Any other method is treated as a password:
//
//	user state                  Off       Optional                          Mandatory
//	no password on record       Refuse    Refuse                            Refuse
//	has a passkey               Continue  Continue (password is fallback)   Refuse (use the passkey)
//	no passkey                  Continue  Offer, or Continue when "Do this  Require before the deadline,
//	                                      later" was chosen < RemindAfter   Refuse from it on
//	                                      ago
func AfterSignIn(p Policy, u UserState, m Method, now time.Time) Next {
	if m == MethodPasskey {
		return Continue
	}
	if !PasswordSignInAllowed(p, u, now) {
		return RefusePassword
	}
	switch p.Mode.effective() {
	case Optional:
		if u.HasPasskey || skippedRecently(p, u, now) {
			return Continue
		}
		return OfferPasskey
	case Mandatory:
		// PasswordSignInAllowed has refused users with a passkey and every user after the deadline.
		return RequirePasskey
	}
	return Continue
}

// skippedRecently: the user chose "Do this later" less than RemindAfter ago. A time in the future
// is not trusted (clock skew or a bad record) and the user is asked again.
func skippedRecently(p Policy, u UserState, now time.Time) bool {
	if u.SkippedAt == nil || p.RemindAfter <= 0 || u.SkippedAt.After(now) {
		return false
	}
	return now.Sub(*u.SkippedAt) < p.RemindAfter
}

// PasswordSignInAllowed reports whether u may sign in with a password at all, i.e. whether to
// offer them the password form: only if they have a password, and not under Mandatory once they
// have a passkey or the deadline has passed. It agrees with AfterSignIn: a password sign-in is
// refused exactly when this is false.
//
// The answer depends on the user's state; a login page that must not reveal which accounts exist
// or have passwords can show the form to everyone while !PasswordsRetired and rely on
// AfterSignIn after the password is verified.
func PasswordSignInAllowed(p Policy, u UserState, now time.Time) bool {
	if !u.HasPassword {
		return false
	}
	if p.Mode.effective() == Mandatory {
		return !u.HasPasskey && !PasswordsRetired(p, now)
	}
	return true
}

// PasswordsRetired reports whether the organisation's passwords have stopped working: Mandatory
// with a deadline that is now or past. Show such users how to get an enrollment link from their
// admin instead of a password form.
func PasswordsRetired(p Policy, now time.Time) bool {
	return p.Mode.effective() == Mandatory && p.PasswordsEndAt != nil && !now.Before(*p.PasswordsEndAt)
}

// DeletePasswordOnFirstPasskey reports whether creating a user's first passkey deletes their
// legacy password: under Mandatory. Optional organisations let the user keep it as a fallback
// until they remove it (PRODUCT.md).
func DeletePasswordOnFirstPasskey(p Policy) bool { return p.Mode.effective() == Mandatory }

// EnrollChoice is what opening an enrollment link lets the user do.
type EnrollChoice int

// The enrollment choices; the zero value is none of them.
const (
	// PasskeyOnly: create a passkey; no skip.
	PasskeyOnly EnrollChoice = iota + 1
	// PasskeyOrPassword: create a passkey, or choose "Do this later" and set a password.
	PasskeyOrPassword
	// PasswordOnly: set a password.
	PasswordOnly
)

func (c EnrollChoice) String() string {
	switch c {
	case PasskeyOnly:
		return "PasskeyOnly"
	case PasskeyOrPassword:
		return "PasskeyOrPassword"
	case PasswordOnly:
		return "PasswordOnly"
	}
	return fmt.Sprintf("EnrollChoice(%d)", int(c))
}

// Enrollment says what an enrollment link offers (PRODUCT.md journey 1): Mandatory a passkey,
// Optional a passkey or "Do this later" with a password, Off a password. The password deadline
// does not matter: under Mandatory the link never offers a password.
func Enrollment(p Policy) EnrollChoice {
	switch p.Mode.effective() {
	case Off:
		return PasswordOnly
	case Optional:
		return PasskeyOrPassword
	}
	return PasskeyOnly
}
