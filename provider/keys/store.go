package keys

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/migrations"
)

// keyRow is one row of signing_keys.
type keyRow struct {
	KID          string     `gorm:"column:kid;primaryKey"`
	Alg          string     `gorm:"column:alg"`
	State        string     `gorm:"column:state"`
	PrivateKey   []byte     `gorm:"column:private_key"` // PKCS #8, sealed
	PublicJWK    string     `gorm:"column:public_jwk"`  // RFC 7517 JWK of the public key
	CreatedAt    time.Time  `gorm:"column:created_at"`
	ActivatedAt  *time.Time `gorm:"column:activated_at"`
	RetiredAt    *time.Time `gorm:"column:retired_at"`
	PublishUntil *time.Time `gorm:"column:publish_until"`
}

func (keyRow) TableName() string { return "signing_keys" }

// normalise puts the times read back in UTC: SQLite may hand them over in another location.
func (r *keyRow) normalise() {
	r.CreatedAt = r.CreatedAt.UTC()
	for _, t := range []**time.Time{&r.ActivatedAt, &r.RetiredAt, &r.PublishUntil} {
		if *t != nil {
			u := (**t).UTC()
			*t = &u
		}
	}
}

// publishedAt reports whether the row's public key belongs in the JWKS at now, and until when
// (zero: no end).
func (m *Manager) publishedAt(r *keyRow, now time.Time) (bool, time.Time) {
	switch r.State {
	case StateNext, StateActive:
		return true, time.Time{}
	case StateRetired:
		until := m.publishUntil(r)
		return now.Before(until), until
	}
	return false, time.Time{}
}

// publishUntil is when a retired key may disappear. A row retired by hand without publish_until
// gets the usual grace from its retirement, or from now if it lacks even that.
func (m *Manager) publishUntil(r *keyRow) time.Time {
	switch {
	case r.PublishUntil != nil:
		return *r.PublishUntil
	case r.RetiredAt != nil:
		return r.RetiredAt.Add(m.opts.RetiredPublishFor)
	}
	return m.now().Add(m.opts.RetiredPublishFor)
}

// rankState orders states as List reports them: active, next, retired, then anything unknown.
func rankState(state string) int {
	switch state {
	case StateActive:
		return 0
	case StateNext:
		return 1
	case StateRetired:
		return 2
	}
	return 3
}

func algRank(alg string) int {
	for i, a := range algorithms {
		if a == alg {
			return i
		}
	}
	return len(algorithms)
}

// readRows returns every row ordered by alg, then state (active, next, retired), then creation.
// There are a handful of keys, so the ordering is done here rather than in two SQL dialects.
func (m *Manager) readRows(ctx context.Context) ([]keyRow, error) {
	var rows []keyRow
	if err := m.db.Conn(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	for i := range rows {
		rows[i].normalise()
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if a.Alg != b.Alg {
			if ra, rb := algRank(a.Alg), algRank(b.Alg); ra != rb {
				return ra < rb
			}
			return a.Alg < b.Alg
		}
		if ra, rb := rankState(a.State), rankState(b.State); ra != rb {
			return ra < rb
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.KID < b.KID
	})
	return rows, nil
}

// locked runs fn in a transaction that holds the signing-key write lock, so that two processes
// calling Ensure or Rotate at once take turns and the second sees what the first committed.
// A conflict that slips through anyway (duplicate kid, serialization failure, deadlock, busy
// SQLite) is retried from the start: fn re-reads the rows and finds the work already done.
func (m *Manager) locked(ctx context.Context, fn func(ctx context.Context) error) error {
	_, outer := database.TxFrom(ctx)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
			}
		}
		err = m.db.InTx(ctx, func(ctx context.Context) error {
			if err := m.lock(ctx); err != nil {
				return err
			}
			return fn(ctx)
		})
		// Inside a caller's transaction a failed statement may have aborted it: only the caller
		// can start again.
		if err == nil || outer || !retryable(err) {
			return err
		}
	}
	return err
}

func (m *Manager) lock(ctx context.Context) error {
	conn := m.db.Conn(ctx)
	var err error
	if m.db.Dialect == migrations.Postgres {
		// SHARE ROW EXCLUSIVE conflicts with itself and with every write, but not with plain
		// reads, so JWKS and signing reloads in other processes carry on meanwhile.
		err = conn.Exec("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE").Error
	} else {
		// database.Open begins SQLite transactions IMMEDIATE, which already holds the write
		// lock; a write that matches nothing takes it too when a transaction was begun DEFERRED.
		err = conn.Exec("UPDATE signing_keys SET state = state WHERE 1 = 0").Error
	}
	if err != nil {
		return fmt.Errorf("lock signing keys: %w", err)
	}
	return nil
}

var errConflict = errors.New("signing keys changed concurrently")

// retryable reports whether err is a conflict with a concurrent writer.
func retryable(err error) bool {
	if errors.Is(err, errConflict) || database.IsUniqueViolation(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// serialization_failure, deadlock_detected, lock_not_available
		return pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == "55P03"
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// setState moves one key from state from to state to, setting the given columns as well.
func (m *Manager) setState(ctx context.Context, kid, from, to string, cols map[string]any) error {
	cols["state"] = to
	res := m.db.Conn(ctx).Model(&keyRow{}).Where("kid = ? AND state = ?", kid, from).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("signing key %s: %s -> %s: %w", kid, from, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("signing key %s is no longer %s: %w", kid, from, errConflict)
	}
	return nil
}

func (m *Manager) insert(ctx context.Context, r *keyRow) error {
	if err := m.db.Conn(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("store %s signing key: %w", r.Alg, err)
	}
	return nil
}
