package clients

import (
	"time"

	"github.com/portcullis-id/portcullis/internal/secret"
)

// Client types, as an admin names them (RFC 6749 section 2.1).
const (
	TypeConfidential = "confidential"
	TypePublic       = "public"
)

// Grant types a client may be allowed. The implicit and password grants are left out, as
// OAuth 2.1 removes them.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// ResponseCode is the only response type: OAuth 2.1 keeps only the code flow.
const ResponseCode = "code"

// Token endpoint authentication methods (OpenID Connect Core section 9, RFC 7523).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// JWS algorithms (RFC 7518 section 3.1). ES256 and RS256 sign ID tokens; ES256, RS256 and
// PS256 may sign private_key_jwt client assertions (fosite verifies these).
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
)

// DefaultOrgID is the built-in organisation.
const DefaultOrgID = "system"

// Client is a registered OIDC client.
type Client struct {
	ID, OrgID, Name string
	// Public clients (native apps, SPAs) cannot keep a secret; they have none and must use PKCE.
	Public bool
	// SecretHash is the keyed hash of the secret; nil for clients that do not authenticate with
	// a secret (public clients and private_key_jwt clients).
	SecretHash []byte

	RedirectURIs, PostLogoutRedirectURIs []string
	GrantTypes, ResponseTypes            []string
	Scopes                               []string
	// Audience lists the resource servers the client may request tokens for.
	Audience []string

	TokenEndpointAuthMethod string
	// JWKS is an inline JSON Web Key Set for private_key_jwt, or "".
	JWKS string
	// JWKSURI is where the client publishes its key set for private_key_jwt, or "".
	JWKSURI string
	// TokenEndpointAuthSigningAlg is the one algorithm the client signs its private_key_jwt
	// assertions with: ES256, RS256 or PS256; "" for other methods (OpenID Connect Dynamic Client
	// Registration section 2, token_endpoint_auth_signing_alg).
	TokenEndpointAuthSigningAlg string
	// IDTokenSignedResponseAlg is ES256 (default) or RS256.
	IDTokenSignedResponseAlg string

	JWTAccessTokens bool // issue access tokens as JWTs (RFC 9068) instead of opaque strings
	RequirePAR      bool // authorize requests must come through PAR (RFC 9126)
	FirstParty      bool // the instance's own application: consent is not asked
	CanIntrospect   bool // may call the introspection endpoint (RFC 7662)

	// LogoURI, PolicyURI and TOSURI are what the consent page shows of the app, when registered
	// (https only; OpenID Connect Dynamic Client Registration section 2: logo_uri, policy_uri, tos_uri).
	LogoURI, PolicyURI, TOSURI string

	// BackchannelLogoutURI receives a logout token when a session the client got tokens in ends
	// (OpenID Connect Back-Channel Logout 1.0 section 2.2); "" for none.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool // the client needs sid in the logout token
	// FrontchannelLogoutURI is framed by the signed-out page (OpenID Connect Front-Channel Logout
	// 1.0 section 2); "" for none.
	FrontchannelLogoutURI             string
	FrontchannelLogoutSessionRequired bool // add iss and sid to the framed URI

	// Lifetimes of the client's tokens; zero ones are the server's defaults.
	Lifetimes Lifetimes

	CreatedAt, UpdatedAt time.Time
}

// UsesSecret reports whether the client authenticates to the token endpoint with its secret.
func (c Client) UsesSecret() bool {
	return !c.Public && (c.TokenEndpointAuthMethod == AuthSecretBasic || c.TokenEndpointAuthMethod == AuthSecretPost)
}

// CheckSecret reports whether secret is the client's secret. The comparison is constant-time;
// it is false for clients that do not authenticate with a secret, whatever they hold.
func (c Client) CheckSecret(h *secret.Hasher, secret string) bool {
	if !c.UsesSecret() || len(c.SecretHash) == 0 {
		return false
	}
	return h.Equal(c.SecretHash, []byte(secret))
}

// Type returns TypePublic or TypeConfidential.
func (c Client) Type() string {
	if c.Public {
		return TypePublic
	}
	return TypeConfidential
}

// Spec returns the spec that describes the client as it is, for an admin to edit and Revise.
func (c Client) Spec() Spec {
	return Spec{
		Name:                   c.Name,
		OrgID:                  c.OrgID,
		Type:                   c.Type(),
		RedirectURIs:           clone(c.RedirectURIs),
		PostLogoutRedirectURIs: clone(c.PostLogoutRedirectURIs),
		GrantTypes:             clone(c.GrantTypes),
		Scopes:                 clone(c.Scopes),
		Audience:               clone(c.Audience),
		AuthMethod:             c.TokenEndpointAuthMethod,
		JWKS:                   c.JWKS,
		JWKSURI:                c.JWKSURI,
		AuthSigningAlg:         c.TokenEndpointAuthSigningAlg,
		IDTokenAlg:             c.IDTokenSignedResponseAlg,
		JWTAccessTokens:        c.JWTAccessTokens,
		RequirePAR:             c.RequirePAR,
		FirstParty:             c.FirstParty,
		CanIntrospect:          c.CanIntrospect,
		LogoURI:                c.LogoURI,
		PolicyURI:              c.PolicyURI,
		TOSURI:                 c.TOSURI,

		BackchannelLogoutURI:              c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired:  c.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI:             c.FrontchannelLogoutURI,
		FrontchannelLogoutSessionRequired: c.FrontchannelLogoutSessionRequired,
		Lifetimes:                         c.Lifetimes,
	}
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
