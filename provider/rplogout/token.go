package rplogout

import (
	"context"
	"encoding/json"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// EventBackchannelLogout is the event a logout token carries (Back-Channel Logout 1.0 section 2.4).
const EventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken signs a logout token for client c about session sid of subject sub: a JWT of type
// "logout+jwt" signed with the active key of the client's ID token algorithm, so the client checks
// it as it checks ID tokens, with iss, aud, iat, exp, jti, sid, sub and events, and never a nonce
// (Back-Channel Logout 1.0 section 2.4).
func (n *Notifier) LogoutToken(ctx context.Context, c clients.Client, sid, sub string) (string, error) {
	alg := c.IDTokenSignedResponseAlg
	if alg == "" {
		alg = clients.AlgES256
	}
	key, err := n.Keys.SigningKey(ctx, alg)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", err
	}
	now := n.now().Truncate(time.Second)
	claims := map[string]any{
		"iss":    n.Issuer,
		"aud":    c.ID,
		"iat":    now.Unix(),
		"exp":    now.Add(TokenLifetime).Unix(),
		"jti":    secret.Token(16),
		"sid":    sid,
		"events": map[string]any{EventBackchannelLogout: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
