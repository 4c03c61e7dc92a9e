package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// The statement cache must give the same answers as unprepared SQL, inside and outside
// transactions, and keep statements first seen inside a transaction for later use.
func TestStatementCache(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		const insert = `INSERT INTO oauth2_jtis (jti, expires_at) VALUES (?, CURRENT_TIMESTAMP)`
		const count = `SELECT COUNT(*) FROM oauth2_jtis WHERE jti = ?`
		n := func(ctx context.Context, jti string) int64 {
			t.Helper()
			var c int64
			if err := db.Conn(ctx).Raw(count, jti).Scan(&c).Error; err != nil {
				t.Fatal(err)
			}
			return c
		}
		before := database.CachedStatements(db)

		// First seen inside a transaction: runs there, and is kept once the transaction ends.
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Conn(ctx).Exec(insert, "in-tx").Error; err != nil {
				return err
			}
			if got := n(ctx, "in-tx"); got != 1 {
				t.Errorf("inside the transaction: %d rows", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := database.CachedStatements(db); got < before+2 {
			t.Fatalf("%d statements cached after the transaction, want at least %d", got, before+2)
		}
		if got := n(ctx, "in-tx"); got != 1 {
			t.Fatalf("after commit: %d rows", got)
		}

		// Cached statements inside a transaction that rolls back leave nothing behind.
		errRollback := errors.New("roll back")
		err = db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Conn(ctx).Exec(insert, "rolled-back").Error; err != nil {
				return err
			}
			if got := n(ctx, "rolled-back"); got != 1 {
				t.Errorf("inside the transaction: %d rows", got)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx: %v", err)
		}
		if got := n(ctx, "rolled-back"); got != 0 {
			t.Fatalf("after rollback: %d rows", got)
		}

		// Outside a transaction, and a duplicate key is still reported as one.
		if err := db.Conn(ctx).Exec(insert, "outside").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Conn(ctx).Exec(insert, "outside").Error; !database.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v", err)
		}
		if got := n(ctx, "outside"); got != 1 {
			t.Fatalf("outside a transaction: %d rows", got)
		}
		// A statement that does not prepare is an error, and is not kept.
		cached := database.CachedStatements(db)
		if err := db.Conn(ctx).Exec(`INSERT INTO no_such_table (x) VALUES (?)`, 1).Error; err == nil {
			t.Fatal("insert into a missing table succeeded")
		}
		if got := database.CachedStatements(db); got != cached {
			t.Fatalf("a failed prepare was cached (%d -> %d)", cached, got)
		}
	})
}
