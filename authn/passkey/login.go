package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
)

// BeginLogin starts a username-first sign-in. It returns the PublicKeyCredentialRequestOptions
// JSON for the browser's PublicKeyCredential.parseRequestOptionsFromJSON (WebAuthn Level 3
// §5.1.9), whose allowCredentials lists the user's passkeys, and the ceremony token for a cookie.
//
// An unknown username, a disabled user and a user without passkeys get options of the same
// shape, with decoy credential ids (see decoy), after the same database reads; their ceremony
// fails at FinishLogin with ErrNotRecognised, as an unregistered passkey does.
//
// User verification is "required" or "preferred" as the organisation's policy says, the same for
// every username (an unknown organisation gets "required").
func (s *Service) BeginLogin(ctx context.Context, orgID, username string) ([]byte, string, error) {
	p, err := s.optionsPolicy(ctx, orgID)
	if err != nil {
		return nil, "", err
	}
	allow, decoyUserID := s.decoy(orgID, username)
	user, err := s.users.GetUserByUsername(ctx, orgID, username)
	found := err == nil
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		return nil, "", err
	}
	owner := decoyUserID
	if found {
		owner = user.ID
	} else {
		// Reading a found user takes two queries (the user, then their roles); a missing one gets
		// a second query too, so that neither the work nor the time tells them apart.
		if _, err := s.users.GetUser(ctx, decoyUserID); err != nil && !errors.Is(err, database.ErrNotFound) {
			return nil, "", err
		}
	}
	creds, err := s.credentials(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	ceremonyUser := ""
	if found && user.Active() && len(creds) > 0 {
		allow = make([]protocol.CredentialDescriptor, 0, len(creds))
		for _, c := range creds {
			allow = append(allow, c.descriptor())
		}
		ceremonyUser = user.ID
	}
	assertion, session, err := s.wa.BeginDiscoverableLogin(
		webauthn.WithAllowedCredentials(allow),
		webauthn.WithUserVerification(userVerification(p)),
	)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin login: %w", err)
	}
	return s.beginLogin(ctx, kindLogin, ceremonyUser, assertion, session)
}

// BeginDiscoverableLogin starts a usernameless sign-in: the options have no allowCredentials, so
// the authenticator offers the passkeys it holds for this site and returns the chosen one's user
// handle. The same options serve conditional mediation (autofill): the page passes them to
// navigator.credentials.get with mediation "conditional".
//
// orgID is the organisation whose sign-in page asks: its policy says whether user verification
// is "required" or "preferred" (an unknown organisation gets "required"). The passkey may turn
// out to be another organisation's user's; FinishLogin applies that user's policy.
func (s *Service) BeginDiscoverableLogin(ctx context.Context, orgID string) ([]byte, string, error) {
	p, err := s.optionsPolicy(ctx, orgID)
	if err != nil {
		return nil, "", err
	}
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(userVerification(p)))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin discoverable login: %w", err)
	}
	return s.beginLogin(ctx, kindDiscoverable, "", assertion, session)
}

func (s *Service) beginLogin(ctx context.Context, kind, userID string, assertion *protocol.CredentialAssertion, session *webauthn.SessionData) ([]byte, string, error) {
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return nil, "", err
	}
	token, err := s.saveCeremony(ctx, kind, userID, session)
	if err != nil {
		return nil, "", err
	}
	return options, token, nil
}

