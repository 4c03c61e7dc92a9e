package database

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// QueryRow runs a one-row query through the statement cache, in ctx's transaction if there is
// one, and leaves the scan to the caller. Lookups on the sign-in path use it with a hand-written
// Scan: gorm's reflective Scan cost more CPU than SQLite spent running the query. The query must
// use $n placeholders, which both PostgreSQL and SQLite accept (gorm rewrites ?, this does not).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.pool(ctx).QueryRowContext(ctx, query, args...)
}

// Query is QueryRow for several rows; the caller closes them.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.pool(ctx).QueryContext(ctx, query, args...)
}

// pool is ctx's transaction or the pool, without building a gorm session for one statement.
func (db *DB) pool(ctx context.Context) gorm.ConnPool {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.Statement.ConnPool
	}
	return db.DB.Statement.ConnPool
}

// ExecContext runs a write through the statement cache, in ctx's transaction if there is one, without
// gorm building a statement around it (through gorm, a small insert cost a fifth more CPU:
// BenchmarkSQLitePrimitives and docs/performance.md). Outside a transaction it takes the SQLite
// write lock as every writer does. $n placeholders, as for QueryRow.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.pool(ctx).ExecContext(ctx, query, args...)
}

// ExecRow runs a statement that writes and returns one row (DELETE … RETURNING, say) and scans
// that row into dest; it returns sql.ErrNoRows when the statement touched none. Outside a
// transaction the statement commits on its own, so it takes the SQLite write lock as any other
// writer does (writelock.go), until its row has been read.
func (db *DB) ExecRow(ctx context.Context, query string, args []any, dest ...any) error {
	if _, inTx := ctx.Value(txKey{}).(*gorm.DB); !inTx && db.stmts != nil {
		if err := db.stmts.write.acquire(ctx); err != nil {
			return err
		}
		defer db.stmts.write.release()
	}
	return db.pool(ctx).QueryRowContext(ctx, query, args...).Scan(dest...)
}
