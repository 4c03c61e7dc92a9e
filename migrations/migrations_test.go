package migrations_test

import (
	"context"
	"io/fs"
	"reflect"
	"sort"
	"testing"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/migrations"
)

// Both sets must be numbered alike and, once applied, give the same tables with the same columns.
func TestBothDialectsReachSameSchema(t *testing.T) {
	ctx := context.Background()
	names := func(d migrations.Dialect) []string {
		fsys, err := migrations.FS(d)
		if err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	if pg, sl := names(migrations.Postgres), names(migrations.SQLite); !reflect.DeepEqual(pg, sl) {
		t.Fatalf("migration files differ:\npostgres %v\nsqlite   %v", pg, sl)
	}

	sqlite := testdb.SQLite(t)
	pg := testdb.Postgres(t)
	for _, db := range []*database.DB{sqlite, pg} {
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("%s not ready after migrate: %v", db.Dialect, err)
		}
	}
	vs, vp := version(t, sqlite), version(t, pg)
	if vs != vp || vs == 0 {
		t.Fatalf("versions differ or zero: sqlite %d, postgres %d", vs, vp)
	}
	ss, sp := schema(t, sqlite), schema(t, pg)
	if !reflect.DeepEqual(ss, sp) {
		t.Fatalf("schemas differ:\nsqlite   %v\npostgres %v", ss, sp)
	}
	if len(ss) < 5 {
		t.Fatalf("suspiciously few tables: %v", ss)
	}
}

func version(t *testing.T, db *database.DB) int64 {
	st, err := db.MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, s := range st {
		if !s.Applied {
			t.Fatalf("%s: migration %d not applied", db.Dialect, s.Version)
		}
		v = max(v, s.Version)
	}
	return v
}

func schema(t *testing.T, db *database.DB) map[string][]string {
	var tables []string
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	if db.Dialect == migrations.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	if err := db.Raw(q).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tbl := range tables {
		if tbl == "goose_db_version" {
			continue
		}
		var names []string
		q := `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?`
		if db.Dialect == migrations.SQLite {
			q = `SELECT name FROM pragma_table_info(?)`
		}
		if err := db.Raw(q, tbl).Scan(&names).Error; err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		out[tbl] = names
	}
	return out
}
