package keys

import (
	"context"
	"fmt"
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
// once; other processes on the same database switch within CacheFor and meanwhile sign with the
// retired keys, which are still published. Called inside a caller's transaction (ctx from
// database.InTx) it joins it, and this Manager too may then use the old keys for up to CacheFor.
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
