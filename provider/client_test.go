package provider

import (
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/provider/clients"
)

func TestClientLifespans(t *testing.T) {
	c := &Client{Client: clients.Client{Lifetimes: clients.Lifetimes{AccessToken: 5 * time.Minute, IDToken: 10 * time.Minute}}}
	for _, tc := range []struct {
		gt   fosite.GrantType
		tt   fosite.TokenType
		want time.Duration
	}{
		{fosite.GrantTypeAuthorizationCode, fosite.AccessToken, 5 * time.Minute},
		{fosite.GrantTypeRefreshToken, fosite.AccessToken, 5 * time.Minute},
		{fosite.GrantTypeClientCredentials, fosite.AccessToken, 5 * time.Minute},
		{fosite.GrantTypeAuthorizationCode, fosite.IDToken, 10 * time.Minute},
		{fosite.GrantTypeAuthorizationCode, fosite.RefreshToken, RefreshTokenLifespan}, // unset: the default
		{fosite.GrantTypeAuthorizationCode, fosite.AuthorizeCode, AuthorizeCodeLifespan},
	} {
		if got := fosite.GetEffectiveLifespan(c, tc.gt, tc.tt, defaultOf(tc.tt)); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.gt, tc.tt, got, tc.want)
		}
	}
	// Every JWT we sign must expire before its key leaves the JWKS.
	if RetiredKeyPublish <= clients.MaxJWTLifetime || RetiredKeyPublish <= max(AccessTokenLifespan, IDTokenLifespan) {
		t.Fatalf("retired keys are published for %v, less than a JWT may live", RetiredKeyPublish)
	}
}

func defaultOf(tt fosite.TokenType) time.Duration {
	switch tt {
	case fosite.AccessToken:
		return AccessTokenLifespan
	case fosite.IDToken:
		return IDTokenLifespan
	case fosite.RefreshToken:
		return RefreshTokenLifespan
	}
	return AuthorizeCodeLifespan
}
