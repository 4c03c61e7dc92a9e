package passkey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// BeginRegistration starts adding a passkey to user. It returns the
// PublicKeyCredentialCreationOptions JSON for the browser's
// PublicKeyCredential.parseCreationOptionsFromJSON (WebAuthn Level 3 §5.1.8), and the ceremony
// token to keep in a cookie until FinishRegistration.
//
// The options ask for a discoverable credential with user verification, no attestation, and
// ES256, EdDSA or RS256 keys; the user's passkeys are excluded so that an authenticator that
// already holds one says so instead of making a second. Attachment and hints are left to the
// browser, which offers both this device and a phone or security key.
func (s *Service) BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error) {
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
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
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
// unused; the ceremony is used up whatever the outcome. It then stores the passkey. An empty
// name becomes the provider's name; addedVia is one of the AddedVia constants.
//
// Verification follows WebAuthn Level 3 §7.1: client data type, challenge and origin; RP ID
// hash; UP and UV flags; algorithm among those offered; attestation statement (format "none" or,
// when an authenticator sends one anyway, self or unverified attestation); BE/BS consistency.
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
		return Credential{}, s.diagnose(err, cer.Session.Challenge, parsed.Response.CollectedClientData,
			parsed.Response.AttestationObject.AuthData)
	}
	// CreateCredential checked the UV flag already (the ceremony required it); checked again here
	// so that no change of options can ever store an unverified passkey.
	if !wc.Flags.UserVerified {
		return Credential{}, refuse(ErrUserVerification, nil, "UV flag not set in registration")
	}
	c := Credential{
		ID:              secret.Token(16),
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
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	c.Provider = ProviderName(c.AAGUID, c.BackupEligible)
	c.Name = name
	if c.Name == "" {
		c.Name = c.Provider
	}
	if err := s.insertCredential(ctx, c); err != nil {
		return Credential{}, err
	}
	return c, nil
}
