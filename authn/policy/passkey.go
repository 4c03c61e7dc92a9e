package policy

import "slices"

// PasskeyFacts is what the policy looks at in a passkey: at registration, from the verified
// attestation; at sign-in, from the stored passkey and the assertion's flags.
type PasskeyFacts struct {
	// BackupEligible is the authenticator data's BE flag (WebAuthn §6.1): the passkey may be
	// synced by its provider. That is what "synced" means here; BS (backed up now) can change.
	BackupEligible bool
	// UserVerified is the UV flag (§6.1): the authenticator checked a PIN or biometrics.
	UserVerified bool
	// AAGUID is the authenticator model (§6.5.1) as a UUID string; "" or all zeros if unknown.
	AAGUID string
	// AttestationVerified: an attestation statement with a certificate chain vouched for the
	// AAGUID (§8; e.g. go-webauthn types "basic_full", "attca", "anonca"). Without it the AAGUID
	// is only the authenticator's own claim and cannot satisfy an allow-list.
	AttestationVerified bool
}

// Rule names the part of the policy a passkey failed, for logs, audit records and Preview.
type Rule string

// The rules CheckPasskey applies, in the order it applies them.
const (
	RuleUserVerification Rule = "user_verification" // RequireUV and the UV flag is not set
	RuleSynced           Rule = "synced"            // !AllowSynced and the passkey is backup-eligible
	RuleAttestation      Rule = "attestation"       // allow-list set, but no attestation proved the model
	RuleModel            Rule = "model"             // allow-list set, and the proven model is not on it
)

// Refusal says, in plain language for the person at the browser, why a passkey is not accepted
// (Reason) and what to use instead (Advice). Rule is for logs.
type Refusal struct {
	Rule           Rule
	Reason, Advice string
}

func (r *Refusal) Error() string { return r.Reason + " " + r.Advice }

const adviceApproved = "Use a security key your organisation has approved instead; your administrator can tell you which models it accepts."

// CheckPasskey returns nil if the passkey satisfies the policy, or the first rule it breaks.
// Call it when a passkey is registered and again at every sign-in with it, since the policy may
// have been tightened after the passkey was created. The mode does not matter: under Off, a
// passkey that is still used must still meet the organisation's requirements.
func CheckPasskey(p Policy, f PasskeyFacts) *Refusal {
	allowList := len(p.AllowedAAGUIDs) > 0
	if p.RequireUV && !f.UserVerified {
		return &Refusal{Rule: RuleUserVerification,
			Reason: "Your organisation requires a PIN, fingerprint or face check each time a passkey is used, and this passkey did not ask for one.",
			Advice: "Turn on a screen lock or PIN on this device (or set a PIN on your security key) and try again."}
	}
	if !p.AllowSynced && f.BackupEligible {
		r := &Refusal{Rule: RuleSynced,
			Reason: "Your organisation accepts only passkeys kept on one device, such as a security key or Windows Hello; this passkey is synced by its provider.",
			Advice: "Use a security key, or a passkey that stays on this device such as Windows Hello, instead."}
		if allowList {
			r.Reason = "Your organisation accepts only passkeys kept on one device, such as a security key; this passkey is synced by its provider."
			r.Advice = adviceApproved
		}
		return r
	}
	if !allowList {
		return nil
	}
	if !f.AttestationVerified {
		return &Refusal{Rule: RuleAttestation,
			Reason: "Your organisation accepts only approved passkey models, and this passkey did not prove which model it is.",
			Advice: "Use a security key your organisation has approved instead; if your browser asks whether to share details of it with this site, allow it."}
	}
	if a, err := canonicalAAGUID(f.AAGUID); err != nil || !slices.ContainsFunc(p.AllowedAAGUIDs, func(s string) bool {
		c, err := canonicalAAGUID(s)
		return err == nil && c == a
	}) {
		return &Refusal{Rule: RuleModel,
			Reason: "Your organisation accepts only approved passkey models, and this one is not on its list.",
			Advice: adviceApproved}
	}
	return nil
}
