package provider

import (
	"context"
	"errors"

	"github.com/ory/fosite"
)

// ErrInvalidToken is an access token that is unknown, expired, revoked or not an access token.
var ErrInvalidToken = errors.New("the access token is not valid")

// AccessToken validates an access token presented to one of our own APIs as a bearer token (RFC
// 6750 section 2.1), the way the userinfo endpoint does, and says whose it is: the client it was
// issued to, its subject (the user, or the client itself for the client-credentials grant, RFC 9068
// section 2.2) and the scopes granted. Whether the caller may do what it asks is the API's
// decision; any failure to validate is ErrInvalidToken, whatever the reason, so that callers
// cannot tell a revoked token from an unknown one.
func (p *Provider) AccessToken(ctx context.Context, token string) (clientID, subject string, scopes []string, err error) {
	if token == "" {
		return "", "", nil, ErrInvalidToken
	}
	tu, ar, err := p.OAuth2.IntrospectToken(ctx, token, fosite.AccessToken, NewSession())
	if err != nil || tu != fosite.AccessToken || ar.GetClient() == nil {
		return "", "", nil, ErrInvalidToken
	}
	return ar.GetClient().GetID(), ar.GetSession().GetSubject(), append([]string(nil), ar.GetGrantedScopes()...), nil
}
