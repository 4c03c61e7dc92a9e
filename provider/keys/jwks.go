package keys

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v3"

	"github.com/portcullis-id/portcullis/internal/database"
)

// JWKS returns the JWK Set (RFC 7517 section 5) of every next, active and still-published retired
// key, for the jwks_uri of the discovery document.
func (m *Manager) JWKS(ctx context.Context) (*jose.JSONWebKeySet, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return &jose.JSONWebKeySet{Keys: slices.Clone(s.jwks.Keys)}, nil
}

// JWKSJSON returns the JWKS already serialised, so the jwks_uri handler need not marshal it on
// every request.
func (m *Manager) JWKSJSON(ctx context.Context) ([]byte, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(s.jwksJSON), nil
}

// PublicKey returns the published public key with this kid, to verify a JWT we issued (an
// id_token_hint, say). An unknown kid is looked up in the database once more, at most once per
// second, in case another process has just created it; it gives database.ErrNotFound.
func (m *Manager) PublicKey(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	if k, ok := s.public[kid]; ok {
		c := *k
		return &c, nil
	}
	if m.mayProbe() {
		if s, err = m.reload(ctx, true); err != nil {
			return nil, err
		}
		if k, ok := s.public[kid]; ok {
			c := *k
			return &c, nil
		}
	}
	return nil, fmt.Errorf("signing key %q: %w", kid, database.ErrNotFound)
}

// mayProbe reports whether an unknown kid may cause a reload now, and if so claims the slot.
func (m *Manager) mayProbe() bool {
	now := m.opts.Now().UnixNano()
	last := m.lastProbe.Load()
	if last != 0 && now-last < int64(min(probeEvery, m.opts.CacheFor)) && now >= last {
		return false
	}
	return m.lastProbe.CompareAndSwap(last, now)
}

// SigningKey returns the private key of the active key for alg, with KeyID, Algorithm and Use set
// so that go-jose writes the kid header (RFC 7515 section 4.1.4). It reads the database only when
// the cache is older than CacheFor.
func (m *Manager) SigningKey(ctx context.Context, alg string) (*jose.JSONWebKey, error) {
	if !Supported(alg) {
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	k, ok := s.signing[alg]
	if !ok {
		return nil, fmt.Errorf("no active %s signing key: run Ensure first", alg)
	}
	c := *k // callers get their own copy of the fields; the key material is shared
	return &c, nil
}
