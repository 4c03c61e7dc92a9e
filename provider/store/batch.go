package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
)

// insertSQL adds one token row ($n placeholders work in both PostgreSQL and SQLite).
const insertSQL = `INSERT INTO oauth2_tokens
	(kind, signature, request_id, client_id, subject, session_id, active, requested_at, expires_at, data)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

type insertJob struct {
	ctx  context.Context
	args []any
	done chan error
}

// batcher is a group commit for token inserts made outside a transaction (client-credential
// grants above all). One writer goroutine, on a connection of its own, takes whatever inserts are
// waiting and commits them in one transaction, so the cost of a commit (with SQLite, writing the
// changed pages to the WAL) is shared by every request that arrived meanwhile. An idle server
// commits each insert at once; a busy one lets a batch gather for at most linger. Every caller
// returns only after its own row is committed.
type batcher struct {
	db    *database.DB
	jobs  chan insertJob
	once  sync.Once
	limit int

	conn   *sql.Conn
	stmt   *sql.Stmt // prepared on conn: single rows
	txStmt *sql.Stmt // prepared on the pool: bound to a batch's transaction with Tx.StmtContext

	quit    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

func newBatcher(db *database.DB) *batcher {
	return &batcher{db: db, jobs: make(chan insertJob, 1024), limit: 64,
		quit: make(chan struct{}), stopped: make(chan struct{})}
}

var errClosed = errors.New("token store is closed")

func (b *batcher) insert(ctx context.Context, args []any) error {
	b.once.Do(func() { go b.run() })
	job := insertJob{ctx: ctx, args: args, done: make(chan error, 1)}
	select {
	case b.jobs <- job:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		// The row may still be committed; the caller reports failure and never hands out the
		// token, so an orphan row only waits for its expiry.
		return ctx.Err()
	}
}

// linger is how long a batch waits for company, and only while the server is busy (the last
// commit carried more than one row): an idle server never waits.
const linger = 300 * time.Microsecond

// close stops the writer after the inserts already queued, and releases its connection.
func (b *batcher) close() {
	b.closing.Do(func() {
		close(b.quit)
		b.once.Do(func() { close(b.stopped) }) // never started
		<-b.stopped
	})
}

func (b *batcher) run() {
	defer close(b.stopped)
	defer func() {
		b.reset()
		if b.txStmt != nil {
			b.txStmt.Close()
		}
	}()
	batch := make([]insertJob, 0, b.limit)
	busy := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first insertJob
		select {
		case first = <-b.jobs:
		case <-b.quit:
			// Answer whatever is still queued before stopping.
			for {
				select {
				case j := <-b.jobs:
					b.commit([]insertJob{j})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		if busy {
			timer.Reset(linger)
		}
	collect:
		for len(batch) < b.limit {
			if !busy {
				select {
				case j := <-b.jobs:
					batch = append(batch, j)
					continue
				default:
					break collect
				}
			}
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			case <-timer.C:
				break collect
			}
		}
		if busy && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		busy = len(batch) > 1
		batchRows.Add(int64(len(batch)))
		batchCommits.Add(1)
		b.commit(batch)
	}
}

// connection returns the writer's own connection: its page cache stays warm because no other
// connection's write invalidates it between two batches.
//
// A batch's transaction cannot use stmt: database/sql prepares a statement that belongs to a
// Conn again for every transaction (as it would for one from another transaction), which was a
// twentieth of the client-credentials grant's CPU. txStmt, prepared on the pool, is prepared on
// this connection once and reused by every transaction on it.
func (b *batcher) connection(ctx context.Context) (*sql.Conn, *sql.Stmt, error) {
	if b.conn != nil {
		return b.conn, b.stmt, nil
	}
	if b.txStmt == nil {
		st, err := b.db.SQL().PrepareContext(ctx, insertSQL)
		if err != nil {
			return nil, nil, err
		}
		b.txStmt = st
	}
	conn, err := b.db.SQL().Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	stmt, err := conn.PrepareContext(ctx, insertSQL)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	b.conn, b.stmt = conn, stmt
	return conn, stmt, nil
}

func (b *batcher) reset() {
	if b.conn != nil {
		b.stmt.Close()
		b.conn.Close()
		b.conn, b.stmt = nil, nil
	}
}

func (b *batcher) commit(batch []insertJob) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.tryCommit(ctx, batch)
	if err == nil {
		for _, j := range batch {
			j.done <- nil
		}
		return
	}
	b.reset()
	// One bad row (say a duplicate signature) must not fail its neighbours: retry one by one on
	// the pool so that each request gets its own answer.
	for _, j := range batch {
		_, err := b.db.ExecContext(j.ctx, insertSQL, j.args...)
		j.done <- err
	}
}

func (b *batcher) tryCommit(ctx context.Context, batch []insertJob) error {
	conn, stmt, err := b.connection(ctx)
	if err != nil {
		return err
	}
	// This connection is not gorm's: take SQLite's write lock as gorm's transactions do.
	release, err := b.db.LockWrites(ctx)
	if err != nil {
		return err
	}
	defer release()
	if len(batch) == 1 {
		_, err := stmt.ExecContext(ctx, batch[0].args...)
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	ts := tx.StmtContext(ctx, b.txStmt)
	for _, j := range batch {
		if _, err := ts.ExecContext(ctx, j.args...); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

var batchRows, batchCommits atomic.Int64

// BatchStats reports the rows and commits of the group commit so far.
func BatchStats() (rows, commits int64) { return batchRows.Load(), batchCommits.Load() }
