package throttle

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// clock is a settable clock shared by the limiter under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	db    *database.DB
	lim   *Limiter
	clock *clock
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	// A non-UTC zone and sub-microsecond digits check that stored instants compare as instants.
	start := time.Date(2026, 11, 27, 13, 52, 7, 123456789, time.FixedZone("CET", 3600))
	c := &clock{t: start}
	return &fixture{db: db, lim: New(db, c.now), clock: c}
}

var ctx = context.Background()

// rule blocks at the 3rd failure in 10 minutes: 1 minute, then 2, 4, capped at 5.
var rule = Rule{Limit: 3, Window: 10 * time.Minute, Block: time.Minute, MaxBlock: 5 * time.Minute}

func (f *fixture) fail(t *testing.T, key string, r Rule) (bool, time.Time) {
	t.Helper()
	blocked, until, err := f.lim.Fail(ctx, key, r)
	if err != nil {
		t.Fatalf("Fail(%q): %v", key, err)
	}
	return blocked, until
}

func (f *fixture) blocked(t *testing.T, key string) (bool, time.Time) {
	t.Helper()
	blocked, until, err := f.lim.Blocked(ctx, key)
	if err != nil {
		t.Fatalf("Blocked(%q): %v", key, err)
	}
	return blocked, until
}

// failures reads the stored count straight from the table.
func (f *fixture) failures(t *testing.T, key string) int {
	t.Helper()
	var n []int
	if err := f.db.Raw(`SELECT failures FROM throttle WHERE key = ?`, key).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if len(n) == 0 {
		return 0
	}
	return n[0]
}

func wantUntil(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: blocked until %s, want %s", what, got, want)
	}
}

func TestLimiterConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("under the limit is not blocked", func(t *testing.T) {
			f := newFixture(t, db)
			for i := 1; i < rule.Limit; i++ {
				if blocked, _ := f.fail(t, "password:user:u1", rule); blocked {
					t.Fatalf("blocked after %d failures, limit %d", i, rule.Limit)
				}
			}
			if blocked, _ := f.blocked(t, "password:user:u1"); blocked {
				t.Fatal("Blocked says blocked under the limit")
			}
			if blocked, _ := f.blocked(t, "password:user:never-failed"); blocked {
				t.Fatal("an unknown key is blocked")
			}
		})

		t.Run("reaching the limit blocks for Block, then lifts", func(t *testing.T) {
			f := newFixture(t, db)
			key := "password:user:u2"
			f.fail(t, key, rule)
			f.fail(t, key, rule)
			blocked, until := f.fail(t, key, rule)
			want := f.clock.now().UTC().Truncate(time.Microsecond).Add(time.Minute)
			if !blocked {
				t.Fatal("not blocked at the limit")
			}
			wantUntil(t, "Fail", until, want)
			blocked, until = f.blocked(t, key)
			if !blocked {
				t.Fatal("Blocked says not blocked at the limit")
			}
			wantUntil(t, "Blocked", until, want)
			if until.Location() != time.UTC {
				t.Errorf("until is in %s, want UTC", until.Location())
			}
			// Other keys are unaffected.
			if blocked, _ := f.blocked(t, "password:user:u2-other"); blocked {
				t.Fatal("a block leaked to another key")
			}
			f.clock.advance(time.Minute - time.Microsecond)
			if blocked, _ := f.blocked(t, key); !blocked {
				t.Fatal("block lifted early")
			}
			f.clock.advance(time.Microsecond)
			if blocked, _ := f.blocked(t, key); blocked {
				t.Fatal("block still on at its end")
			}
		})

		t.Run("further failures double the block up to MaxBlock", func(t *testing.T) {
			f := newFixture(t, db)
			key := "password:ip:192.0.2.1"
			for range rule.Limit - 1 {
				f.fail(t, key, rule)
			}
			// Each failure comes after the previous block ended, as with a caller that checks first.
			for i, block := range []time.Duration{1, 2, 4, 5, 5, 5} {
				blocked, until := f.fail(t, key, rule)
				want := f.clock.now().UTC().Truncate(time.Microsecond).Add(block * time.Minute)
				if !blocked {
					t.Fatalf("failure %d over the limit: not blocked", i)
				}
				wantUntil(t, "failure over the limit", until, want)
				f.clock.advance(block * time.Minute)
			}
			if got, want := f.failures(t, key), rule.Limit+5; got != want {
				t.Fatalf("stored failures = %d, want %d", got, want)
			}
		})

		t.Run("fixed lock-out when MaxBlock equals Block", func(t *testing.T) {
			f := newFixture(t, db)
			code := DefaultCodeAccount()
			key := "code:user:u3"
			for range code.Limit {
				f.fail(t, key, code)
			}
			for range 3 {
				f.clock.advance(code.Block)
				_, until := f.fail(t, key, code)
				wantUntil(t, "lock-out", until, f.clock.now().UTC().Truncate(time.Microsecond).Add(15*time.Minute))
			}
		})

		t.Run("window expiry forgets failures", func(t *testing.T) {
			f := newFixture(t, db)
			key := "password:user:u4"
			f.fail(t, key, rule)
			f.fail(t, key, rule)
			f.clock.advance(rule.Window) // the window started at the first failure
			if blocked, _ := f.fail(t, key, rule); blocked {
				t.Fatal("failures from an expired window still counted")
			}
			if got := f.failures(t, key); got != 1 {
				t.Fatalf("failures after window expiry = %d, want 1", got)
			}
			// Just inside the window, the count holds.
			f.clock.advance(rule.Window - time.Microsecond)
			f.fail(t, key, rule)
			if blocked, _ := f.fail(t, key, rule); !blocked {
				t.Fatal("3 failures in the new window did not block")
			}
		})

		t.Run("after a block the count lasts until Window after the block ends", func(t *testing.T) {
			f := newFixture(t, db)
			key := "password:user:u5"
			for range rule.Limit {
				f.fail(t, key, rule)
			}
			// The original window has passed, but the block ended only 9 minutes ago.
			f.clock.advance(rule.Block + rule.Window - time.Minute)
			_, until := f.fail(t, key, rule)
			wantUntil(t, "escalation kept", until, f.clock.now().UTC().Truncate(time.Microsecond).Add(2*time.Minute))
			// A full Window of quiet after that block forgets everything.
			f.clock.advance(2*time.Minute + rule.Window)
			if blocked, _ := f.fail(t, key, rule); blocked {
				t.Fatal("still counted after a quiet Window")
			}
			if got := f.failures(t, key); got != 1 {
				t.Fatalf("failures = %d, want 1", got)
			}
		})

		t.Run("Reset clears failures and block", func(t *testing.T) {
			f := newFixture(t, db)
			key := "password:user:u6"
			for range rule.Limit {
				f.fail(t, key, rule)
			}
			if err := f.lim.Reset(ctx, key); err != nil {
				t.Fatal(err)
			}
			if blocked, _ := f.blocked(t, key); blocked {
				t.Fatal("still blocked after Reset")
			}
			for i := 1; i < rule.Limit; i++ {
				if blocked, _ := f.fail(t, key, rule); blocked {
					t.Fatalf("blocked after Reset and %d failures", i)
				}
			}
			if err := f.lim.Reset(ctx, "password:user:unknown"); err != nil {
				t.Fatalf("Reset of an unknown key: %v", err)
			}
		})

		t.Run("Attempt lets Limit through, then refuses without counting", func(t *testing.T) {
			f := newFixture(t, db)
			key := "code:user:u7"
			for i := 1; i <= rule.Limit; i++ {
				ok, until, err := f.lim.Attempt(ctx, key, rule)
				if err != nil || !ok {
					t.Fatalf("attempt %d: allowed %v, err %v", i, ok, err)
				}
				if last := i == rule.Limit; last != !until.IsZero() {
					t.Fatalf("attempt %d: until %v (the last allowed attempt alone reports the block)", i, until)
				}
			}
			for range 3 {
				ok, until, err := f.lim.Attempt(ctx, key, rule)
				if err != nil || ok {
					t.Fatalf("attempt over the limit: allowed %v, err %v", ok, err)
				}
				wantUntil(t, "refused attempt", until, f.clock.now().UTC().Truncate(time.Microsecond).Add(time.Minute))
			}
			if got := f.failures(t, key); got != rule.Limit {
				t.Fatalf("refused attempts were counted: failures = %d, want %d", got, rule.Limit)
			}
			// After the block, the next attempt goes ahead and doubles the block.
			f.clock.advance(time.Minute)
			ok, until, err := f.lim.Attempt(ctx, key, rule)
			if err != nil || !ok {
				t.Fatalf("attempt after the block: allowed %v, err %v", ok, err)
			}
			wantUntil(t, "attempt after the block", until, f.clock.now().UTC().Truncate(time.Microsecond).Add(2*time.Minute))
			// A success resets.
			if err := f.lim.Reset(ctx, key); err != nil {
				t.Fatal(err)
			}
			if ok, _, err := f.lim.Attempt(ctx, key, rule); err != nil || !ok {
				t.Fatalf("attempt after Reset: allowed %v, err %v", ok, err)
			}
		})

		t.Run("bad keys and rules are refused", func(t *testing.T) {
			f := newFixture(t, db)
			for _, key := range []string{"", strings.Repeat("k", MaxKeyLen+1), "a\x00b", "a\nb", "\xff"} {
				if _, _, err := f.lim.Fail(ctx, key, rule); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Fail(%q): err %v, want ErrInvalidKey", key, err)
				}
				if _, _, err := f.lim.Blocked(ctx, key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Blocked(%q): err %v, want ErrInvalidKey", key, err)
				}
			}
			long := strings.Repeat("k", MaxKeyLen)
			if _, _, err := f.lim.Fail(ctx, long, rule); err != nil {
				t.Fatalf("a key of MaxKeyLen bytes: %v", err)
			}
			if _, _, err := f.lim.Fail(ctx, "k", Rule{}); err == nil {
				t.Fatal("a zero rule was accepted")
			}
		})
	})
}
