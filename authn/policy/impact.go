package policy

import (
	"fmt"
	"strings"
	"time"
)

// UserSummary is what Preview needs to know of one user. Leave disabled users out: they cannot
// sign in under any policy.
type UserSummary struct {
	HasPassword bool
	Passkeys    []PasskeyFacts
	SkippedAt   *time.Time
}

// StateUnder is the user's state as the rules see it under p: HasPasskey only if at least one of
// their passkeys passes CheckPasskey.
func (u UserSummary) StateUnder(p Policy) UserState {
	s := UserState{HasPassword: u.HasPassword, SkippedAt: u.SkippedAt}
	for _, f := range u.Passkeys {
		if CheckPasskey(p, f) == nil {
			s.HasPasskey = true
			break
		}
	}
	return s
}

// Impact is what changing a policy would do to an organisation's users. The counts of what users
// must do (the first group) describe their situation under the new policy, whether or not it
// changes, so that the admin sees everyone who will be prompted or cannot sign in; the counts of
// what users lose or gain (the second group) compare the new policy with the old one.
type Impact struct {
	Users int // users previewed

	// Under the new policy, users without a passkey it accepts:
	Required           int // must create a passkey at their next sign-in (password works until then)
	Offered            int // will be asked at their next sign-in, with "Do this later"
	OfferedLater       int // chose "Do this later" within RemindAfter; asked once that runs out
	NeedEnrollmentLink int // cannot sign in at all: no accepted passkey and no accepted password
	NoCredentials      int // of NeedEnrollmentLink: neither a passkey nor a password
	AllPasskeysRefused int // have passkeys, but the new policy refuses every one of them

	// Old against new:
	PasskeysRefused   int          // passkeys the old policy accepts and the new one refuses
	PasskeysRefusedBy map[Rule]int // the same, by the first rule each breaks
	PasswordsRetired  int          // users with an accepted passkey whose password stops being accepted
	NoLongerAsked     int          // users no longer asked or required to create a passkey
	AbleAgain         int          // users who cannot sign in under the old policy but can under the new

	// Lines are the same facts as sentences for the CLI and the admin page, most urgent first,
	// e.g. "37 users have no passkey and will be required to create one at their next sign-in".
	Lines []string
}

type keyStatus int

const (
	keysNone keyStatus = iota
	keysRefused
	keysOK
)

type pwStatus int

const (
	pwNone pwStatus = iota
	pwRefused
	pwOK
)

type outcome int

const (
	outPasskey  outcome = iota // signs in with an accepted passkey
	outPassword                // signs in with a password, nothing asked
	outLater                   // signs in with a password; asked again when "Do this later" runs out
	outOffered                 // offered a passkey with "Do this later"
	outRequired                // must create a passkey
	outNeedLink                // cannot sign in
)

// standing is one user's situation under one policy.
type standing struct {
	keys keyStatus
	pw   pwStatus
	out  outcome
}

func standingUnder(p Policy, u UserSummary, now time.Time) standing {
	st := u.StateUnder(p)
	var s standing
	switch {
	case st.HasPasskey:
		s.keys = keysOK
	case len(u.Passkeys) > 0:
		s.keys = keysRefused
	}
	switch {
	case !u.HasPassword:
		s.pw = pwNone
	case PasswordSignInAllowed(p, st, now):
		s.pw = pwOK
	default:
		s.pw = pwRefused
	}
	switch {
	case s.keys == keysOK:
		s.out = outPasskey
	case s.pw != pwOK:
		s.out = outNeedLink
	default:
		switch AfterSignIn(p, st, MethodPassword, now) {
		case OfferPasskey:
			s.out = outOffered
		case RequirePasskey:
			s.out = outRequired
		default: // Continue; RefusePassword cannot happen once PasswordSignInAllowed said yes
			s.out = outPassword
			if p.Mode.effective() == Optional {
				s.out = outLater
			}
		}
	}
	return s
}

// Preview reports what changing the policy from old to proposed would do to users at time now. The
// CLI and the admin page show Lines and apply the change only when the admin confirms. Callers
// should Validate proposed first; Preview does not.
func Preview(old, proposed Policy, users []UserSummary, now time.Time) Impact {
	im := Impact{Users: len(users), PasskeysRefusedBy: map[Rule]int{}}
	groups := map[standing]int{}
	for _, u := range users {
		was, is := standingUnder(old, u, now), standingUnder(proposed, u, now)
		groups[is]++
		switch is.out {
		case outRequired:
			im.Required++
		case outOffered:
			im.Offered++
		case outLater:
			im.OfferedLater++
		case outNeedLink:
			im.NeedEnrollmentLink++
			if is.keys == keysNone && is.pw == pwNone {
				im.NoCredentials++
			}
		}
		if is.keys == keysRefused {
			im.AllPasskeysRefused++
		}
		for _, f := range u.Passkeys {
			if CheckPasskey(old, f) != nil {
				continue
			}
			if r := CheckPasskey(proposed, f); r != nil {
				im.PasskeysRefused++
				im.PasskeysRefusedBy[r.Rule]++
			}
		}
		if is.keys == keysOK && was.pw == pwOK && is.pw == pwRefused {
			im.PasswordsRetired++
		}
		if (was.out == outOffered || was.out == outLater || was.out == outRequired) && is.out == outPassword {
			im.NoLongerAsked++
		}
		if was.out == outNeedLink && is.out != outNeedLink {
			im.AbleAgain++
		}
	}
	im.Lines = lines(proposed, im, groups, now)
	return im
}

