package throttle

import (
	"context"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
)

// Limiter keeps attempt counts in the database, shared by every node.
type Limiter struct {
	db  *database.DB
	now func() time.Time
}

// New returns a limiter on db; now is the clock (nil means time.Now).
func New(db *database.DB, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: db, now: now}
}

// clock returns now in UTC at microsecond precision, the precision PostgreSQL keeps, so both
// databases compare the same instants.
func (l *Limiter) clock() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

// Blocked reports whether key is blocked now, and until when.
func (l *Limiter) Blocked(ctx context.Context, key string) (blocked bool, until time.Time, err error) {
	if err := checkKey(key); err != nil {
		return false, time.Time{}, err
	}
	var rows []struct{ BlockedUntil *time.Time }
	err = l.db.Conn(ctx).Raw(`SELECT blocked_until FROM throttle WHERE key = ?`, key).Scan(&rows).Error
	if err != nil {
		return false, time.Time{}, err
	}
	if len(rows) == 1 && rows[0].BlockedUntil != nil && rows[0].BlockedUntil.After(l.clock()) {
		return true, rows[0].BlockedUntil.UTC(), nil
	}
	return false, time.Time{}, nil
}

// Fail records one failure for key and reports whether the key is now blocked, and until when.
// It counts even while the key is blocked (each such failure doubles the block), so callers that
// refuse blocked requests check Blocked first and do not call Fail for them.
func (l *Limiter) Fail(ctx context.Context, key string, r Rule) (blocked bool, until time.Time, err error) {
	_, until, err = l.count(ctx, key, r, false)
	return !until.IsZero(), until, err
}

// Attempt counts one attempt for key before it is made and reports whether it may go ahead.
// A refused attempt (the key is blocked) is not counted, and until is when the block ends. An
// allowed attempt counts as a failure until the caller calls Reset after a success; if until is
// set, this attempt was the last one let through and the key is blocked until then should it fail
// (tell the user, write the audit event). Concurrent attempts are counted one at a time, so no more
// than Limit go ahead within a window however many arrive at once.
func (l *Limiter) Attempt(ctx context.Context, key string, r Rule) (allowed bool, until time.Time, err error) {
	// Hammering a blocked key costs only this read, not a write.
	if blocked, until, err := l.Blocked(ctx, key); err != nil || blocked {
		return false, until, err
	}
	return l.count(ctx, key, r, true)
}

// Reset forgets key's failures and lifts its block (after a success).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return l.db.Conn(ctx).Exec(`DELETE FROM throttle WHERE key = ?`, key).Error
}

// Purge deletes rows whose count is forgotten and whose block ended before before (the janitor's
// job), and reports how many.
func (l *Limiter) Purge(ctx context.Context, before time.Time) (int64, error) {
	b := before.UTC()
	res := l.db.Conn(ctx).Exec(`DELETE FROM throttle WHERE forget_at < ? AND (blocked_until IS NULL OR blocked_until < ?)`, b, b)
	return res.RowsAffected, res.Error
}

// upsert counts one failure in a single statement: a new key starts at 1, a forgotten count
// restarts at 1 with a new window (and no block), otherwise the count goes up by one. With
// refuseBlocked set, a key blocked now is left as it is. Every SET expression reads the row as it
// was before the statement, in both databases.
const upsert = `INSERT INTO throttle (key, failures, forget_at, blocked_until) VALUES (@key, 1, @forget, NULL)
ON CONFLICT (key) DO UPDATE SET
	failures = CASE WHEN @refuse AND throttle.blocked_until > @now THEN throttle.failures
		WHEN throttle.forget_at > @now THEN throttle.failures + 1 ELSE 1 END,
	forget_at = CASE WHEN throttle.forget_at > @now THEN throttle.forget_at ELSE @forget END,
	blocked_until = CASE WHEN throttle.forget_at > @now THEN throttle.blocked_until ELSE NULL END
RETURNING failures, blocked_until`

// count records a failure (see upsert) and, once the count reaches the limit, sets the block.
// In PostgreSQL the upsert locks the row until the transaction ends, so concurrent counts of one
// key queue behind each other and each sees the previous one's block; SQLite transactions hold the
// write lock from the start.
func (l *Limiter) count(ctx context.Context, key string, r Rule, refuseBlocked bool) (counted bool, until time.Time, err error) {
	if err := checkKey(key); err != nil {
		return false, time.Time{}, err
	}
	if err := r.Validate(); err != nil {
		return false, time.Time{}, err
	}
	now := l.clock()
	err = l.db.InTx(ctx, func(ctx context.Context) error {
		c := l.db.Conn(ctx)
		var row struct {
			Failures     int
			BlockedUntil *time.Time
		}
		args := map[string]any{"key": key, "now": now, "forget": now.Add(r.Window), "refuse": refuseBlocked}
		if err := c.Raw(upsert, args).Scan(&row).Error; err != nil {
			return err
		}
		var prev time.Time
		if row.BlockedUntil != nil {
			prev = row.BlockedUntil.UTC()
		}
		if refuseBlocked && prev.After(now) {
			until = prev // blocked by a concurrent attempt since our first look: not counted
			return nil
		}
		counted = true
		block := r.blockFor(row.Failures)
		if block == 0 {
			if prev.After(now) {
				until = prev // still blocked (the rule was loosened since)
			}
			return nil
		}
		// A block is never shortened, even if the rule was.
		until = now.Add(block)
		if prev.After(until) {
			until = prev
		}
		return c.Exec(`UPDATE throttle SET blocked_until = ?, forget_at = ? WHERE key = ?`,
			until, until.Add(r.Window), key).Error
	})
	if err != nil {
		return false, time.Time{}, err
	}
	return counted, until, nil
}
