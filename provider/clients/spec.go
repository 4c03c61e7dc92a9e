package clients

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v3"
)

// Spec is what an admin asks for when registering or editing a client. Normalize fills in
// defaults; Validate checks the result.
type Spec struct {
	Name, OrgID string
	Type        string // TypeConfidential or TypePublic

	RedirectURIs, PostLogoutRedirectURIs []string
	GrantTypes, Scopes, Audience         []string

	AuthMethod     string // token_endpoint_auth_method
	JWKS           string
	JWKSURI        string
	AuthSigningAlg string // token_endpoint_auth_signing_alg, for private_key_jwt only
	IDTokenAlg     string

	JWTAccessTokens, RequirePAR, FirstParty, CanIntrospect bool

	// LogoURI, PolicyURI, TOSURI: optional https URLs the consent page shows.
	LogoURI, PolicyURI, TOSURI string

	// Logout notifications (OpenID Connect Back-Channel and Front-Channel Logout 1.0); the URIs
	// are optional and follow the redirect URI rules, without private-use schemes.
	BackchannelLogoutURI, FrontchannelLogoutURI                         string
	BackchannelLogoutSessionRequired, FrontchannelLogoutSessionRequired bool

	// Lifetimes of the client's tokens; zero ones are the server's defaults (see lifetimes.go).
	Lifetimes Lifetimes
}

const (
	maxNameLength     = 100
	maxAudienceLength = 200
)

// defaultScopes are granted to a client when the spec names none.
func defaultScopes() []string {
	return []string{"openid", "profile", "email", "offline_access", "org", "roles"}
}

// allowedScopes are the scopes Portcullis knows; a client may be allowed only these.
// admin:read and admin:write are for the admin API.
var allowedScopes = map[string]bool{
	"openid": true, "profile": true, "email": true, "offline_access": true,
	"org": true, "roles": true, "admin:read": true, "admin:write": true,
}

var allowedGrantTypes = map[string]bool{
	GrantAuthorizationCode: true, GrantRefreshToken: true, GrantClientCredentials: true,
}

// Normalize trims every value, drops empty and repeated list entries, and fills defaults:
//   - OrgID: the system organisation; Type: confidential;
//   - GrantTypes: authorization_code and refresh_token when there are redirect URIs (or the
//     client is public), otherwise client_credentials;
//   - Scopes: openid, profile, email, offline_access, org, roles;
//   - AuthMethod: none for public clients; for confidential ones private_key_jwt when a key set
//     is given, otherwise client_secret_basic;
//   - AuthSigningAlg, for private_key_jwt only: with an inline key set ES256 when its first
//     signing key is an EC key and RS256 when it is an RSA key; with a jwks_uri, RS256;
//   - IDTokenAlg: ES256.
func (s *Spec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.OrgID = strings.TrimSpace(s.OrgID)
	s.Type = strings.TrimSpace(s.Type)
	s.AuthMethod = strings.TrimSpace(s.AuthMethod)
	s.JWKS = strings.TrimSpace(s.JWKS)
	s.JWKSURI = strings.TrimSpace(s.JWKSURI)
	s.AuthSigningAlg = strings.TrimSpace(s.AuthSigningAlg)
	s.IDTokenAlg = strings.TrimSpace(s.IDTokenAlg)
	s.LogoURI = strings.TrimSpace(s.LogoURI)
	s.PolicyURI = strings.TrimSpace(s.PolicyURI)
	s.TOSURI = strings.TrimSpace(s.TOSURI)
	s.BackchannelLogoutURI = strings.TrimSpace(s.BackchannelLogoutURI)
	s.FrontchannelLogoutURI = strings.TrimSpace(s.FrontchannelLogoutURI)
	s.RedirectURIs = tidy(s.RedirectURIs)
	s.PostLogoutRedirectURIs = tidy(s.PostLogoutRedirectURIs)
	s.GrantTypes = tidy(s.GrantTypes)
	s.Scopes = tidy(s.Scopes)
	s.Audience = tidy(s.Audience)

	if s.OrgID == "" {
		s.OrgID = DefaultOrgID
	}
	if s.Type == "" {
		s.Type = TypeConfidential
	}
	if s.GrantTypes == nil {
		if len(s.RedirectURIs) > 0 || s.Type == TypePublic {
			s.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		} else {
			s.GrantTypes = []string{GrantClientCredentials}
		}
	}
	if s.Scopes == nil {
		s.Scopes = defaultScopes()
	}
	if s.AuthMethod == "" {
		switch {
		case s.Type == TypePublic:
			s.AuthMethod = AuthNone
		case s.JWKS != "" || s.JWKSURI != "":
			s.AuthMethod = AuthPrivateKeyJWT
		default:
			s.AuthMethod = AuthSecretBasic
		}
	}
	if s.AuthMethod == AuthPrivateKeyJWT && s.AuthSigningAlg == "" {
		s.AuthSigningAlg = defaultAuthSigningAlg(s.JWKS)
	}
	if s.IDTokenAlg == "" {
		s.IDTokenAlg = AlgES256
	}
}

