package passkey

import (
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/portcullis-id/portcullis/authn/policy"
)

// plainError is a sentence for the person at the browser (capitalised and punctuated on purpose,
// unlike Go's usual error strings).
type plainError string

func (e plainError) Error() string { return string(e) }

// Errors returned by the Service. Their messages are written for the person at the browser and
// can be shown as they are; wrap them with Detail for logs (see Error).
var (
	// ErrCeremonyExpired: the ceremony is unknown, already used, past its timeout, or was begun
	// for something else (another user, another kind of ceremony, another challenge).
	ErrCeremonyExpired = plainError("This attempt expired. Please try again.")
	// ErrNotRecognised: the passkey is not one of this account's passkeys. Also returned for an
	// unknown username, so that sign-in does not reveal which accounts exist.
	ErrNotRecognised = plainError("This passkey is not registered for this account.")
	// ErrUserVerification: the authenticator did not verify the user (PIN, pattern or biometrics).
	ErrUserVerification = plainError("Your device did not verify it's you (PIN or biometrics). Try again.")
	// ErrWrongSite: the response was made for another origin or relying party id; either a
	// look-alike site relayed it, or the server's public address is configured wrongly.
	ErrWrongSite = plainError("This passkey response was made for a different website. Check the address in your browser and try again.")
	// ErrInvalidResponse: the browser's response could not be read or its signature did not verify.
	ErrInvalidResponse = plainError("Your passkey's response could not be verified. Please try again.")
	// ErrCounterRegression: a device-bound passkey's signature counter went backwards, which
	// suggests the authenticator was copied. The passkey is flagged and no longer signs in.
	ErrCounterRegression = plainError("This passkey was blocked because it may have been copied. Sign in another way, then remove it and add a new one.")
	// ErrUserDisabled: the passkey is valid but its account is disabled.
	ErrUserDisabled = plainError("This account is disabled. Ask your administrator for help.")
	// ErrAlreadyRegistered: this passkey is already registered (to this or another account).
	ErrAlreadyRegistered = plainError("This passkey is already registered.")
	// ErrLastPasskey: removing the passkey would leave the account with no way to sign in.
	ErrLastPasskey = plainError("You can't remove your only passkey. Add another passkey first.")
	// ErrNotFound: no such passkey on this account.
	ErrNotFound = plainError("That passkey does not exist.")
	// ErrInvalidName: a passkey name must be 1 to 64 characters.
	ErrInvalidName = plainError("Passkey names must be 1 to 64 characters long.")
	// ErrPolicy: the passkey does not satisfy the organisation's passkey policy (at registration,
	// or at sign-in after the policy was tightened). The error returned matches it with errors.Is
	// but its message is the policy's own reason and advice, e.g. "Your organisation accepts only
	// passkeys kept on one device, … Use a security key … instead."; PolicyRefusal gives the parts.
	// This message is the fallback.
	ErrPolicy = plainError("This passkey does not meet your organisation's requirements. Ask your administrator which passkeys it accepts.")
)

// policyError is the kind of a policy refusal: its message is the Refusal's, it matches ErrPolicy,
// and it unwraps to the *policy.Refusal.
type policyError struct{ r *policy.Refusal }

func (e policyError) Error() string        { return e.r.Error() }
func (e policyError) Is(target error) bool { return target == ErrPolicy }
func (e policyError) Unwrap() error        { return e.r }

// PolicyRefusal returns why the organisation's policy refused a passkey (Reason) and what to use
// instead (Advice), if err is such a refusal (errors.Is(err, ErrPolicy)). Its Rule is for logs;
// Detail(err) includes it.
func PolicyRefusal(err error) (*policy.Refusal, bool) {
	var r *policy.Refusal
	if errors.As(err, &r) {
		return r, true
	}
	return nil, false
}

// Error is a refusal with its technical reason. errors.Is matches its sentinel (and the
// underlying go-webauthn error, if any); Error() is the sentinel's plain message; Detail() is
// for logs.
type Error struct {
	kind   error
	detail string
	cause  error
}

func (e *Error) Error() string { return e.kind.Error() }

// Unwrap exposes the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Detail returns the technical reason for the refusal, for logs. It may name credential ids and
// origins but never secrets.
func (e *Error) Detail() string {
	d := e.detail
	if e.cause != nil {
		if d != "" {
			d += ": "
		}
		d += describe(e.cause)
	}
	if d == "" {
		return e.kind.Error()
	}
	return d
}

// Detail returns the technical reason behind err if it is an *Error, and err's message otherwise.
func Detail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func refuse(kind error, cause error, format string, args ...any) error {
	return &Error{kind: kind, detail: fmt.Sprintf(format, args...), cause: cause}
}

// describe spells out a go-webauthn error, whose Error() is only its short summary.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		s := pe.Type + ": " + pe.Details
		if pe.DevInfo != "" {
			s += " (" + pe.DevInfo + ")"
		}
		if pe.Err != nil && pe.Err.Error() != pe.Details {
			s += ": " + pe.Err.Error()
		}
		return s
	}
	return err.Error()
}

// RegistrationMessage is the sentence a person sees when a new passkey is refused: the policy's
// reason and advice, an expired ceremony or missing user verification as such, and otherwise a
// plain "try again" (the details stay in Detail, for the log).
func RegistrationMessage(err error) string {
	if ref, ok := PolicyRefusal(err); ok {
		return ref.Error()
	}
	if errors.Is(err, ErrCeremonyExpired) || errors.Is(err, ErrUserVerification) {
		return err.Error()
	}
	return "Your passkey could not be created. Please try again."
}
