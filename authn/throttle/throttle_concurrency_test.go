package throttle

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// Nodes share one database: concurrent counts of one key must neither lose a failure nor let more
// than Limit attempts through.
func TestLimiterConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("concurrent failures are all counted", func(t *testing.T) {
			f := newFixture(t, db)
			const n = 50
			key := "password:user:concurrent"
			r := Rule{Limit: n, Window: time.Hour, Block: time.Minute, MaxBlock: time.Hour}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				blocked int
				errs    []error
			)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					b, _, err := f.lim.Fail(ctx, key, r)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					if b {
						blocked++
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := f.failures(t, key); got != n {
				t.Fatalf("%d concurrent failures stored as %d", n, got)
			}
			// Exactly one failure was the Limit-th.
			if blocked != 1 {
				t.Fatalf("%d failures reported reaching the limit, want exactly 1", blocked)
			}
		})

		t.Run("concurrent attempts let exactly Limit through", func(t *testing.T) {
			f := newFixture(t, db)
			const n = 50
			key := "code:user:concurrent"
			r := Rule{Limit: 5, Window: 10 * time.Minute, Block: 15 * time.Minute, MaxBlock: 15 * time.Minute}
			var (
				wg          sync.WaitGroup
				mu          sync.Mutex
				allowed     int
				lastAllowed int
				errs        []error
			)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					ok, until, err := f.lim.Attempt(ctx, key, r)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					if ok {
						allowed++
						if !until.IsZero() {
							lastAllowed++
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if allowed != r.Limit || lastAllowed != 1 {
				t.Fatalf("%d of %d concurrent attempts allowed (%d reported the block), want %d (1)", allowed, n, lastAllowed, r.Limit)
			}
			if got := f.failures(t, key); got != r.Limit {
				t.Fatalf("stored failures = %d, want %d", got, r.Limit)
			}
		})

		t.Run("an attempt that finds the key blocked inside the transaction is not counted", func(t *testing.T) {
			// The path a concurrent attempt takes when another blocked the key after its first look.
			f := newFixture(t, db)
			key := "code:user:raced"
			for range rule.Limit {
				f.fail(t, key, rule)
			}
			counted, until, err := f.lim.count(ctx, key, rule, true)
			if err != nil || counted {
				t.Fatalf("count on a blocked key: counted %v, err %v", counted, err)
			}
			wantUntil(t, "raced attempt", until, f.clock.now().UTC().Truncate(time.Microsecond).Add(time.Minute))
			if got := f.failures(t, key); got != rule.Limit {
				t.Fatalf("failures = %d, want %d", got, rule.Limit)
			}
		})
	})
}

// Purge runs on a database of its own: it deletes across all keys.
func TestLimiterPurge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.fail(t, "p:quiet", rule) // forgotten at +10m
		for range rule.Limit + 2 { // blocked 4m, forgotten at +14m
			f.fail(t, "p:blocked", rule)
		}
		if _, until := f.blocked(t, "p:blocked"); !until.Equal(f.clock.now().UTC().Truncate(time.Microsecond).Add(4 * time.Minute)) {
			t.Fatalf("setup: blocked until %s", until)
		}
		start := f.clock.now()
		f.clock.advance(5 * time.Minute)
		f.fail(t, "p:recent", rule) // forgotten at +15m
		for _, c := range []struct {
			at   time.Duration
			want int64
			left []string
		}{
			{at: 9 * time.Minute, want: 0, left: []string{"p:quiet", "p:blocked", "p:recent"}},
			{at: 11 * time.Minute, want: 1, left: []string{"p:blocked", "p:recent"}},
			{at: 14*time.Minute + time.Second, want: 1, left: []string{"p:recent"}},
			{at: 16 * time.Minute, want: 1, left: nil},
		} {
			n, err := f.lim.Purge(ctx, start.Add(c.at))
			if err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Fatalf("Purge at +%s deleted %d, want %d", c.at, n, c.want)
			}
			var keys []string
			if err := f.db.Raw(`SELECT key FROM throttle WHERE key LIKE 'p:%' ORDER BY key`).Scan(&keys).Error; err != nil {
				t.Fatal(err)
			}
			if strings.Join(keys, ",") != strings.Join(slices.Sorted(slices.Values(c.left)), ",") {
				t.Fatalf("after Purge at +%s rows %v, want %v", c.at, keys, c.left)
			}
		}
	})
}
