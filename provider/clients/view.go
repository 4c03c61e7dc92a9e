package clients

import "time"

// View is the machine-readable form of a client, shared by the CLI's --output json and the
// admin API. Lists are never null; lifetimes are in seconds (0: the server's default).
type View struct {
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"` // only when just created or rotated
	Name                    string    `json:"name"`
	OrgID                   string    `json:"org_id"`
	Type                    string    `json:"type"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	ResponseTypes           []string  `json:"response_types"`
	Scopes                  []string  `json:"scopes"`
	Audience                []string  `json:"audience"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	JWKS                    string    `json:"jwks,omitempty"`
	JWKSURI                 string    `json:"jwks_uri,omitempty"`
	AuthSigningAlg          string    `json:"token_endpoint_auth_signing_alg,omitempty"`
	IDTokenAlg              string    `json:"id_token_signed_response_alg"`
	JWTAccessTokens         bool      `json:"jwt_access_tokens"`
	RequirePAR              bool      `json:"require_pushed_authorization_requests"`
	FirstParty              bool      `json:"first_party"`
	CanIntrospect           bool      `json:"introspect"`
	LogoURI                 string    `json:"logo_uri,omitempty"`
	PolicyURI               string    `json:"policy_uri,omitempty"`
	TOSURI                  string    `json:"tos_uri,omitempty"`
	BackchannelLogoutURI    string    `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSID    bool      `json:"backchannel_logout_session_required"`
	FrontchannelLogoutURI   string    `json:"frontchannel_logout_uri,omitempty"`
	FrontchannelLogoutSID   bool      `json:"frontchannel_logout_session_required"`
	AccessTokenLifetime     int64     `json:"access_token_lifetime"`
	RefreshTokenLifetime    int64     `json:"refresh_token_lifetime"`
	IDTokenLifetime         int64     `json:"id_token_lifetime"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
}

// ViewOf returns c's View; secret is the plaintext secret to show once, or "".
func ViewOf(c Client, secret string) View {
	return View{ClientID: c.ID, ClientSecret: secret, Name: c.Name, OrgID: c.OrgID, Type: c.Type(),
		RedirectURIs: nonNilList(c.RedirectURIs), PostLogoutRedirectURIs: nonNilList(c.PostLogoutRedirectURIs),
		GrantTypes: nonNilList(c.GrantTypes), ResponseTypes: nonNilList(c.ResponseTypes), Scopes: nonNilList(c.Scopes),
		Audience: nonNilList(c.Audience), TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, JWKS: c.JWKS, JWKSURI: c.JWKSURI,
		AuthSigningAlg: c.TokenEndpointAuthSigningAlg, IDTokenAlg: c.IDTokenSignedResponseAlg,
		JWTAccessTokens: c.JWTAccessTokens, RequirePAR: c.RequirePAR, FirstParty: c.FirstParty,
		CanIntrospect: c.CanIntrospect, LogoURI: c.LogoURI, PolicyURI: c.PolicyURI, TOSURI: c.TOSURI,
		BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSID: c.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: c.FrontchannelLogoutURI, FrontchannelLogoutSID: c.FrontchannelLogoutSessionRequired,
		AccessTokenLifetime:  int64(c.Lifetimes.AccessToken / time.Second),
		RefreshTokenLifetime: int64(c.Lifetimes.RefreshToken / time.Second),
		IDTokenLifetime:      int64(c.Lifetimes.IDToken / time.Second),
		CreatedAt:            c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
