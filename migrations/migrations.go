package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names one of the two supported databases.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// FS returns the migration files of one dialect.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case Postgres, SQLite:
		return fs.Sub(files, string(d))
	}
	return nil, fmt.Errorf("migrations: unknown dialect %q", d)
}

// Status describes one migration as the database sees it.
type Status struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if d == Postgres {
		gd = goose.DialectPostgres
		// Two server processes starting at once on one database must not both migrate.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(gd, db, fsys, opts...)
}

// Up applies every pending migration and returns the versions it applied.
func Up(ctx context.Context, db *sql.DB, d Dialect) ([]int64, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	applied := make([]int64, 0, len(res))
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// List reports every known migration and whether it is applied.
func List(ctx context.Context, db *sql.DB, d Dialect) ([]Status, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Pending reports whether the database lacks any migration this binary knows.
func Pending(ctx context.Context, db *sql.DB, d Dialect) (bool, error) {
	p, err := provider(db, d)
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}
