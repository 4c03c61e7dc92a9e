package provider

import (
	"context"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// ClientStore is what the provider needs of the client registry.
type ClientStore interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Client adapts a registered client to fosite's client interfaces.
type Client struct {
	clients.Client
	jwks *jose.JSONWebKeySet
}

var (
	_ fosite.OpenIDConnectClient = (*Client)(nil)
	_ fosite.ResponseModeClient  = (*Client)(nil)
	// fosite asks every client for its lifetimes when it issues a token (access and refresh
	// tokens of the code, refresh and client-credentials grants; ID tokens of the code and
	// refresh grants) and falls back to the server's defaults.
	_ fosite.ClientWithCustomTokenLifespans = (*Client)(nil)
)

func (c *Client) GetID() string                      { return c.ID }
func (c *Client) GetHashedSecret() []byte            { return c.SecretHash }
func (c *Client) GetRedirectURIs() []string          { return c.RedirectURIs }
func (c *Client) GetGrantTypes() fosite.Arguments    { return c.GrantTypes }
func (c *Client) GetResponseTypes() fosite.Arguments { return c.ResponseTypes }
func (c *Client) GetScopes() fosite.Arguments        { return c.Scopes }
func (c *Client) IsPublic() bool                     { return c.Public }
func (c *Client) GetAudience() fosite.Arguments      { return c.Audience }
func (c *Client) GetRequestURIs() []string           { return nil }
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet {
	return c.jwks
}
func (c *Client) GetJSONWebKeysURI() string                { return c.JWKSURI }
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }
func (c *Client) GetTokenEndpointAuthMethod() string       { return c.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm is the one algorithm fosite accepts for this client's
// private_key_jwt assertions, as registered.
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string {
	return c.TokenEndpointAuthSigningAlg
}

// GetResponseModes lists the response modes we serve (OAuth 2.0 Multiple Response Types 2.1, Form Post).
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFormPost}
}

// GetEffectiveLifespan returns the client's own lifetime of a token type, whatever the grant
// that issues it, or fallback (the server's default) when it has none.
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	var d time.Duration
	switch tt {
	case fosite.AccessToken:
		d = c.Lifetimes.AccessToken
	case fosite.RefreshToken:
		d = c.Lifetimes.RefreshToken
	case fosite.IDToken:
		d = c.Lifetimes.IDToken
	}
	if d <= 0 {
		return fallback
	}
	return d
}

// clientSource resolves clients for fosite and the store.
type clientSource struct{ store ClientStore }

func (s clientSource) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.store.Get(ctx, id)
	if errors.Is(err, database.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := &Client{Client: c}
	if c.JWKS != "" {
		if out.jwks, err = clients.ParseJWKS(c.JWKS); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// secretHasher checks client secrets with the keyed hash they were stored with: our secrets are
// 256-bit random, so a fast keyed hash is safe where bcrypt would cap the token endpoint.
type secretHasher struct{ h *secret.Hasher }

func (s secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) == 0 || !s.h.Equal(hash, data) {
		return errors.New("client secret mismatch")
	}
	return nil
}

func (s secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) { return s.h.Sum(data), nil }