// groupOrder lists the situations that get a sentence, most urgent first.
var groupOrder = []standing{
	{keysNone, pwNone, outNeedLink}, {keysNone, pwRefused, outNeedLink},
	{keysRefused, pwNone, outNeedLink}, {keysRefused, pwRefused, outNeedLink},
	{keysNone, pwOK, outRequired}, {keysRefused, pwOK, outRequired},
	{keysNone, pwOK, outOffered}, {keysRefused, pwOK, outOffered},
	{keysNone, pwOK, outLater}, {keysRefused, pwOK, outLater},
	{keysRefused, pwOK, outPassword},
}

func lines(p Policy, im Impact, groups map[standing]int, now time.Time) []string {
	var out []string
	for _, g := range groupOrder {
		if n := groups[g]; n > 0 {
			out = append(out, sentence(g, n))
		}
	}
	if im.Required > 0 && p.Mode.effective() == Mandatory && p.PasswordsEndAt != nil && now.Before(*p.PasswordsEndAt) {
		out = append(out, fmt.Sprintf("Passwords stop working on %s; users who have not created a passkey by then will need an enrollment link.",
			p.PasswordsEndAt.UTC().Format("2006-01-02 15:04 MST")))
	}
	if n := im.PasswordsRetired; n > 0 {
		out = append(out, plural(n, "1 user has", "%d users have")+
			" a passkey and a password; the password will no longer be accepted, so they will sign in with their passkey")
	}
	if n := im.PasskeysRefused; n > 0 {
		var parts []string
		for _, r := range []struct {
			rule Rule
			what string
		}{
			{RuleUserVerification, "%d used without a PIN or biometric check"},
			{RuleSynced, "%d synced"},
			{RuleAttestation, "%d whose model was not proven"},
			{RuleModel, "%d of a model not on the list"},
		} {
			if k := im.PasskeysRefusedBy[r.rule]; k > 0 {
				parts = append(parts, fmt.Sprintf(r.what, k))
			}
		}
		out = append(out, plural(n, "1 passkey", "%d passkeys")+" accepted today will be refused at sign-in ("+strings.Join(parts, ", ")+")")
	}
	if n := im.NoLongerAsked; n > 0 {
		out = append(out, plural(n, "1 user", "%d users")+" without a passkey will no longer be asked to create one")
	}
	if n := im.AbleAgain; n > 0 {
		out = append(out, plural(n, "1 user who cannot sign in today", "%d users who cannot sign in today")+" will be able to again")
	}
	if len(out) == 0 {
		out = append(out, "No user is affected.")
	}
	return out
}

func sentence(g standing, n int) string {
	s := plural(n, "1 user has ", "%d users have ")
	switch {
	case g.keys == keysNone && g.pw == pwNone:
		s += "neither a passkey nor a password"
	case g.keys == keysNone && g.pw == pwRefused:
		s += "no passkey and a password that is no longer accepted"
	case g.keys == keysNone:
		s += "no passkey"
	case g.pw == pwNone:
		s += "only passkeys the new policy refuses and no password"
	case g.pw == pwRefused:
		s += "only passkeys the new policy refuses and a password that is no longer accepted"
	default:
		s += "only passkeys the new policy refuses"
	}
	one := "one"
	if g.keys == keysRefused {
		one = "a new one"
	}
	switch g.out {
	case outNeedLink:
		if g.keys == keysNone && g.pw == pwNone {
			if n == 1 {
				return s + " and needs an enrollment link"
			}
			return s + " and need an enrollment link"
		}
		return s + "; they need an enrollment link"
	case outRequired:
		return s + " and will be required to create " + one + " at their next sign-in"
	case outOffered:
		return s + " and will be asked to create " + one + ` at their next sign-in (they may choose "Do this later")`
	case outLater:
		return s + ` and recently chose "Do this later"; they will be asked to create ` + one + " once that runs out"
	}
	return s + " and will sign in with their password instead"
}

// plural picks the singular or plural form; the plural one takes the count as %d.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf(many, n)
}
