package passkey

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// DefaultTimeout is how long a ceremony may take when Config.Timeout is zero; it is also the
// timeout the browser is given (WebAuthn Level 3 §5.4/§5.5 recommend 5 minutes with user
// verification required).
const DefaultTimeout = 5 * time.Minute

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: the registrable domain (or a host) the passkeys are scoped
	// to, e.g. "example.com" or "login.example.com". Changing it orphans every passkey.
	RPID string
	// RPDisplayName is shown by some authenticators when a passkey is created.
	RPDisplayName string
	// Origins are the exact origins (scheme://host[:port]) pages run ceremonies from, e.g.
	// "https://login.example.com". Each must be within RPID.
	Origins []string
	// Timeout bounds a ceremony; zero means DefaultTimeout.
	Timeout time.Duration
	// Policies gives each organisation's passkey policy, which decides the user verification and
	// attestation the ceremonies ask for, which passkeys are accepted at registration and at
	// every sign-in, and whether a first passkey deletes the user's password. Nil applies
	// policy.Default() to everyone: user verification required, any passkey, passwords kept.
	Policies Policies
}

// Users is what the passkey service needs from the directory (*directory.Store implements it).
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUsername(ctx context.Context, orgID, username string) (directory.User, error)
	WebAuthnHandle(ctx context.Context, userID string) ([]byte, error)
	GetUserByWebAuthnHandle(ctx context.Context, handle []byte) (directory.User, error)
	// SetPasswordHash with "" deletes the user's password (a first passkey under Mandatory).
	SetPasswordHash(ctx context.Context, userID, hash string) error
}

var (
	_ Users    = (*directory.Store)(nil)
	_ Policies = (*directory.Store)(nil)
)

// Service runs WebAuthn ceremonies and stores passkeys. It keeps no state in memory, so several
// processes may share one database.
type Service struct {
	cfg    Config
	wa     *webauthn.WebAuthn
	db     *database.DB
	hasher *secret.Hasher
	users  Users
	now    func() time.Time
}

// New checks cfg and returns a Service. hasher keys the stored hash of ceremony tokens and the
// decoy credential ids; give it a purpose of its own.
func New(cfg Config, db *database.DB, hasher *secret.Hasher, users Users) (*Service, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("passkey: timeout must be positive")
	}
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: the relying party id and at least one origin are required")
	}
	for _, o := range cfg.Origins {
		if err := checkOrigin(o, cfg.RPID); err != nil {
			return nil, err
		}
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	if db == nil || hasher == nil || users == nil {
		return nil, errors.New("passkey: database, hasher and users are required")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.Origins,
		// The ceremony row's expiry is the server-side timeout (with our clock); the library's
		// own check would use the wall clock, so it stays off.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
		// We request no extensions and act on no extension output, so an output some client
		// volunteers changes nothing; refusing it would lock out that client's users.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{cfg: cfg, wa: wa, db: db, hasher: hasher, users: users,
		now: func() time.Time { return time.Now().UTC() }}, nil
}

// checkOrigin catches the usual misconfiguration early: an origin must be https (or http on
// localhost, the only insecure context where browsers allow WebAuthn) and its host must be the
// RP ID or a subdomain of it (WebAuthn Level 3 §5.1.3 step 8, §5.1.4.1 step 8).
func checkOrigin(origin, rpID string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("passkey: origin %q: want scheme://host[:port]", origin)
	}
	host := strings.ToLower(u.Hostname())
	rpID = strings.ToLower(rpID)
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if u.Scheme != "https" && !(u.Scheme == "http" && local) {
		return fmt.Errorf("passkey: origin %q: browsers allow passkeys only on https (or http://localhost)", origin)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("passkey: origin %q is not within the relying party id %q", origin, rpID)
	}
	return nil
}

// credentialParameters are the algorithms we accept, most preferred first: ES256 (-7) is what
// nearly every authenticator uses, EdDSA (-8) some security keys, RS256 (-257) Windows Hello on
// older TPMs (COSE algorithm registry; WebAuthn Level 3 §5.8.5).
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// waUser adapts a directory user and their passkeys to go-webauthn.
type waUser struct {
	handle []byte
	user   directory.User
	creds  []Credential
}

func (u *waUser) WebAuthnID() []byte   { return u.handle }
func (u *waUser) WebAuthnName() string { return u.user.Username }
func (u *waUser) WebAuthnDisplayName() string {
	if u.user.DisplayName != "" {
		return u.user.DisplayName
	}
	return u.user.Username
}

func (u *waUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.creds))
	for _, c := range u.creds {
		out = append(out, c.webauthn())
	}
	return out
}

// webauthn returns the credential record go-webauthn verifies an assertion against.
func (c Credential) webauthn() webauthn.Credential {
	var flags protocol.AuthenticatorFlags
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID:              c.CredentialID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Transport:       transports,
		Flags:           webauthn.NewCredentialFlags(flags),
		Authenticator:   webauthn.Authenticator{AAGUID: parseAAGUID(c.AAGUID), SignCount: c.SignCount},
	}
}

// descriptor is how a passkey appears in allowCredentials and excludeCredentials.
func (c Credential) descriptor() protocol.CredentialDescriptor {
	d := protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: c.CredentialID}
	for _, t := range c.Transports {
		d.Transport = append(d.Transport, protocol.AuthenticatorTransport(t))
	}
	return d
}