// FinishLogin verifies the browser's assertion (the JSON of credential.toJSON()) against the
// ceremony, which is used up whatever the outcome, and returns the signed-in user and the passkey
// used. It follows WebAuthn Level 3 §7.2: the credential is one of the user's passkeys (the one
// the ceremony was begun for, or, discoverable, the one whose user handle the assertion carries)
// and was allowed; client data type, challenge and origin; RP ID hash; UP flag; the signature
// over authenticator data and client data hash; BE unchanged. Then the policy of the user's
// organisation (not that of the page that began the ceremony): the UV flag if it requires user
// verification, and the passkey itself (CheckPasskey), since the policy may have been tightened
// after the passkey was created; a passkey it refuses fails with an error matching ErrPolicy and
// nothing is recorded. Then the signature counter. The user must be active. The sign count,
// backup state and time of use are recorded.
// When it refuses after the account is identified (never for a decoy ceremony), the returned user
// is that account, for the audit log only: an error always means nobody is signed in.
func (s *Service) FinishLogin(ctx context.Context, token string, credentialJSON []byte) (directory.User, Credential, error) {
	cer, err := s.takeCeremony(ctx, token, kindLogin, kindDiscoverable)
	if err != nil {
		return directory.User{}, Credential{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return directory.User{}, Credential{}, refuse(ErrInvalidResponse, err, "parse assertion")
	}
	rawID := parsed.RawID
	var user directory.User
	switch {
	case cer.Kind == kindLogin && cer.UserID == "":
		// A decoy ceremony: read as a real finish would, then refuse as for an unregistered passkey.
		if _, err := s.credentialByID(ctx, rawID); err != nil && !errors.Is(err, database.ErrNotFound) {
			return directory.User{}, Credential{}, err
		}
		return directory.User{}, Credential{}, refuse(ErrNotRecognised, nil,
			"sign-in begun for an unknown or disabled username, or one without passkeys")
	case cer.Kind == kindLogin:
		user, err = s.users.GetUser(ctx, cer.UserID)
	default:
		if len(parsed.Response.UserHandle) == 0 {
			return directory.User{}, Credential{}, refuse(ErrNotRecognised, nil, "discoverable assertion without a user handle")
		}
		user, err = s.users.GetUserByWebAuthnHandle(ctx, parsed.Response.UserHandle)
	}
	if errors.Is(err, database.ErrNotFound) {
		return directory.User{}, Credential{}, refuse(ErrNotRecognised, nil, "no user for this ceremony or user handle")
	}
	if err != nil {
		return directory.User{}, Credential{}, err
	}

	// §7.2 steps 6 and 7: the credential must be the identified user's, and allowed.
	creds, err := s.credentials(ctx, user.ID)
	if err != nil {
		return user, Credential{}, err
	}
	var cred Credential
	found := false
	for _, c := range creds {
		if bytes.Equal(c.CredentialID, rawID) {
			cred, found = c, true
		}
	}
	if !found {
		return user, Credential{}, refuse(ErrNotRecognised, nil, "credential %s is not a passkey of user %s", encodeID(rawID), user.ID)
	}
	if cer.Kind == kindLogin && !containsID(cer.Session.AllowedCredentialIDs, rawID) {
		return user, Credential{}, refuse(ErrNotRecognised, nil, "credential %s was not in allowCredentials", encodeID(rawID))
	}
	handle := parsed.Response.UserHandle // discoverable: the user was found by it
	if cer.Kind == kindLogin {
		// A user with a passkey has a handle, read with the user; Store.WebAuthnHandle is the
		// fallback that creates or reports a missing or malformed one.
		if handle = user.WebAuthnHandle; len(handle) == 0 {
			if handle, err = s.users.WebAuthnHandle(ctx, user.ID); err != nil {
				return user, Credential{}, err
			}
		}
	}
	if uh := parsed.Response.UserHandle; len(uh) > 0 && !bytes.Equal(uh, handle) {
		return user, Credential{}, refuse(ErrNotRecognised, nil, "user handle in the assertion is not user %s's", user.ID)
	}

	// §7.2 steps 8 to 21 (go-webauthn), with the ownership checks above already done.
	wu := &waUser{handle: handle, user: user, creds: []Credential{cred}}
	session := cer.Session
	session.AllowedCredentialIDs = [][]byte{rawID}
	if cer.Kind == kindLogin {
		session.UserID = handle
		_, err = s.wa.ValidateLogin(wu, session, parsed)
	} else {
		_, _, err = s.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, session, parsed)
	}
	authData := parsed.Response.AuthenticatorData
	if err != nil {
		return user, Credential{}, s.diagnose(err, cer.Session, parsed.Response.CollectedClientData, authData)
	}
	// The user's organisation decides whether UV is required, whatever the ceremony asked: a
	// ceremony begun on another organisation's page may have asked only for "preferred".
	p, err := s.policyFor(ctx, user.OrgID)
	if err != nil {
		return user, Credential{}, err
	}
	uv := authData.Flags.HasUserVerified()
	if p.RequireUV && !uv {
		return user, Credential{}, refuse(ErrUserVerification, nil, "UV flag not set; organisation %s requires user verification", user.OrgID)
	}
	if !user.Active() {
		return user, Credential{}, refuse(ErrUserDisabled, nil, "user %s is %s", user.ID, user.Status)
	}
	if cred.Flagged {
		return user, Credential{}, refuse(ErrCounterRegression, nil, "passkey %s was flagged earlier", cred.ID)
	}
	if err := checkPolicy(p, cred, uv, user.OrgID, "sign-in"); err != nil {
		return user, Credential{}, err
	}

	// §7.2 step 22: a device-bound authenticator that counts must count up. Synced passkeys
	// report 0 (a counter cannot be kept across devices) and are not checked.
	count := authData.Counter
	checkCounter := !cred.BackupEligible && (count != 0 || cred.SignCount != 0)
	recorded := false
	if !checkCounter || count > cred.SignCount {
		recorded, err = s.recordUse(ctx, cred, count, authData.Flags.HasBackupState(), uv, checkCounter)
		if err != nil {
			return user, Credential{}, err
		}
	}
	if !recorded {
		if err := s.flag(ctx, cred.ID); err != nil {
			return user, Credential{}, err
		}
		return user, Credential{}, refuse(ErrCounterRegression, nil,
			"passkey %s: signature counter %d does not exceed the stored %d; flagged", cred.ID, count, cred.SignCount)
	}
	now := s.now()
	cred.SignCount, cred.BackupState, cred.UserVerified, cred.LastUsedAt = count, authData.Flags.HasBackupState(), uv, &now
	return user, cred, nil
}

func containsID(ids [][]byte, id []byte) bool {
	for _, v := range ids {
		if bytes.Equal(v, id) {
			return true
		}
	}
	return false
}

// diagnose turns a go-webauthn refusal into the error to show, by looking at what the response
// says: the refusal itself is go-webauthn's, and its reason stays in the error's Detail.
// The UV flag is blamed only when the ceremony required it.
func (s *Service) diagnose(err error, session webauthn.SessionData, cd protocol.CollectedClientData, ad protocol.AuthenticatorData) error {
	rpIDHash := sha256.Sum256([]byte(s.cfg.RPID))
	switch {
	case cd.Challenge != session.Challenge:
		return refuse(ErrCeremonyExpired, err, "response answers another challenge")
	case !protocol.IsOriginInHaystack(cd.Origin, s.cfg.Origins) || cd.CrossOrigin:
		return refuse(ErrWrongSite, err, "origin %q (cross-origin %v), expected one of %v", cd.Origin, cd.CrossOrigin, s.cfg.Origins)
	case !bytes.Equal(ad.RPIDHash, rpIDHash[:]):
		return refuse(ErrWrongSite, err, "RP ID hash is not that of %q", s.cfg.RPID)
	case session.UserVerification == protocol.VerificationRequired && !ad.Flags.HasUserVerified():
		return refuse(ErrUserVerification, err, "UV flag not set")
	}
	return refuse(ErrInvalidResponse, err, "verification failed")
}
