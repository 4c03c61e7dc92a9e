package clients

import (
	"errors"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/internal/secret"
)

const (
	// idBytes of randomness make client IDs unguessable and collision-free (128 bit).
	idBytes = 16
	// secretBytes of randomness make a secret that cannot be brute-forced (256 bit, RFC 6749
	// section 10.10); base64url keeps it safe in HTTP Basic credentials and form bodies.
	secretBytes = 32
)

// New builds a client from a spec: it normalizes and validates the spec, generates a random
// client ID and, for clients that authenticate with a secret (confidential clients using
// client_secret_basic or client_secret_post), a secret. It returns the client, with the keyed
// hash of the secret, and the plaintext secret to be shown once; it is never stored. Public and
// private_key_jwt clients get no secret, and the returned secret is "".
func New(spec Spec, hasher *secret.Hasher, now time.Time) (Client, string, error) {
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return Client{}, "", err
	}
	now = dbTime(now)
	c := fromSpec(spec)
	c.ID = newID()
	c.CreatedAt, c.UpdatedAt = now, now
	var plaintext string
	if c.UsesSecret() {
		if hasher == nil {
			return Client{}, "", errors.New("clients: a secret hasher is required for confidential clients")
		}
		plaintext, c.SecretHash = NewSecret(hasher)
	}
	return c, plaintext, nil
}

// NewSecret generates a client secret and its keyed hash, for New and for rotating a secret
// with Store.SetSecretHash.
func NewSecret(hasher *secret.Hasher) (plaintext string, hash []byte) {
	plaintext = secret.Token(secretBytes)
	return plaintext, hasher.Sum([]byte(plaintext))
}

// Revise applies an edited spec to an existing client, for Store.Update. The client's ID,
// secret and creation time stay; its organisation and type cannot change (a public client has
// no secret to keep, and moving a client between organisations would move its users' grants).
// An empty OrgID or Type in the spec means "unchanged".
//
// A client switched from private_key_jwt to a secret method has no secret yet: when the result
// UsesSecret but has no SecretHash, issue one with NewSecret and Store.SetSecretHash.
func Revise(c Client, spec Spec, now time.Time) (Client, error) {
	if spec.OrgID == "" {
		spec.OrgID = c.OrgID
	}
	if spec.Type == "" {
		spec.Type = c.Type()
	}
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return Client{}, err
	}
	if spec.OrgID != c.OrgID {
		return Client{}, invalidValue("org_id", spec.OrgID, "cannot be changed; register a new client in that organisation")
	}
	if spec.Type != c.Type() {
		return Client{}, invalidValue("type", spec.Type, "cannot be changed; register a new client")
	}
	out := fromSpec(spec)
	out.ID, out.SecretHash, out.CreatedAt = c.ID, c.SecretHash, c.CreatedAt
	out.UpdatedAt = dbTime(now)
	return out, nil
}

// fromSpec maps a normalized, valid spec onto a client, without ID, secret or times.
func fromSpec(s Spec) Client {
	c := Client{
		OrgID:                       s.OrgID,
		Name:                        s.Name,
		Public:                      s.Type == TypePublic,
		RedirectURIs:                clone(s.RedirectURIs),
		PostLogoutRedirectURIs:      clone(s.PostLogoutRedirectURIs),
		GrantTypes:                  clone(s.GrantTypes),
		Scopes:                      clone(s.Scopes),
		Audience:                    clone(s.Audience),
		TokenEndpointAuthMethod:     s.AuthMethod,
		JWKS:                        s.JWKS,
		JWKSURI:                     s.JWKSURI,
		TokenEndpointAuthSigningAlg: s.AuthSigningAlg,
		IDTokenSignedResponseAlg:    s.IDTokenAlg,
		JWTAccessTokens:             s.JWTAccessTokens,
		RequirePAR:                  s.RequirePAR,
		FirstParty:                  s.FirstParty,
		CanIntrospect:               s.CanIntrospect,
		LogoURI:                     s.LogoURI,
		PolicyURI:                   s.PolicyURI,
		TOSURI:                      s.TOSURI,

		BackchannelLogoutURI:              s.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired:  s.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI:             s.FrontchannelLogoutURI,
		FrontchannelLogoutSessionRequired: s.FrontchannelLogoutSessionRequired,
		Lifetimes:                         s.Lifetimes,
	}
	if slices.Contains(s.GrantTypes, GrantAuthorizationCode) {
		c.ResponseTypes = []string{ResponseCode}
	}
	return c
}

// dbTime is t as the databases keep it: UTC, to the microsecond (PostgreSQL's precision), so that
// a client compares equal to itself after a round trip.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// newID returns a random client id that starts with a letter or digit: an id starting with "-"
// would read as a flag on the command line ("portcullis clients show -abc…").
func newID() string {
	for {
		id := secret.Token(idBytes)
		if c := id[0]; c != '-' && c != '_' {
			return id
		}
	}
}
