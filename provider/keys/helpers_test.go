package keys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

var testSealer = secret.FromBytes([]byte("keys test system secret, 32+ bytes long")).Sealer("signing-keys")

// clock is a fake Options.Now that tests move forward by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// twoProcesses runs fn on SQLite and on PostgreSQL with two connection pools on one database,
// as two server processes would have.
func twoProcesses(t *testing.T, fn func(t *testing.T, a, b *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		dsn := testdb.SQLiteDSN(t)
		fn(t, testdb.Open(t, dsn), testdb.Open(t, dsn))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testdb.PostgresDSN(t)
		fn(t, testdb.Open(t, dsn), testdb.Open(t, dsn))
	})
}

func ensured(t testing.TB, db *database.DB, opts Options) *Manager {
	t.Helper()
	m := NewManager(db, testSealer, opts)
	if err := m.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return m
}

// states returns alg -> state -> kids from List.
func states(t *testing.T, m *Manager) map[string]map[string][]string {
	t.Helper()
	list, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	out := map[string]map[string][]string{}
	for _, k := range list {
		if out[k.Alg] == nil {
			out[k.Alg] = map[string][]string{}
		}
		out[k.Alg][k.State] = append(out[k.Alg][k.State], k.KID)
	}
	return out
}

// checkOneEach fails unless every algorithm has exactly one active and one next key.
func checkOneEach(t *testing.T, m *Manager) map[string]map[string][]string {
	t.Helper()
	s := states(t, m)
	for _, alg := range algorithms {
		if n, x := len(s[alg][StateActive]), len(s[alg][StateNext]); n != 1 || x != 1 {
			t.Fatalf("%s: %d active and %d next keys, want 1 and 1 (%v)", alg, n, x, s)
		}
	}
	return s
}
