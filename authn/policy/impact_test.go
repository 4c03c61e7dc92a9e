package policy

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func repeat(n int, u UserSummary) []UserSummary {
	out := make([]UserSummary, n)
	for i := range out {
		out[i] = u
	}
	return out
}

func concat(groups ...[]UserSummary) []UserSummary { return slices.Concat(groups...) }

func policyWith(f func(*Policy)) Policy {
	p := Default()
	f(&p)
	return p
}

var (
	passwordOnly = UserSummary{HasPassword: true}
	nothing      = UserSummary{}
	syncedKey    = PasskeyFacts{BackupEligible: true, UserVerified: true, AAGUID: icloud}
	deviceKey    = PasskeyFacts{UserVerified: true, AAGUID: yubikey, AttestationVerified: true}
	keyUser      = UserSummary{Passkeys: []PasskeyFacts{deviceKey}}
	syncedUser   = UserSummary{Passkeys: []PasskeyFacts{syncedKey}}

	optional      = policyWith(func(p *Policy) { p.Mode, p.RemindAfter = Optional, 7*24*time.Hour })
	mandatory     = policyWith(func(p *Policy) { p.Mode = Mandatory })
	mandatoryPast = policyWith(func(p *Policy) { p.Mode, p.PasswordsEndAt = Mandatory, at(now.Add(-24*time.Hour)) })
	deviceOnlyM   = policyWith(func(p *Policy) { p.Mode, p.AllowSynced = Mandatory, false })
)

