package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mode is the organisation's passkey setting.
type Mode string

// The three settings (PRODUCT.md, "The organisation's passkey policy").
const (
	// Off: users sign in with a password; passkeys are not offered (but one who already has a
	// passkey may still sign in with it).
	Off Mode = "off"
	// Optional: a user without a passkey is asked to create one at sign-in and may choose "Do
	// this later".
	Optional Mode = "optional"
	// Mandatory: a user without a passkey must create one before getting into any app.
	Mandatory Mode = "mandatory"
)

// ParseMode reads a mode as an admin types it: case and surrounding spaces do not matter.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Off, Optional, Mandatory:
		return m, nil
	}
	return "", fmt.Errorf("passkey mode %q: use off, optional or mandatory", s)
}

func (m Mode) valid() bool { return m == Off || m == Optional || m == Mandatory }

// effective is the mode the rules apply: an unknown mode fails closed, as Mandatory.
func (m Mode) effective() Mode {
	if m.valid() {
		return m
	}
	return Mandatory
}

// Policy is one organisation's passkey policy.
type Policy struct {
	Mode Mode
	// PasswordsEndAt is when password sign-in stops for the whole organisation; Mandatory only,
	// nil for no deadline.
	PasswordsEndAt *time.Time
	// RequireUV requires user verification (PIN or biometrics, WebAuthn §6.3.3 "UV" flag) for
	// every passkey. Default true.
	RequireUV bool
	// AllowSynced accepts backup-eligible (synced) passkeys; false accepts only device-bound ones.
	// Default true.
	AllowSynced bool
	// AllowedAAGUIDs, when not empty, lists the authenticator models accepted, as lower-case
	// 8-4-4-4-12 UUIDs. An AAGUID counts only when an attestation statement vouched for it,
	// so a non-empty list needs attestation conveyance "direct" (NeedsDirectAttestation).
	AllowedAAGUIDs []string
	// RemindAfter is how long "Do this later" lasts under Optional; 0 asks at every sign-in.
	RemindAfter time.Duration
	// RecoveryCodes lets users create ten single-use recovery codes that each let them add a
	// passkey on a new device without an administrator (PRODUCT.md journey 5). Default false:
	// a code is a bearer secret on paper, which not every organisation accepts.
	RecoveryCodes bool
}

// Default is a new organisation's policy: Off (PRODUCT.md: new organisations start at Off), user
// verification required, synced passkeys accepted, any authenticator, asked at every sign-in.
func Default() Policy {
	return Policy{Mode: Off, RequireUV: true, AllowSynced: true}
}

// Validate reports every problem with p, joined, in words an admin can act on. It accepts
// AAGUIDs in any case; Normalize returns the canonical form to store.
func (p Policy) Validate() error {
	_, err := p.Normalize()
	return err
}

// Normalize validates p and returns a copy in canonical form: AAGUIDs lower-case, without
// duplicates, in their original order; the deadline in UTC. The caller's slice is not modified.
func (p Policy) Normalize() (Policy, error) {
	var errs []error
	if !p.Mode.valid() {
		errs = append(errs, fmt.Errorf("passkey mode %q: use off, optional or mandatory", p.Mode))
	}
	if p.PasswordsEndAt != nil {
		switch {
		case p.Mode != Mandatory:
			errs = append(errs, fmt.Errorf("a date when passwords stop working needs passkey mode mandatory (mode is %q)", p.Mode))
		case p.PasswordsEndAt.IsZero():
			errs = append(errs, errors.New("the date when passwords stop working is empty: give a date or none"))
		default:
			t := p.PasswordsEndAt.UTC()
			p.PasswordsEndAt = &t
		}
	}
	if p.RemindAfter < 0 {
		errs = append(errs, fmt.Errorf("remind after %s: use 0 (ask at every sign-in) or a positive duration", p.RemindAfter))
	}
	var aaguids []string
	for _, a := range p.AllowedAAGUIDs {
		c, err := canonicalAAGUID(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(aaguids, c) {
			aaguids = append(aaguids, c)
		}
	}
	p.AllowedAAGUIDs = aaguids
	if err := errors.Join(errs...); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// NeedsDirectAttestation reports whether passkey registration must ask for attestation "direct"
// (WebAuthn §5.4.7): an AAGUID allow-list is only as good as the attestation statement that
// vouches for the AAGUID.
func (p Policy) NeedsDirectAttestation() bool { return len(p.AllowedAAGUIDs) > 0 }

// PasskeysOffered reports whether sign-in and the account page offer to create passkeys: not
// under Off (PRODUCT.md: "Passkeys are not offered").
func PasskeysOffered(p Policy) bool { return p.Mode.effective() != Off }

const zeroAAGUID = "00000000-0000-0000-0000-000000000000"

// canonicalAAGUID returns the lower-case 8-4-4-4-12 form of an AAGUID (WebAuthn §6.5.1: 16
// bytes, conventionally written as a UUID). The all-zero AAGUID is refused: authenticators send
// it when they do not say which model they are, so it identifies none.
func canonicalAAGUID(s string) (string, error) {
	c := strings.ToLower(strings.TrimSpace(s))
	ok := len(c) == 36
	for i := 0; ok && i < len(c); i++ {
		switch i {
		case 8, 13, 18, 23:
			ok = c[i] == '-'
		default:
			ok = c[i] >= '0' && c[i] <= '9' || c[i] >= 'a' && c[i] <= 'f'
		}
	}
	if !ok {
		return "", fmt.Errorf("AAGUID %q: write it as a UUID, e.g. ee882879-721c-4913-9775-3dfcce97072a", s)
	}
	if c == zeroAAGUID {
		return "", fmt.Errorf("AAGUID %s: the all-zero AAGUID names no authenticator model", c)
	}
	return c, nil
}
