package provider

import (
	"net/http"

	"github.com/portcullis-id/portcullis/internal/httpx"
)

// Scopes and claims we support; discovery lists exactly these.
var (
	SupportedScopes = []string{"openid", "profile", "email", "offline_access", "org", "roles"}
	SupportedClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "sid",
		"name", "preferred_username", "updated_at", "email", "email_verified", "org_id", "org_name", "roles"}
)

// ACRPassword is the acr of a password sign-in. OIDC Core 2 gives "0" to an authentication that
// does not meet ISO/IEC 29115 level 1 assurance; a relying party that needs a passkey asks for
// acr_values=phr (ACRPhishingResistant).
const ACRPassword = "0"

// discovery serves OpenID Connect Discovery 1.0 metadata (also valid as RFC 8414 metadata).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	i := p.Issuer
	authMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	confidentialMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	assertionAlgs := []string{"RS256", "ES256", "PS256"}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.JSON(w, http.StatusOK, map[string]any{
		"issuer":                                                   i,
		"authorization_endpoint":                                   i + "/oauth2/auth",
		"token_endpoint":                                           i + "/oauth2/token",
		"userinfo_endpoint":                                        i + "/userinfo",
		"jwks_uri":                                                 i + "/.well-known/jwks.json",
		"end_session_endpoint":                                     i + "/oauth2/logout",
		"pushed_authorization_request_endpoint":                    i + "/oauth2/par",
		"introspection_endpoint":                                   i + "/oauth2/introspect",
		"revocation_endpoint":                                      i + "/oauth2/revoke",
		"require_pushed_authorization_requests":                    false,
		"scopes_supported":                                         SupportedScopes,
		"claims_supported":                                         SupportedClaims,
		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query", "form_post"},
		"grant_types_supported":                                    []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    []string{"ES256", "RS256"},
		"code_challenge_methods_supported":                         []string{"S256"},
		"prompt_values_supported":                                  []string{"none", "login", "consent"},
		"acr_values_supported":                                     []string{ACRPhishingResistant, ACRPassword},
		"token_endpoint_auth_methods_supported":                    authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            confidentialMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"claims_parameter_supported":                               false,
		"request_parameter_supported":                              false,
		"request_uri_parameter_supported":                          false,
		// Back-Channel Logout 1.0 section 2.1 and Front-Channel Logout 1.0 section 3: logout tokens
		// always carry sid, and session_required front-channel URIs get iss and sid.
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
		"frontchannel_logout_supported":         true,
		"frontchannel_logout_session_supported": true,
	})
}

// jwks serves the public signing keys (RFC 7517): next, active and still-published retired keys.
func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	b, err := p.Keys.JWKSJSON(r.Context())
	if err != nil {
		p.log(r.Context()).Error("jwks", "err", err)
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Short enough that a relying party sees a newly published key well before it signs.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
