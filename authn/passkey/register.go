package passkey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// BeginRegistration starts adding a passkey to user. It returns the
// PublicKeyCredentialCreationOptions JSON for the browser's
// PublicKeyCredential.parseCreationOptionsFromJSON (WebAuthn Level 3 §5.1.8), and the ceremony
// token to keep in a cookie until FinishRegistration.
//
// The options ask for a discoverable credential and ES256, EdDSA or RS256 keys; user
// verification "required" when the user's organisation requires it and "preferred" otherwise;
// attestation "direct" when the policy lists the authenticator models it accepts (the AAGUID
// counts only when an attestation statement vouches for it) and "none" otherwise. The user's
// passkeys are excluded so that an authenticator that already holds one says so instead of
// making a second. Attachment and hints are left to the browser, which offers both this device
// and a phone or security key.
func (s *Service) BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error) {
	p, err := s.policyFor(ctx, user.OrgID)
	if err != nil {
		return nil, "", err
	}
	conveyance := protocol.PreferNoAttestation
	if p.NeedsDirectAttestation() {
		conveyance = protocol.PreferDirectAttestation
	}
	handle, err := s.users.WebAuthnHandle(ctx, user.ID)
	if err != nil {
		return nil, "", err
	}
	creds, err := s.credentials(ctx, user.ID)
	if err != nil {
		return nil, "", err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		exclude = append(exclude, c.descriptor())
	}
	creation, session, err := s.wa.BeginRegistration(&waUser{handle: handle, user: user, creds: creds},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), // Level 1 clients read only this
			UserVerification:   userVerification(p),
		}),
		webauthn.WithConveyancePreference(conveyance),
		webauthn.WithCredentialParameters(credentialParameters),
		webauthn.WithExclusions(exclude),
	)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin registration: %w", err)
	}
	options, err := json.Marshal(creation.Response)
	if err != nil {
		return nil, "", err
	}
	token, err := s.saveCeremony(ctx, kindRegister, user.ID, session)
	if err != nil {
		return nil, "", err
	}
	return options, token, nil
}

// FinishRegistration verifies the browser's new credential (the JSON of credential.toJSON())
// against the ceremony, which must be a registration begun for this same user, unexpired and
// unused; the ceremony is used up whatever the outcome. It then checks the passkey against the
// policy of the user's organisation and stores it. An empty name becomes the provider's name;
// addedVia is one of the AddedVia constants.
//
// Verification follows WebAuthn Level 3 §7.1: client data type, challenge and origin; RP ID
// hash; UP flag, and the UV flag when the policy requires it; algorithm among those offered;
// attestation statement (format "none", or whatever the authenticator sent: self, or basic with a
// certificate chain, which is what lets an AAGUID allow-list accept the passkey); BE/BS
// consistency. A passkey the policy refuses is not stored: the error matches ErrPolicy and says
// why and what to use instead (PolicyRefusal).
//
// When the policy deletes passwords on the first passkey (Mandatory) and the user has a password,
// it is deleted in the same transaction as the passkey is stored, and the returned Credential has
// PasswordRetired set for the caller's audit record.
func (s *Service) FinishRegistration(ctx context.Context, token string, user directory.User, credentialJSON []byte, name, addedVia string) (Credential, error) {
	cer, err := s.takeCeremony(ctx, token, kindRegister)
	if err != nil {
		return Credential{}, err
	}
	if !validAddedVia(addedVia) {
		return Credential{}, fmt.Errorf("passkey: unknown addedVia %q", addedVia)
	}
	if name != "" {
		if name, err = cleanName(name); err != nil {
			return Credential{}, err
		}
	}
	if cer.UserID != user.ID {
		return Credential{}, refuse(ErrCeremonyExpired, nil, "registration ceremony was begun for user %s, finished for %s", cer.UserID, user.ID)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return Credential{}, refuse(ErrInvalidResponse, err, "parse registration response")
	}
	handle, err := s.users.WebAuthnHandle(ctx, user.ID)
	if err != nil {
		return Credential{}, err
	}
	wc, err := s.wa.CreateCredential(&waUser{handle: handle, user: user}, cer.Session, parsed)
	if err != nil {
		return Credential{}, s.diagnose(err, cer.Session, parsed.Response.CollectedClientData,
			parsed.Response.AttestationObject.AuthData)
	}
	// The policy as it is now, not as it was when the ceremony began: a policy tightened in
	// between applies (a ceremony that asked for less then fails here).
	p, err := s.policyFor(ctx, user.OrgID)
	if err != nil {
		return Credential{}, err
	}
	// CreateCredential checked the UV flag if the ceremony required it; checked here against the
	// policy so that no change of options can store an unverified passkey where UV is required.
	if p.RequireUV && !wc.Flags.UserVerified {
		return Credential{}, refuse(ErrUserVerification, nil, "UV flag not set in registration; organisation %s requires user verification", user.OrgID)
	}
	c := Credential{
		UserID:          user.ID,
		CredentialID:    wc.ID,
		PublicKey:       wc.PublicKey,
		AttestationType: wc.AttestationType,
		AAGUID:          formatAAGUID(wc.Authenticator.AAGUID),
		SignCount:       wc.Authenticator.SignCount,
		BackupEligible:  wc.Flags.BackupEligible,
		BackupState:     wc.Flags.BackupState,
		UserVerified:    wc.Flags.UserVerified,
		AddedVia:        addedVia,
		CreatedAt:       s.now(),
	}
	if c.AttestationType == "" {
		c.AttestationType = "none"
	}
	if err := checkPolicy(p, c, wc.Flags.UserVerified, user.OrgID, "registration"); err != nil {
		return Credential{}, err
	}
	c.ID = secret.Token(16)
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	c.Provider = ProviderName(c.AAGUID, c.BackupEligible)
	c.Name = name
	if c.Name == "" {
		c.Name = c.Provider
	}
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.insertCredential(ctx, c); err != nil {
			return err
		}
		if !policy.DeletePasswordOnFirstPasskey(p) {
			return nil
		}
		// Read afresh: the caller's copy of the user may predate a password set meanwhile.
		u, err := s.users.GetUser(ctx, user.ID)
		if err != nil || !u.HasPassword {
			return err
		}
		if err := s.users.SetPasswordHash(ctx, user.ID, ""); err != nil {
			return fmt.Errorf("passkey: delete the password of user %s: %w", user.ID, err)
		}
		c.PasswordRetired = true
		return nil
	})
	if err != nil {
		return Credential{}, err
	}
	return c, nil
}
