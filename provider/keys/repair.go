package keys

import (
	"context"
	"sort"
	"time"
)

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
