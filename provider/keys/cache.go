package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v3"
)

// snapshot is what one read of signing_keys decodes to. It is immutable once stored, so the
// signing path reads it without a lock.
type snapshot struct {
	validUntil time.Time                   // reload after this: loaded + CacheFor, or earlier when a retired key's publication ends
	signing    map[string]*jose.JSONWebKey // alg -> private key of the active key
	public     map[string]*jose.JSONWebKey // kid -> public key, for every published key
	jwks       jose.JSONWebKeySet          // published keys in List order
	jwksJSON   []byte
}

// decoded is a key already parsed (and for active and next keys unsealed): keys never change
// under a kid, so a reload decodes only the kids it has not seen, and unseals each key once.
type decoded struct {
	pub, priv *jose.JSONWebKey
}

// probeEvery limits the reloads caused by unknown kids, so that tokens with made-up kids cannot
// turn into a database query each.
const probeEvery = time.Second

// current returns the cached keys, reading the database when they are older than CacheFor.
func (m *Manager) current(ctx context.Context) (*snapshot, error) {
	if s := m.snap.Load(); s != nil && m.opts.Now().Before(s.validUntil) {
		return s, nil
	}
	return m.reload(ctx, false)
}

// reload reads the keys again. Concurrent callers share one read: whoever waited for the lock
// while another reloaded takes that result. force asks for a read that began after the call,
// even if the cache is still fresh.
func (m *Manager) reload(ctx context.Context, force bool) (*snapshot, error) {
	seen := m.loads.Load()
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if s := m.snap.Load(); s != nil && m.opts.Now().Before(s.validUntil) && (!force || m.loads.Load() != seen) {
		return s, nil
	}
	rows, err := m.readRows(ctx)
	if err != nil {
		return nil, err
	}
	s, err := m.decode(rows)
	if err != nil {
		return nil, err
	}
	m.snap.Store(s)
	m.loads.Add(1)
	return s, nil
}

// invalidate drops the cache after this Manager changed the keys. It waits for a reload in
// progress, which may have read the old rows, so that reload cannot store them afterwards.
func (m *Manager) invalidate() {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.snap.Store(nil)
}

// decode builds a snapshot from rows (ordered as readRows returns them). Called with reloadMu held.
func (m *Manager) decode(rows []keyRow) (*snapshot, error) {
	loaded := m.opts.Now()
	now := loaded.UTC()
	s := &snapshot{
		validUntil: loaded.Add(m.opts.CacheFor),
		signing:    map[string]*jose.JSONWebKey{},
		public:     map[string]*jose.JSONWebKey{},
		jwks:       jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}},
	}
	memo := make(map[string]decoded, len(rows))
	for i := range rows {
		r := &rows[i]
		if !Supported(r.Alg) {
			continue // a key of a newer version of Portcullis: not ours to publish
		}
		published, until := m.publishedAt(r, now)
		if !published {
			continue
		}
		if !until.IsZero() && until.Before(s.validUntil) {
			s.validUntil = until // drop it from the JWKS on time
		}
		d := m.memo[r.KID]
		if d.pub == nil {
			pub, err := decodePublic(r)
			if err != nil {
				return nil, err
			}
			d.pub = pub
		}
		// The next key is unsealed too: a wrong system secret should fail at start-up,
		// not at the next rotation.
		if d.priv == nil && (r.State == StateActive || r.State == StateNext) {
			priv, err := m.decodePrivate(r, d.pub)
			if err != nil {
				return nil, err
			}
			d.priv = priv
		}
		memo[r.KID] = d
		s.public[r.KID] = d.pub
		s.jwks.Keys = append(s.jwks.Keys, *d.pub)
	}
	for _, alg := range algorithms {
		// Should a hand-edited table hold two active keys, sign with the one repair keeps.
		if actives, _ := byState(alg, rows); len(actives) > 0 {
			s.signing[alg] = memo[actives[0].KID].priv
		}
	}
	js, err := json.Marshal(&s.jwks)
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	s.jwksJSON = js
	m.memo = memo
	return s, nil
}
