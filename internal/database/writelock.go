package database

import (
	"context"
	"errors"
	"time"
)

// writeLock lets one SQLite writer at a time through, in Go.
//
// SQLite has one writer at a time, and every transaction here begins IMMEDIATE (it takes the
// write lock first). When several connections try at once, the ones that lose wait in SQLite's
// busy handler, which retries: each try takes and drops file locks, and with 16 sign-ins in
// flight the lock made a sign-in 10 to 18 % cheaper in CPU (cmd/portcullis BenchmarkFullSignIn,
// with and without it in alternating runs; docs/performance.md). Waiting on a channel costs
// nothing. Reads never take it: WAL lets them run beside the writer.
//
// PostgreSQL needs none; its lock is nil.
type writeLock chan struct{}

// busyTimeout matches SQLite's busy_timeout: a writer waits this long for another, then fails.
const busyTimeout = 10 * time.Second

// ErrBusy is returned when another write held the database for longer than busyTimeout.
var ErrBusy = errors.New("database is busy: another write held it for too long")

func newWriteLock() writeLock { return make(writeLock, 1) }

func (l writeLock) acquire(ctx context.Context) error {
	if l == nil {
		return nil
	}
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(busyTimeout)
	defer t.Stop()
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}

func (l writeLock) release() {
	if l != nil {
		<-l
	}
}

// LockWrites takes the write lock for a transaction the caller begins on a connection of its
// own (database/sql, not gorm); release it when the transaction has ended. With PostgreSQL it
// does nothing.
func (db *DB) LockWrites(ctx context.Context) (release func(), err error) {
	var l writeLock
	if db.stmts != nil {
		l = db.stmts.write
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	return l.release, nil
}