// tidy returns a new list of the trimmed, non-empty, distinct entries of list, in order, or nil.
func tidy(list []string) []string {
	var out []string
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks a normalized spec and returns the first problem as a *ValidationError.
func (s Spec) Validate() error {
	for _, check := range []func() error{
		s.validateName, s.validateType, s.validateGrants, s.validateRedirects,
		s.validateScopes, s.validateAudience, s.validateAuth, s.validateOptions, s.validateLinks,
		s.validateLogoutURIs, s.validateLifetimes,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s Spec) validateName() error {
	switch n := utf8.RuneCountInString(s.Name); {
	case n == 0:
		return invalid("name", "is required")
	case n > maxNameLength:
		return invalid("name", fmt.Sprintf("is longer than %d characters", maxNameLength))
	case !utf8.ValidString(s.Name) || strings.ContainsFunc(s.Name, unicode.IsControl):
		return invalid("name", "must not contain control characters")
	}
	if s.OrgID == "" {
		return invalid("org_id", "is required")
	}
	return nil
}

func (s Spec) validateType() error {
	if s.Type != TypeConfidential && s.Type != TypePublic {
		return invalidValue("type", s.Type, `must be "confidential" or "public"`)
	}
	return nil
}

func (s Spec) validateGrants() error {
	if len(s.GrantTypes) == 0 {
		return invalid("grant_types", "at least one grant type is required")
	}
	for _, g := range s.GrantTypes {
		if !allowedGrantTypes[g] {
			return invalidValue("grant_types", g, "is not supported (want authorization_code, refresh_token or client_credentials)")
		}
	}
	if s.Type == TypePublic && slices.Contains(s.GrantTypes, GrantClientCredentials) {
		// A public client cannot authenticate, so anyone could use its identity (RFC 6749 section 4.4).
		return invalidValue("grant_types", GrantClientCredentials, "is only for confidential clients")
	}
	if slices.Contains(s.GrantTypes, GrantRefreshToken) && !s.allows(GrantAuthorizationCode) {
		// Refresh tokens only come from the code flow; client_credentials issues none (RFC 6749 section 4.4.3).
		return invalidValue("grant_types", GrantRefreshToken, "requires authorization_code")
	}
	return nil
}

func (s Spec) allows(grant string) bool { return slices.Contains(s.GrantTypes, grant) }

func (s Spec) validateRedirects() error {
	code := s.allows(GrantAuthorizationCode)
	if code && len(s.RedirectURIs) == 0 {
		// OAuth 2.1 section 2.3.1: clients using the code flow must register their redirect URIs.
		return invalid("redirect_uris", "at least one is required for authorization_code")
	}
	if !code && len(s.RedirectURIs) > 0 {
		return invalid("redirect_uris", "are only used with the authorization_code grant")
	}
	if !code && len(s.PostLogoutRedirectURIs) > 0 {
		return invalid("post_logout_redirect_uris", "are only used with the authorization_code grant")
	}
	for _, u := range s.RedirectURIs {
		if err := ValidateRedirectURI("redirect_uri", u); err != nil {
			return err
		}
	}
	for _, u := range s.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI("post_logout_redirect_uri", u); err != nil {
			return err
		}
	}
	return nil
}

func (s Spec) validateScopes() error {
	for _, sc := range s.Scopes {
		if !allowedScopes[sc] {
			return invalidValue("scopes", sc, "is not a scope this server knows")
		}
	}
	return nil
}

func (s Spec) validateAudience() error {
	for _, a := range s.Audience {
		switch {
		case len(a) > maxAudienceLength:
			return invalidValue("audience", a, fmt.Sprintf("is longer than %d characters", maxAudienceLength))
		case strings.ContainsFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			return invalidValue("audience", a, "must not contain spaces or control characters")
		}
	}
	return nil
}

func (s Spec) validateAuth() error {
	const field = "token_endpoint_auth_method"
	if s.Type == TypePublic {
		if s.AuthMethod != AuthNone {
			return invalidValue(field, s.AuthMethod, `public clients have no credentials: must be "none"`)
		}
	} else {
		switch s.AuthMethod {
		case AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT:
		case AuthNone:
			return invalidValue(field, s.AuthMethod, "confidential clients must authenticate; register a public client instead")
		default:
			return invalidValue(field, s.AuthMethod, "must be client_secret_basic, client_secret_post or private_key_jwt")
		}
	}
	if s.AuthMethod != AuthPrivateKeyJWT {
		if s.JWKS != "" {
			return invalid("jwks", "is only used with private_key_jwt")
		}
		if s.JWKSURI != "" {
			return invalid("jwks_uri", "is only used with private_key_jwt")
		}
		if s.AuthSigningAlg != "" {
			return invalidValue(authAlgField, s.AuthSigningAlg, "is only used with private_key_jwt")
		}
		return nil
	}
	switch {
	case s.JWKS == "" && s.JWKSURI == "":
		return invalid("jwks", "private_key_jwt needs the client's public keys: give jwks or jwks_uri")
	case s.JWKS != "" && s.JWKSURI != "":
		// OpenID Connect Dynamic Client Registration section 2: jwks and jwks_uri must not both be used.
		return invalid("jwks", "give jwks or jwks_uri, not both")
	}
	var set *jose.JSONWebKeySet
	if s.JWKS != "" {
		var err error
		if set, err = ParseJWKS(s.JWKS); err != nil {
			return err
		}
	} else if err := validateJWKSURI(s.JWKSURI); err != nil {
		return err
	}
	if err := s.validateAuthSigningAlg(); err != nil {
		return err
	}
	// fosite compares the assertion's alg with AuthSigningAlg and then looks for a key of the
	// matching type, so a key set without one would reject every assertion. The keys behind a
	// jwks_uri are only known when fosite fetches them.
	if set != nil && !slices.ContainsFunc(set.Keys, func(k jose.JSONWebKey) bool { return usableWith(k, s.AuthSigningAlg) }) {
		return invalidValue(authAlgField, s.AuthSigningAlg, "jwks has no key to verify it with (want "+keyFor(s.AuthSigningAlg)+` with "use": "sig")`)
	}
	return nil
}

const authAlgField = "token_endpoint_auth_signing_alg"

// validateAuthSigningAlg checks the algorithm of a private_key_jwt client's assertions: one that
// fosite verifies with the client's public keys.
func (s Spec) validateAuthSigningAlg() error {
	switch s.AuthSigningAlg {
	case AlgES256, AlgRS256, AlgPS256:
		return nil
	case "":
		return invalid(authAlgField, "is required for private_key_jwt (ES256, RS256 or PS256)")
	default:
		return invalidValue(authAlgField, s.AuthSigningAlg, "must be ES256, RS256 or PS256")
	}
}

func (s Spec) validateOptions() error {
	if s.IDTokenAlg != AlgES256 && s.IDTokenAlg != AlgRS256 {
		return invalidValue("id_token_signed_response_alg", s.IDTokenAlg, "must be ES256 or RS256")
	}
	if s.CanIntrospect && s.Type != TypeConfidential {
		// The introspection endpoint requires caller authentication (RFC 7662 section 2.1).
		return invalid("can_introspect", "only confidential clients may introspect tokens")
	}
	return nil
}
