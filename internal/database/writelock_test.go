package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/migrations"
)

// Many writers at once, in transactions, single statements and LockWrites sections, all get
// through and nothing is lost; a rolled-back or failed transaction lets the next writer in.
func TestConcurrentWriters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		const insert = `INSERT INTO oauth2_jtis (jti, expires_at) VALUES (?, CURRENT_TIMESTAMP)`
		var wg sync.WaitGroup
		errs := make(chan error, 300)
		for g := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					jti := fmt.Sprintf("w%d-%d", g, i)
					var err error
					switch i % 4 {
					case 0: // a transaction of two statements
						err = db.InTx(ctx, func(ctx context.Context) error {
							if err := db.Conn(ctx).Exec(insert, jti).Error; err != nil {
								return err
							}
							return db.Conn(ctx).Exec(insert, jti+"b").Error
						})
					case 1: // one statement on its own
						err = db.Conn(ctx).Exec(insert, jti).Error
					case 2: // a transaction that rolls back
						boom := errors.New("boom")
						if e := db.InTx(ctx, func(ctx context.Context) error {
							if err := db.Conn(ctx).Exec(insert, jti+"-gone").Error; err != nil {
								return err
							}
							return boom
						}); !errors.Is(e, boom) {
							err = fmt.Errorf("rolled back with %v", e)
						}
					case 3: // a transaction that fails in the database (duplicate key)
						if e := db.InTx(ctx, func(ctx context.Context) error {
							if err := db.Conn(ctx).Exec(insert, jti).Error; err != nil {
								return err
							}
							return db.Conn(ctx).Exec(insert, jti).Error
						}); !database.IsUniqueViolation(e) {
							err = fmt.Errorf("duplicate insert gave %v", e)
						}
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", jti, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var n int64
		if err := db.Conn(ctx).Raw(`SELECT COUNT(*) FROM oauth2_jtis WHERE jti LIKE 'w%'`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		// Per goroutine: i=0,4,8 write 2 rows each, i=1,5,9 one each; rollbacks and failures none.
		if want := int64(30 * (3*2 + 3)); n != want {
			t.Errorf("%d rows, want %d", n, want)
		}
	})
}

// A writer waiting for the lock gives up when its context ends, and the lock still works after.
func TestWriteLockWaitEndsWithContext(t *testing.T) {
	db := testdb.SQLite(t)
	release, err := db.LockWrites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = db.Conn(ctx).Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES ('late', CURRENT_TIMESTAMP)`).Error
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("writer behind a held lock: %v, want the context's deadline", err)
	}
	release()
	if err := db.Conn(context.Background()).Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES ('later', CURRENT_TIMESTAMP)`).Error; err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// A transaction that is never committed or rolled back (its code panicked, say) gives the lock
// back when its context ends, as SQLite's own lock is given back then.
func TestWriteLockFreedWhenAnAbandonedTransactionsContextEnds(t *testing.T) {
	db := testdb.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	tx := db.DB.WithContext(ctx).Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	if err := tx.Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES ('abandoned', CURRENT_TIMESTAMP)`).Error; err != nil {
		t.Fatal(err)
	}
	cancel() // the request is over; nobody commits or rolls back
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := db.Conn(wctx).Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES ('next', CURRENT_TIMESTAMP)`).Error; err != nil {
		t.Fatalf("the next writer: %v", err)
	}
	var n int64
	if err := db.Conn(wctx).Raw(`SELECT COUNT(*) FROM oauth2_jtis WHERE jti = 'abandoned'`).Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("the abandoned transaction's row: %d, %v (want rolled back)", n, err)
	}
}

// ExecRow returns the row its statement wrote, once: a second DELETE … RETURNING of the same row
// gets sql.ErrNoRows. Outside a transaction it is a writer and waits for the write lock; inside
// one it runs on the transaction, and a rollback undoes it.
func TestExecRow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if err := db.Conn(ctx).Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES ('once', CURRENT_TIMESTAMP), ('kept', CURRENT_TIMESTAMP)`).Error; err != nil {
			t.Fatal(err)
		}
		const take = `DELETE FROM oauth2_jtis WHERE jti = $1 RETURNING jti, expires_at`
		var jti string
		var expires time.Time
		if err := db.ExecRow(ctx, take, []any{"once"}, &jti, &expires); err != nil || jti != "once" || expires.IsZero() {
			t.Fatalf("first take: %q %v %v", jti, expires, err)
		}
		if err := db.ExecRow(ctx, take, []any{"once"}, &jti, &expires); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("second take: %v, want sql.ErrNoRows", err)
		}

		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.ExecRow(ctx, take, []any{"kept"}, &jti, &expires); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("in a transaction: %v", err)
		}
		var n int64
		if err := db.Conn(ctx).Raw(`SELECT COUNT(*) FROM oauth2_jtis WHERE jti = 'kept'`).Scan(&n).Error; err != nil || n != 1 {
			t.Fatalf("row taken in a rolled-back transaction: count %d, %v (want it back)", n, err)
		}

		if db.Dialect != migrations.SQLite {
			return
		}
		release, err := db.LockWrites(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := db.ExecRow(wctx, take, []any{"kept"}, &jti, &expires); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("behind a held write lock: %v, want the context's deadline", err)
		}
		release()
		if err := db.ExecRow(ctx, take, []any{"kept"}, &jti, &expires); err != nil || jti != "kept" {
			t.Fatalf("after release: %q %v", jti, err)
		}
	})
}
