package keys

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// KeyInfo describes one signing key, without its private half.
type KeyInfo struct {
	KID, Alg, State string
	CreatedAt       time.Time
	ActivatedAt     *time.Time
	RetiredAt       *time.Time
	PublishUntil    *time.Time
}

// List returns every stored key ordered by alg, then state (active, next, retired), then creation.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := m.readRows(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(rows))
	for i, r := range rows {
		out[i] = KeyInfo{
			KID: r.KID, Alg: r.Alg, State: r.State, CreatedAt: r.CreatedAt,
			ActivatedAt: r.ActivatedAt, RetiredAt: r.RetiredAt, PublishUntil: r.PublishUntil,
		}
	}
	return out, nil
}

// Ensure makes sure each algorithm has exactly one active and one next key, generating what is
// missing, and checks that the keys can be decrypted with this system secret. Several processes
// may call it at once on one database: they take turns, and the later ones find the work done.
func (m *Manager) Ensure(ctx context.Context) error {
	rows, err := m.readRows(ctx)
	if err != nil {
		return err
	}
	if need := m.shortfall(rows, algorithms); len(need) > 0 {
		// RSA key generation takes a while: do it before taking the lock, not while holding it.
		pool, err := m.pregenerate(need)
		if err != nil {
			return err
		}
		err = m.locked(ctx, func(ctx context.Context) error {
			rows, err := m.readRows(ctx)
			if err != nil {
				return err
			}
			now := m.now()
			for _, alg := range algorithms {
				if err := m.repair(ctx, alg, rows, now, pool); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("ensure signing keys: %w", err)
		}
	}
	m.invalidate()
	_, err = m.current(ctx)
	return err
}

// Rotate rotates the keys of alg, or of every algorithm when alg is "": next becomes active,
// active becomes retired (published for RetiredPublishFor more), and a new next key is made, all
// in one transaction. It returns the kids that are now active. This Manager signs with them at
// once; other processes on the same database within CacheFor, meanwhile signing with the
// retired keys, which are still published.
func (m *Manager) Rotate(ctx context.Context, alg string) ([]string, error) {
	algs := algorithms
	if alg != "" {
		if !Supported(alg) {
			return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
		}
		algs = []string{alg}
	}
	need := make(map[string]int, len(algs))
	for _, a := range algs {
		need[a] = 1
	}
	pool, err := m.pregenerate(need)
	if err != nil {
		return nil, err
	}
	var kids []string
	err = m.locked(ctx, func(ctx context.Context) error {
		kids = kids[:0]
		rows, err := m.readRows(ctx)
		if err != nil {
			return err
		}
		now := m.now()
		// A missing next or active key (a database that never ran Ensure) is made first, so
		// that there is something to rotate.
		if len(m.shortfall(rows, algs)) > 0 {
			for _, a := range algs {
				if err := m.repair(ctx, a, rows, now, pool); err != nil {
					return err
				}
			}
			if rows, err = m.readRows(ctx); err != nil {
				return err
			}
		}
		for _, a := range algs {
			active, next := m.pick(a, rows)
			if err := m.retire(ctx, active, now); err != nil {
				return err
			}
			if err := m.setState(ctx, next.KID, StateNext, StateActive, map[string]any{"activated_at": now}); err != nil {
				return err
			}
			fresh, err := pool.take(a, StateNext, now)
			if err != nil {
				return err
			}
			if err := m.insert(ctx, fresh); err != nil {
				return err
			}
			kids = append(kids, next.KID)
		}
		return nil
	})
	m.invalidate()
	if err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	return kids, nil
}

// Prune deletes the retired keys whose publish_until has passed and returns how many it deleted.
// Every token they signed has expired by then, so nobody needs them any more.
func (m *Manager) Prune(ctx context.Context) (int, error) {
	var rows []keyRow
	err := m.db.Conn(ctx).Select("kid", "state", "retired_at", "publish_until").
		Where("state = ?", StateRetired).Find(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("read retired signing keys: %w", err)
	}
	now := m.now()
	var kids []string
	for i := range rows {
		rows[i].normalise()
		if !now.Before(m.publishUntil(&rows[i])) {
			kids = append(kids, rows[i].KID)
		}
	}
	if len(kids) == 0 {
		return 0, nil
	}
	res := m.db.Conn(ctx).Where("kid IN ? AND state = ?", kids, StateRetired).Delete(&keyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune signing keys: %w", res.Error)
	}
	m.invalidate()
	return int(res.RowsAffected), nil
}

// byState returns the active and next rows of alg: actives newest activation first (the most
// recent rotation wins), nexts oldest first (published longest).
func byState(alg string, rows []keyRow) (actives, nexts []*keyRow) {
	for i := range rows {
		r := &rows[i]
		if r.Alg != alg {
			continue
		}
		switch r.State {
		case StateActive:
			actives = append(actives, r)
		case StateNext:
			nexts = append(nexts, r)
		}
	}
	activated := func(r *keyRow) time.Time {
		if r.ActivatedAt != nil {
			return *r.ActivatedAt
		}
		return r.CreatedAt
	}
	sort.SliceStable(actives, func(i, j int) bool { return activated(actives[i]).After(activated(actives[j])) })
	return actives, nexts
}

// pick returns the one active and one next key of alg, which repair has made sure of.
func (m *Manager) pick(alg string, rows []keyRow) (active, next *keyRow) {
	actives, nexts := byState(alg, rows)
	return actives[0], nexts[0]
}

// shortfall counts, per algorithm that is not in order, the keys repair will have to generate.
func (m *Manager) shortfall(rows []keyRow, algs []string) map[string]int {
	need := map[string]int{}
	for _, alg := range algs {
		actives, nexts := byState(alg, rows)
		switch {
		case len(actives) == 1 && len(nexts) == 1:
		case len(actives)+len(nexts) == 0:
			need[alg] = 2
		case len(actives) == 0 && len(nexts) == 1, len(nexts) == 0:
			need[alg] = 1 // a lone next is promoted, a new next is made
		default:
			need[alg] = 0 // duplicates only: retire the extras
		}
	}
	return need
}

// repair brings alg to exactly one active and one next key. A next key is promoted when there is
// no active one, because relying parties already have it; duplicates (which the lock prevents,
// but a hand-edited table may hold) are retired rather than deleted, as they may have signed.
func (m *Manager) repair(ctx context.Context, alg string, rows []keyRow, now time.Time, pool *keyPool) error {
	actives, nexts := byState(alg, rows)
	if len(actives) == 0 && len(nexts) > 0 {
		if err := m.setState(ctx, nexts[0].KID, StateNext, StateActive, map[string]any{"activated_at": now}); err != nil {
			return err
		}
		actives, nexts = nexts[:1], nexts[1:]
	}
	for _, r := range tail(actives) {
		if err := m.retire(ctx, r, now); err != nil {
			return err
		}
	}
	for _, r := range tail(nexts) {
		if err := m.retire(ctx, r, now); err != nil {
			return err
		}
	}
	for _, missing := range []struct {
		state string
		have  int
	}{{StateActive, len(actives)}, {StateNext, len(nexts)}} {
		if missing.have > 0 {
			continue
		}
		r, err := pool.take(alg, missing.state, now)
		if err != nil {
			return err
		}
		if err := m.insert(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func tail(rs []*keyRow) []*keyRow {
	if len(rs) <= 1 {
		return nil
	}
	return rs[1:]
}

// retire stops a key signing but keeps it published until every token it signed has expired.
func (m *Manager) retire(ctx context.Context, r *keyRow, now time.Time) error {
	return m.setState(ctx, r.KID, r.State, StateRetired, map[string]any{
		"retired_at":    now,
		"publish_until": now.Add(m.opts.RetiredPublishFor),
	})
}

// keyPool hands out keys generated ahead of the transaction, and generates more if the
// transaction turns out to need them (a concurrent change, or a retry).
type keyPool struct {
	m     *Manager
	ready map[string][]*keyRow
}

func (m *Manager) pregenerate(need map[string]int) (*keyPool, error) {
	p := &keyPool{m: m, ready: map[string][]*keyRow{}}
	for alg, n := range need {
		for range n {
			r, err := m.generate(alg, StateNext, m.now())
			if err != nil {
				return nil, err
			}
			p.ready[alg] = append(p.ready[alg], r)
		}
	}
	return p, nil
}

func (p *keyPool) take(alg, state string, now time.Time) (*keyRow, error) {
	if rs := p.ready[alg]; len(rs) > 0 {
		r := rs[0]
		p.ready[alg] = rs[1:]
		r.State, r.CreatedAt, r.ActivatedAt = state, now, nil
		if state == StateActive {
			r.ActivatedAt = &now
		}
		return r, nil
	}
	return p.m.generate(alg, state, now)
}