func TestPreview(t *testing.T) {
	cases := []struct {
		name     string
		old, new Policy
		users    []UserSummary
		lines    []string
		check    func(Impact) bool // the counts, where the lines alone would not show them
	}{
		{
			name: "off to mandatory",
			old:  Default(), new: mandatory,
			users: concat(repeat(37, passwordOnly), repeat(4, nothing), repeat(5, keyUser),
				repeat(2, UserSummary{HasPassword: true, Passkeys: []PasskeyFacts{syncedKey}})),
			lines: []string{
				"4 users have neither a passkey nor a password and need an enrollment link",
				"37 users have no passkey and will be required to create one at their next sign-in",
				"2 users have a passkey and a password; the password will no longer be accepted, so they will sign in with their passkey",
			},
			check: func(im Impact) bool {
				got := im
				got.PasskeysRefusedBy, got.Lines = nil, nil
				return len(im.PasskeysRefusedBy) == 0 && reflect.DeepEqual(got,
					Impact{Users: 48, Required: 37, NeedEnrollmentLink: 4, NoCredentials: 4, PasswordsRetired: 2})
			},
		},
		{
			name: "off to optional, some chose Do this later",
			old:  Default(), new: optional,
			users: concat(repeat(10, passwordOnly),
				repeat(3, UserSummary{HasPassword: true, SkippedAt: at(now.Add(-time.Hour))}),
				repeat(1, UserSummary{HasPassword: true, SkippedAt: at(now.Add(-30 * 24 * time.Hour))}),
				repeat(1, nothing)),
			lines: []string{
				"1 user has neither a passkey nor a password and needs an enrollment link",
				`11 users have no passkey and will be asked to create one at their next sign-in (they may choose "Do this later")`,
				`3 users have no passkey and recently chose "Do this later"; they will be asked to create one once that runs out`,
			},
			check: func(im Impact) bool {
				return im.Users == 15 && im.Offered == 11 && im.OfferedLater == 3 && im.NeedEnrollmentLink == 1 && im.Required == 0
			},
		},
		{
			name: "mandatory stops accepting synced passkeys",
			old:  mandatory, new: deviceOnlyM,
			users: concat(repeat(6, syncedUser),
				repeat(2, UserSummary{Passkeys: []PasskeyFacts{syncedKey, deviceKey}}),
				repeat(3, UserSummary{HasPassword: true, Passkeys: []PasskeyFacts{syncedKey}}),
				repeat(4, keyUser)),
			lines: []string{
				"6 users have only passkeys the new policy refuses and no password; they need an enrollment link",
				"3 users have only passkeys the new policy refuses and will be required to create a new one at their next sign-in",
				"11 passkeys accepted today will be refused at sign-in (11 synced)",
			},
			check: func(im Impact) bool {
				return im.AllPasskeysRefused == 9 && im.NeedEnrollmentLink == 6 && im.NoCredentials == 0 && im.Required == 3 &&
					im.PasskeysRefused == 11 && im.PasskeysRefusedBy[RuleSynced] == 11 && len(im.PasskeysRefusedBy) == 1 &&
					im.PasswordsRetired == 0 // their password was already not accepted, and now it is their way in
			},
		},
		{
			name: "deadline passes",
			old:  mandatory, new: mandatoryPast,
			users: concat(repeat(5, passwordOnly), repeat(2, keyUser), repeat(1, nothing)),
			lines: []string{
				"1 user has neither a passkey nor a password and needs an enrollment link",
				"5 users have no passkey and a password that is no longer accepted; they need an enrollment link",
			},
			check: func(im Impact) bool { return im.NeedEnrollmentLink == 6 && im.NoCredentials == 1 && im.AbleAgain == 0 },
		},
		{
			name: "deadline passed and synced passkeys refused",
			old:  mandatory, new: policyWith(func(p *Policy) { *p = mandatoryPast; p.AllowSynced = false }),
			users: []UserSummary{{HasPassword: true, Passkeys: []PasskeyFacts{syncedKey}}},
			lines: []string{
				"1 user has only passkeys the new policy refuses and a password that is no longer accepted; they need an enrollment link",
				"1 passkey accepted today will be refused at sign-in (1 synced)",
			},
		},
		{
			name: "deadline removed",
			old:  mandatoryPast, new: mandatory,
			users: repeat(5, passwordOnly),
			lines: []string{
				"5 users have no passkey and will be required to create one at their next sign-in",
				"5 users who cannot sign in today will be able to again",
			},
			check: func(im Impact) bool { return im.AbleAgain == 5 && im.Required == 5 && im.NeedEnrollmentLink == 0 },
		},
		{
			name: "deadline ahead",
			old:  Default(),
			new: policyWith(func(p *Policy) {
				p.Mode, p.PasswordsEndAt = Mandatory, at(time.Date(2027, 1, 31, 10, 0, 0, 0, time.FixedZone("CET", 3600)))
			}),
			users: []UserSummary{passwordOnly, keyUser},
			lines: []string{
				"1 user has no passkey and will be required to create one at their next sign-in",
				"Passwords stop working on 2027-01-31 09:00 UTC; users who have not created a passkey by then will need an enrollment link.",
			},
		},
		{
			name: "optional back to off",
			old:  optional, new: Default(),
			users: concat(repeat(4, passwordOnly), repeat(1, UserSummary{HasPassword: true, SkippedAt: at(now)}), repeat(2, keyUser)),
			lines: []string{"5 users without a passkey will no longer be asked to create one"},
			check: func(im Impact) bool { return im.NoLongerAsked == 5 && im.Offered == 0 },
		},
		{
			name: "off, synced passkeys refused, password still works",
			old:  Default(), new: policyWith(func(p *Policy) { p.AllowSynced = false }),
			users: []UserSummary{{HasPassword: true, Passkeys: []PasskeyFacts{syncedKey}}, syncedUser},
			lines: []string{
				"1 user has only passkeys the new policy refuses and no password; they need an enrollment link",
				"1 user has only passkeys the new policy refuses and will sign in with their password instead",
				"2 passkeys accepted today will be refused at sign-in (2 synced)",
			},
		},
		{
			name: "optional with an allow-list",
			old:  optional, new: policyWith(func(p *Policy) { *p = optional; p.AllowedAAGUIDs = []string{yubikey} }),
			users: []UserSummary{
				{HasPassword: true, Passkeys: []PasskeyFacts{{UserVerified: true, AAGUID: yubikey}}}, // attestation none
				{HasPassword: true, SkippedAt: at(now.Add(-time.Hour)), Passkeys: []PasskeyFacts{
					{BackupEligible: true, UserVerified: true, AAGUID: icloud, AttestationVerified: true}}},
				keyUser,
			},
			lines: []string{
				`1 user has only passkeys the new policy refuses and will be asked to create a new one at their next sign-in (they may choose "Do this later")`,
				`1 user has only passkeys the new policy refuses and recently chose "Do this later"; they will be asked to create a new one once that runs out`,
				"2 passkeys accepted today will be refused at sign-in (1 whose model was not proven, 1 of a model not on the list)",
			},
			check: func(im Impact) bool {
				return im.PasskeysRefusedBy[RuleAttestation] == 1 && im.PasskeysRefusedBy[RuleModel] == 1 && im.AllPasskeysRefused == 2
			},
		},
		{
			name: "every passkey rule at once",
			old:  policyWith(func(p *Policy) { p.Mode, p.RequireUV = Mandatory, false }),
			new:  policyWith(func(p *Policy) { p.Mode, p.AllowSynced, p.AllowedAAGUIDs = Mandatory, false, []string{yubikey} }),
			users: []UserSummary{
				{Passkeys: []PasskeyFacts{{AAGUID: yubikey, AttestationVerified: true}}},
				{Passkeys: []PasskeyFacts{{BackupEligible: true, UserVerified: true, AAGUID: yubikey, AttestationVerified: true}}},
				{Passkeys: []PasskeyFacts{{UserVerified: true, AAGUID: yubikey}}},
				{Passkeys: []PasskeyFacts{{UserVerified: true, AAGUID: winHello, AttestationVerified: true}}},
				keyUser,
			},
			lines: []string{
				"4 users have only passkeys the new policy refuses and no password; they need an enrollment link",
				"4 passkeys accepted today will be refused at sign-in (1 used without a PIN or biometric check, 1 synced, 1 whose model was not proven, 1 of a model not on the list)",
			},
		},
		{
			name:  "passkeys refused before and after are not counted as newly refused",
			old:   policyWith(func(p *Policy) { *p = optional; p.AllowSynced = false }),
			new:   policyWith(func(p *Policy) { *p = optional; p.AllowSynced, p.RemindAfter = false, 0 }),
			users: []UserSummary{{HasPassword: true, Passkeys: []PasskeyFacts{syncedKey}}},
			lines: []string{
				`1 user has only passkeys the new policy refuses and will be asked to create a new one at their next sign-in (they may choose "Do this later")`,
			},
			check: func(im Impact) bool { return im.PasskeysRefused == 0 && im.AllPasskeysRefused == 1 },
		},
		{
			name: "nothing changes for anyone",
			old:  Default(), new: policyWith(func(p *Policy) { p.RemindAfter = time.Hour }),
			users: concat(repeat(3, passwordOnly), repeat(2, keyUser)),
			lines: []string{"No user is affected."},
		},
		{
			name: "no users",
			old:  Default(), new: mandatory,
			lines: []string{"No user is affected."},
			check: func(im Impact) bool { return im.Users == 0 },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := Preview(c.old, c.new, c.users, now)
			if !slices.Equal(im.Lines, c.lines) {
				t.Errorf("lines:\n got %q\nwant %q", im.Lines, c.lines)
			}
			if im.Users != len(c.users) {
				t.Errorf("Users = %d, want %d", im.Users, len(c.users))
			}
			if c.check != nil && !c.check(im) {
				t.Errorf("counts: %+v", im)
			}
		})
	}
}
