package policy

import (
	"strings"
	"testing"
)

const (
	icloud   = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
	winHello = "08987058-cadc-4b81-b6e1-30de50dcbe96"
)

func TestCheckPasskey(t *testing.T) {
	deviceOnly := Default()
	deviceOnly.AllowSynced = false
	noUV := Default()
	noUV.RequireUV = false
	listed := Default()
	listed.AllowedAAGUIDs = []string{yubikey, winHello}
	listedUpper := Default()
	listedUpper.AllowedAAGUIDs = []string{strings.ToUpper(yubikey)} // not normalised by the caller
	listedDeviceOnly := listed
	listedDeviceOnly.AllowSynced = false
	strictOff := deviceOnly // the mode does not matter
	strictOff.Mode = Off

	synced := PasskeyFacts{BackupEligible: true, UserVerified: true, AAGUID: icloud}
	key := PasskeyFacts{UserVerified: true, AAGUID: yubikey, AttestationVerified: true}

	cases := []struct {
		name string
		p    Policy
		f    PasskeyFacts
		want Rule // "" = accepted
	}{
		{"default accepts a synced passkey", Default(), synced, ""},
		{"default accepts a security key", Default(), key, ""},
		{"default accepts an unknown model", Default(), PasskeyFacts{UserVerified: true}, ""},
		{"user verification required", Default(), PasskeyFacts{AAGUID: yubikey}, RuleUserVerification},
		{"user verification not required", noUV, PasskeyFacts{AAGUID: yubikey}, ""},
		{"synced refused when device-bound only", deviceOnly, synced, RuleSynced},
		{"device-bound accepted when device-bound only", deviceOnly, key, ""},
		{"rules apply under Off too", strictOff, synced, RuleSynced},
		{"user verification is checked first", deviceOnly, PasskeyFacts{BackupEligible: true}, RuleUserVerification},
		{"listed model with attestation", listed, key, ""},
		{"listed model, AAGUID in upper case", listed, PasskeyFacts{UserVerified: true, AAGUID: strings.ToUpper(yubikey), AttestationVerified: true}, ""},
		{"un-normalised list still matches", listedUpper, key, ""},
		{"listed model without attestation", listed, PasskeyFacts{UserVerified: true, AAGUID: yubikey}, RuleAttestation},
		{"unlisted model with attestation", listed, PasskeyFacts{UserVerified: true, AAGUID: icloud, AttestationVerified: true}, RuleModel},
		{"empty AAGUID with attestation", listed, PasskeyFacts{UserVerified: true, AttestationVerified: true}, RuleModel},
		{"zero AAGUID with attestation", listed, PasskeyFacts{UserVerified: true, AAGUID: zeroAAGUID, AttestationVerified: true}, RuleModel},
		{"garbage AAGUID with attestation", listed, PasskeyFacts{UserVerified: true, AAGUID: "yubikey", AttestationVerified: true}, RuleModel},
		{"listed but synced, device-bound only", listedDeviceOnly, PasskeyFacts{BackupEligible: true, UserVerified: true, AAGUID: winHello, AttestationVerified: true}, RuleSynced},
		{"listed synced model allowed", listed, PasskeyFacts{BackupEligible: true, UserVerified: true, AAGUID: winHello, AttestationVerified: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := CheckPasskey(c.p, c.f)
			if c.want == "" {
				if r != nil {
					t.Fatalf("refused: %v (%s)", r, r.Rule)
				}
				return
			}
			if r == nil {
				t.Fatalf("accepted, want refusal %s", c.want)
			}
			if r.Rule != c.want {
				t.Fatalf("rule %s, want %s (%v)", r.Rule, c.want, r)
			}
			if r.Reason == "" || r.Advice == "" || r.Error() != r.Reason+" "+r.Advice {
				t.Fatalf("refusal %+v", r)
			}
		})
	}
}

// The messages say why and what to use instead, and steer to approved keys when there is a list.
func TestRefusalMessages(t *testing.T) {
	deviceOnly := Default()
	deviceOnly.AllowSynced = false
	synced := PasskeyFacts{BackupEligible: true, UserVerified: true}
	var err error = CheckPasskey(deviceOnly, synced)
	if got, want := err.Error(), "Your organisation accepts only passkeys kept on one device, such as a security key or Windows Hello; "+
		"this passkey is synced by its provider. Use a security key, or a passkey that stays on this device such as Windows Hello, instead."; got != want {
		t.Errorf("synced:\n got %q\nwant %q", got, want)
	}

	deviceOnly.AllowedAAGUIDs = []string{yubikey}
	r := CheckPasskey(deviceOnly, synced)
	if strings.Contains(r.Reason, "Windows Hello") || r.Advice != adviceApproved {
		t.Errorf("synced with an allow-list: %+v", r)
	}

	r = CheckPasskey(Default(), PasskeyFacts{})
	if !strings.Contains(r.Reason, "PIN, fingerprint or face") || !strings.Contains(r.Advice, "screen lock or PIN") {
		t.Errorf("user verification: %+v", r)
	}

	listed := Default()
	listed.AllowedAAGUIDs = []string{yubikey}
	r = CheckPasskey(listed, PasskeyFacts{UserVerified: true, AAGUID: yubikey})
	if !strings.Contains(r.Reason, "did not prove which model") || !strings.Contains(r.Advice, "share details") {
		t.Errorf("attestation: %+v", r)
	}
	r = CheckPasskey(listed, PasskeyFacts{UserVerified: true, AAGUID: icloud, AttestationVerified: true})
	if !strings.Contains(r.Reason, "not on its list") || r.Advice != adviceApproved {
		t.Errorf("model: %+v", r)
	}
}

func TestUserSummaryStateUnder(t *testing.T) {
	deviceOnly := Default()
	deviceOnly.AllowSynced = false
	skipped := at(now)
	u := UserSummary{HasPassword: true, SkippedAt: skipped, Passkeys: []PasskeyFacts{{BackupEligible: true, UserVerified: true}}}
	if got := u.StateUnder(Default()); got != (UserState{HasPasskey: true, HasPassword: true, SkippedAt: skipped}) {
		t.Errorf("default: %+v", got)
	}
	if got := u.StateUnder(deviceOnly); got.HasPasskey || !got.HasPassword || got.SkippedAt != skipped {
		t.Errorf("only a refused passkey counts as none: %+v", got)
	}
	u.Passkeys = append(u.Passkeys, PasskeyFacts{UserVerified: true})
	if got := u.StateUnder(deviceOnly); !got.HasPasskey {
		t.Errorf("one accepted passkey is enough: %+v", got)
	}
}
