package keys

import (
	"context"
	"fmt"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite/token/jwt"
)

// Signer returns the jwt.Signer for fosite. Generate signs with the active key of the algorithm
// carried by the context (WithAlgorithm; ES256 when none): fosite's DefaultSigner accepts the
// *jose.JSONWebKey that SigningKey returns and signs with its Algorithm and KeyID.
//
// DefaultSigner would verify (Validate, Decode) with the active private key only, so every token
// signed before a rotation would fail. Ours verifies with the published key the token's kid
// header names instead, requiring that key's algorithm.
func (m *Manager) Signer() jwt.Signer {
	return &signer{
		DefaultSigner: jwt.DefaultSigner{GetPrivateKey: func(ctx context.Context) (interface{}, error) {
			return m.SigningKey(ctx, AlgorithmFrom(ctx))
		}},
		m: m,
	}
}

type signer struct {
	jwt.DefaultSigner
	m *Manager
}

// Decode parses and verifies token with the published key its kid names, then checks its claims
// (exp, iat, nbf) as fosite's DefaultSigner does.
func (s *signer) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	return jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (interface{}, error) {
		return s.m.verificationKey(ctx, t)
	})
}

// Validate verifies token like Decode and returns its signature.
func (s *signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// verificationKey picks the public key for a parsed, unverified token: the one its kid names, or
// without a kid the active key of its alg. The token's alg must be the key's (RFC 7517 section
// 4.4), so a token cannot choose how its signature is checked.
func (m *Manager) verificationKey(ctx context.Context, t *jwt.Token) (*jose.JSONWebKey, error) {
	alg := string(t.Method)
	kid, _ := t.Header["kid"].(string)
	var key *jose.JSONWebKey
	if kid != "" {
		k, err := m.PublicKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = k
	} else {
		k, err := m.SigningKey(ctx, alg)
		if err != nil {
			return nil, err
		}
		pub := k.Public()
		key = &pub
	}
	if key.Algorithm != alg {
		return nil, fmt.Errorf("token alg %q does not match key %s (%s)", alg, key.KeyID, key.Algorithm)
	}
	return key, nil
}
