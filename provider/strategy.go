package provider

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/portcullis-id/portcullis/provider/keys"
)

// tokenStrategy issues opaque HMAC tokens (fosite's default) and, for clients registered for
// them, JWT access tokens in the RFC 9068 profile. Codes and refresh tokens are always opaque.
type tokenStrategy struct {
	*oauth2.HMACSHAStrategy
	hmacConfig hmacConfig // for time-stamped opaque tokens (opaque.go)
	keys       *keys.Manager
	issuer     string
	lifespan   time.Duration
	signers    sync.Map // kid -> jose.Signer: building one per token costs more than it should
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

func wantsJWT(r fosite.Requester) bool {
	c, ok := r.GetClient().(*Client)
	return ok && c.JWTAccessTokens
}

// AccessTokenSignature implements oauth2.AccessTokenStrategy.
func (s *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	if isJWT(token) {
		return jwtSignature(token)
	}
	return opaqueSignature(token, "at")
}

// GenerateAccessToken implements oauth2.AccessTokenStrategy.
func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	if !wantsJWT(r) {
		return s.generateOpaque(ctx, "at")
	}
	return s.generateJWT(ctx, r)
}

// ValidateAccessToken implements oauth2.AccessTokenStrategy.
func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if !isJWT(token) {
		return s.HMACSHAStrategy.ValidateAccessToken(ctx, r, token)
	}
	jws, err := jose.ParseSigned(token)
	if err != nil || len(jws.Signatures) != 1 {
		return fosite.ErrTokenSignatureMismatch
	}
	key, err := s.keys.PublicKey(ctx, jws.Signatures[0].Header.KeyID)
	if err != nil {
		return fosite.ErrTokenSignatureMismatch
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return fosite.ErrTokenSignatureMismatch
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fosite.ErrTokenSignatureMismatch
	}
	if time.Now().Unix() >= claims.Exp {
		return fosite.ErrTokenExpired.WithHint("Access token expired.")
	}
	return nil
}

// signer returns a signer for the active ES256 key, typ "at+jwt" (RFC 9068 section 2.1).
func (s *tokenStrategy) signer(ctx context.Context) (jose.Signer, error) {
	key, err := s.keys.SigningKey(ctx, "ES256")
	if err != nil {
		return nil, err
	}
	if v, ok := s.signers.Load(key.KeyID); ok {
		return v.(jose.Signer), nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, err
	}
	s.signers.Store(key.KeyID, signer)
	return signer, nil
}

// generateJWT builds an RFC 9068 access token: header typ "at+jwt" (section 2.1); claims iss, exp,
// aud, sub, client_id, iat, jti (section 2.2), scope (2.2.3) and, for a user's token, auth_time,
// acr and amr (2.2.1).
func (s *tokenStrategy) generateJWT(ctx context.Context, r fosite.Requester) (string, string, error) {
	now := time.Now().UTC()
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		exp = now.Add(s.lifespan)
	}
	clientID := r.GetClient().GetID()
	aud := []string(r.GetGrantedAudience())
	if len(aud) == 0 {
		// No resource was named: the token is for our own userinfo endpoint.
		aud = []string{s.issuer}
	}
	claims := map[string]any{
		"iss": s.issuer, "sub": clientID, "aud": aud, "client_id": clientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(), "jti": stampedJTI(now),
		"scope": strings.Join(r.GetGrantedScopes(), " "),
	}
	if sess, ok := r.GetSession().(*Session); ok && sess.GetSubject() != "" {
		claims["sub"] = sess.GetSubject()
		if c := sess.IDTokenClaims(); c != nil {
			if !c.AuthTime.IsZero() {
				claims["auth_time"] = c.AuthTime.Unix()
			}
			if c.AuthenticationContextClassReference != "" {
				claims["acr"] = c.AuthenticationContextClassReference
			}
			if len(c.AuthenticationMethodsReferences) > 0 {
				claims["amr"] = c.AuthenticationMethodsReferences
			}
		}
		if sess.SID != "" {
			claims["sid"] = sess.SID
		}
	}
	signer, err := s.signer(ctx)
	if err != nil {
		return "", "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", "", err
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		return "", "", err
	}
	if strings.Count(token, ".") != 2 {
		return "", "", errors.New("malformed JWS")
	}
	return token, claims["jti"].(string), nil
}
