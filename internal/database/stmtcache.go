package database

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"gorm.io/gorm"
)

// maxCachedStatements bounds the statement cache. Our stores write fixed SQL, so a few hundred
// distinct statements cover them all; SQL built at run time (IN lists of varying length, say)
// past the bound simply runs unprepared.
const maxCachedStatements = 512

// stmtPool is the connection pool gorm runs our SQL through. It keeps one *sql.Stmt per distinct
// statement, prepared on the pool, and uses it both outside and inside transactions.
//
// Why not gorm's PrepareStmt: gorm caches a statement first seen inside a transaction as prepared
// on that transaction. That statement is closed with the transaction, so from then on every use
// of it, in a transaction or not, prepared it again: with SQLite, parsing SQL was a twentieth of
// a whole sign-in's CPU. A statement prepared on the pool is instead bound to a transaction with
// sql.Tx.StmtContext, which reuses what database/sql already prepared on that connection.
type stmtPool struct {
	db    *sql.DB
	write writeLock // SQLite only (writelock.go)

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

var (
	_ gorm.ConnPool         = (*stmtPool)(nil)
	_ gorm.ConnPoolBeginner = (*stmtPool)(nil)
	_ gorm.GetDBConnector   = (*stmtPool)(nil)
	_ gorm.ConnPool         = (*stmtTx)(nil)
	_ gorm.TxCommitter      = (*stmtTx)(nil)
	_ gorm.GetDBConnector   = (*stmtTx)(nil)
)

func newStmtPool(db *sql.DB) *stmtPool {
	return &stmtPool{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the cached statement for query, preparing it on first use. It returns nil, nil
// when the cache is full: the caller runs the query unprepared. A failed prepare is not
// remembered, so a database that was briefly unreachable is asked again next time.
func (p *stmtPool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.RLock()
	st, ok := p.stmts[query]
	full := len(p.stmts) >= maxCachedStatements
	p.mu.RUnlock()
	if ok {
		return st, nil
	}
	if full {
		return nil, nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	other, raced := p.stmts[query] // another request prepared it meanwhile: keep one
	keep := !raced && len(p.stmts) < maxCachedStatements
	if keep {
		p.stmts[query] = st
	}
	p.mu.Unlock()
	if keep {
		return st, nil
	}
	// Closed outside the lock: Close waits for every connection that is running a statement,
	// and on PostgreSQL such a statement can be waiting for a row lock held by a transaction
	// that itself waits for this lock (TestLimiterConcurrency hung that way).
	_ = st.Close()
	if raced {
		return other, nil
	}
	return nil, nil
}

// close releases every cached statement (outside the lock, as in stmt).
func (p *stmtPool) close() {
	p.mu.Lock()
	stmts := p.stmts
	p.stmts = map[string]*sql.Stmt{}
	p.mu.Unlock()
	for _, st := range stmts {
		_ = st.Close()
	}
}

func (p *stmtPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, query)
}

func (p *stmtPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	// A statement outside a transaction commits on its own: it is a writer too.
	if err := p.write.acquire(ctx); err != nil {
		return nil, err
	}
	defer p.write.release()
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (p *stmtPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (p *stmtPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		// QueryRowContext reports a prepare error through Row.Scan.
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// BeginTx implements gorm.ConnPoolBeginner.
func (p *stmtPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if err := p.write.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := p.db.BeginTx(ctx, opts)
	if err != nil {
		p.write.release()
		return nil, err
	}
	t := &stmtTx{Tx: tx, pool: p}
	if p.write != nil {
		// database/sql rolls a transaction back when its context ends, without telling us: if
		// the code that began it never commits or rolls back (a panic, say), the lock must
		// still be released then, as SQLite's own lock would be.
		t.stop = context.AfterFunc(ctx, t.unlock)
	}
	return t, nil
}

// GetDBConn implements gorm.GetDBConnector, so gorm's DB() finds the *sql.DB.
func (p *stmtPool) GetDBConn() (*sql.DB, error) { return p.db, nil }

// stmtTx is a transaction running the pool's cached statements.
type stmtTx struct {
	*sql.Tx
	pool *stmtPool
	// missing lists statements this transaction ran unprepared because the cache did not have
	// them yet. They are prepared on the pool only after the transaction ends: preparing on
	// another connection while this one holds locks can wait forever (PostgreSQL needs a lock
	// on every table a statement names to prepare it).
	missing []string
	// SQLite only: the write lock is held until Commit, Rollback or the end of the context.
	unlocked sync.Once
	stop     func() bool
}

// cached returns the pool's statement for query bound to this transaction, or nil when the pool
// has not prepared it yet.
func (t *stmtTx) cached(ctx context.Context, query string) *sql.Stmt {
	t.pool.mu.RLock()
	st, ok := t.pool.stmts[query]
	t.pool.mu.RUnlock()
	if !ok {
		if len(t.missing) < 16 {
			t.missing = append(t.missing, query)
		}
		return nil
	}
	return t.Tx.StmtContext(ctx, st)
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cached(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cached(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// Commit implements gorm.TxCommitter.
func (t *stmtTx) Commit() error {
	err := t.Tx.Commit()
	t.unlock()
	t.prepareMissing()
	return err
}

// Rollback implements gorm.TxCommitter.
func (t *stmtTx) Rollback() error {
	err := t.Tx.Rollback()
	t.unlock()
	t.prepareMissing()
	return err
}

// unlock releases the write lock once: gorm rolls back a transaction whose commit failed, and
// the context's end may come after either.
func (t *stmtTx) unlock() {
	if t.pool.write == nil {
		return
	}
	t.unlocked.Do(func() {
		t.stop()
		t.pool.write.release()
	})
}

func (t *stmtTx) prepareMissing() {
	if len(t.missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, q := range t.missing {
		_, _ = t.pool.stmt(ctx, q) // a failure only means the next use runs unprepared again
	}
	t.missing = nil
}

// GetDBConn implements gorm.GetDBConnector.
func (t *stmtTx) GetDBConn() (*sql.DB, error) { return t.pool.db, nil }
