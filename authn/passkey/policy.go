package passkey

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
)

// Policies gives an organisation's passkey policy (*directory.Store implements it). An unknown
// organisation is database.ErrNotFound.
type Policies interface {
	PolicyFor(ctx context.Context, orgID string) (policy.Policy, error)
}

// policyFor returns the policy passkeys of orgID must satisfy. Without Config.Policies that is
// policy.Default(): user verification required, any passkey accepted, passwords never deleted.
func (s *Service) policyFor(ctx context.Context, orgID string) (policy.Policy, error) {
	if s.cfg.Policies == nil {
		return policy.Default(), nil
	}
	return s.cfg.Policies.PolicyFor(ctx, orgID)
}

// optionsPolicy is the policy that shapes a sign-in ceremony's options. An unknown organisation
// has no users to sign in; it gets the default (user verification required) rather than an
// error, so that its options look like any other organisation's.
func (s *Service) optionsPolicy(ctx context.Context, orgID string) (policy.Policy, error) {
	p, err := s.policyFor(ctx, orgID)
	if errors.Is(err, database.ErrNotFound) {
		return policy.Default(), nil
	}
	return p, err
}

// userVerification is what the options ask of the authenticator (WebAuthn Level 3 §5.8.6):
// "required" when the policy requires user verification, "preferred" otherwise, so that
// authenticators that can verify the user still do.
func userVerification(p policy.Policy) protocol.UserVerificationRequirement {
	if p.RequireUV {
		return protocol.VerificationRequired
	}
	return protocol.VerificationPreferred
}

// attestationVerified reports whether go-webauthn verified an attestation statement with a
// certificate chain (basic, AttCA or AnonCA; WebAuthn Level 3 §6.5.3), which is what lets the
// AAGUID count against an allow-list. "none" and self attestation ("basic_surrogate") are the
// authenticator's own word. go-webauthn checks the chain against trust anchors only when a
// metadata provider (webauthn.Config.MDS) is configured; this Service configures none.
func attestationVerified(attestationType string) bool {
	switch attestationType {
	case "basic_full", "attca", "anonca":
		return true
	}
	return false
}

// facts is what the policy looks at in a passkey, with userVerified from the ceremony at hand.
func (c Credential) facts(userVerified bool) policy.PasskeyFacts {
	return policy.PasskeyFacts{
		BackupEligible:      c.BackupEligible,
		UserVerified:        userVerified,
		AAGUID:              c.AAGUID,
		AttestationVerified: attestationVerified(c.AttestationType),
	}
}

// checkPolicy refuses c with ErrPolicy (carrying the *policy.Refusal) if it breaks p; at says
// when, for the log.
func checkPolicy(p policy.Policy, c Credential, userVerified bool, orgID, at string) error {
	r := policy.CheckPasskey(p, c.facts(userVerified))
	if r == nil {
		return nil
	}
	id := c.ID
	if id == "" {
		id = "credential " + encodeID(c.CredentialID)
	}
	return refuse(policyError{r}, nil,
		"passkey %s refused at %s by the policy of organisation %s: rule %s (backup eligible %v, user verified %v, AAGUID %q, attestation %q)",
		id, at, orgID, r.Rule, c.BackupEligible, userVerified, c.AAGUID, c.AttestationType)
}
