package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/portcullis-id/portcullis/migrations"
)

// ErrNotFound and ErrAlreadyExists are what every store returns for a missing record and a
// duplicate key, whatever the database said.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
)

// DB is an open database with the dialect its migrations and SQL are written for.
type DB struct {
	*gorm.DB
	Dialect migrations.Dialect

	stmts *stmtPool // nil for a DB not made by Open
}

// ParseDSN checks a database setting (`sqlite:PATH` or `postgres://…`) and names its dialect.
func ParseDSN(dsn string) (migrations.Dialect, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" || strings.Contains(path, "?") {
			return "", "", fmt.Errorf("want sqlite:PATH (a file path without options), got %q", dsn)
		}
		if strings.Contains(path, ":memory:") {
			return "", "", errors.New("an in-memory SQLite database would lose everything at exit; give a file path")
		}
		return migrations.SQLite, path, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return "", "", errors.New("not a valid postgres:// URL")
		}
		return migrations.Postgres, dsn, nil
	}
	return "", "", fmt.Errorf("want sqlite:PATH or postgres://…, got %q", redact(dsn))
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return dsn
}

// Open connects to the database named by dsn. It does not migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	dialect, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	// Statements are prepared and cached by stmtPool (stmtcache.go), not by gorm's PrepareStmt.
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var g *gorm.DB
	switch dialect {
	case migrations.SQLite:
		abs, err := filepath.Abs(target)
		if err != nil {
			return nil, err
		}
		// WAL lets readers run beside the one writer; IMMEDIATE transactions take the write lock
		// up front so two writers queue on busy_timeout instead of failing with SQLITE_BUSY.
		// 1 KiB pages (for new files) make each commit write fewer bytes to the WAL: token rows
		// land on random pages of several indexes, and with 4 KiB pages that write dominated
		// the token endpoint (measured with the benchmarks in cmd/portcullis).
		q := "?_pragma=page_size(1024)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
			"&_pragma=foreign_keys(1)&_txlock=immediate"
		g, err = gorm.Open(sqliteDialector{dsn: abs + q}, cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", abs, err)
		}
		sqlDB, _ := g.DB()
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	case migrations.Postgres:
		g, err = gorm.Open(postgres.Open(target), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", redact(target), err)
		}
		sqlDB, _ := g.DB()
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	pool := newStmtPool(sqlDB)
	if dialect == migrations.SQLite {
		pool.write = newWriteLock()
	}
	g.ConnPool, g.Statement.ConnPool = pool, pool
	db := &DB{DB: g, Dialect: dialect, stmts: pool}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// Migrate applies pending migrations.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	return migrations.Up(ctx, sqlDB, db.Dialect)
}

// MigrationStatus lists the migrations and whether each is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]migrations.Status, error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	return migrations.List(ctx, sqlDB, db.Dialect)
}

// Ready reports an error unless the database answers and its schema is current.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	pending, err := migrations.Pending(ctx, sqlDB, db.Dialect)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("database schema is behind this binary: run `portcullis migrate up`")
	}
	return nil
}

// SQL returns the underlying pool, for the few hot paths that keep their own prepared statements.
func (db *DB) SQL() *sql.DB {
	sqlDB, err := db.DB.DB()
	if err != nil {
		panic(err) // gorm only fails here for a non-*sql.DB pool, which Open never makes
	}
	return sqlDB
}

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	if db.stmts != nil {
		db.stmts.close()
	}
	return sqlDB.Close()
}
