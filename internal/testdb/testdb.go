// Package testdb gives tests real databases: a fresh SQLite file per test, and a fresh database
// on the PostgreSQL server that the test command (scripts/test.sh) starts and names in
// PORTCULLIS_TEST_POSTGRES. A missing PostgreSQL fails the test; it is never skipped silently.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/portcullis-id/portcullis/internal/database"
)

// EnvPostgres names the admin URL of the test PostgreSQL server.
const EnvPostgres = "PORTCULLIS_TEST_POSTGRES"

// Each runs fn as a subtest against a migrated SQLite database and a migrated PostgreSQL database.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLiteDSN returns the DSN of a fresh, unmigrated SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "portcullis.db")
}

// SQLite returns a migrated SQLite database in a temp file, closed when the test ends.
func SQLite(t testing.TB) *database.DB {
	t.Helper()
	return openMigrated(t, SQLiteDSN(t))
}

var (
	adminOnce sync.Once
	adminDB   *database.DB
	adminErr  error
)

// PostgresDSN creates a fresh empty database on the test server and returns its URL; the database
// is dropped when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test.sh, which starts PostgreSQL", EnvPostgres)
	}
	adminOnce.Do(func() { adminDB, adminErr = database.Open(context.Background(), base) })
	if adminErr != nil {
		t.Fatalf("test PostgreSQL at %s: %v", base, adminErr)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if err := adminDB.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		_ = adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres returns a migrated, fresh PostgreSQL database, dropped when the test ends.
func Postgres(t testing.TB) *database.DB {
	t.Helper()
	return openMigrated(t, PostgresDSN(t))
}

// Open returns a migrated database for a DSN made by SQLiteDSN or PostgresDSN.
func Open(t testing.TB, dsn string) *database.DB {
	t.Helper()
	return openMigrated(t, dsn)
}

func openMigrated(t testing.TB, dsn string) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
