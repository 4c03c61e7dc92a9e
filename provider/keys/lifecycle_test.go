package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestEnsureIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		m := ensured(t, db, Options{})
		first := checkOneEach(t, m)
		if err := m.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if err := NewManager(db, testSealer, Options{}).Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		second := checkOneEach(t, m)
		if fmt.Sprint(first) != fmt.Sprint(second) {
			t.Fatalf("Ensure changed the keys: %v then %v", first, second)
		}
		list, _ := m.List(ctx)
		if len(list) != 4 {
			t.Fatalf("%d keys, want 4", len(list))
		}
		for _, k := range list {
			if len(k.KID) < 22 || strings.ContainsAny(k.KID, "+/=") {
				t.Errorf("kid %q is not 16+ bytes of base64url", k.KID)
			}
			if k.CreatedAt.Location() != time.UTC {
				t.Errorf("created_at %v not in UTC", k.CreatedAt)
			}
			if (k.State == StateActive) != (k.ActivatedAt != nil) || k.RetiredAt != nil || k.PublishUntil != nil {
				t.Errorf("times of a fresh %s key: %+v", k.State, k)
			}
		}
	})
}

func TestEnsureConcurrentProcesses(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *database.DB) {
		ctx := context.Background()
		var managers []*Manager
		for range 3 {
			managers = append(managers, NewManager(a, testSealer, Options{}), NewManager(b, testSealer, Options{}))
		}
		start := make(chan struct{})
		errs := make([]error, len(managers))
		var wg sync.WaitGroup
		for i, m := range managers {
			wg.Go(func() {
				<-start
				errs[i] = m.Ensure(ctx)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Ensure %d: %v", i, err)
			}
		}
		checkOneEach(t, managers[0])
		if list, _ := managers[1].List(ctx); len(list) != 4 {
			t.Fatalf("%d keys after concurrent Ensure, want 4: %+v", len(list), list)
		}
		// Every manager signs with the same active keys.
		for _, alg := range algorithms {
			want, _ := managers[0].SigningKey(ctx, alg)
			for _, m := range managers[1:] {
				if got, err := m.SigningKey(ctx, alg); err != nil || got.KeyID != want.KeyID {
					t.Fatalf("%s: managers disagree: %v %v vs %s", alg, got, err, want.KeyID)
				}
			}
		}
	})
}

func TestRotateMovesStates(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		m := ensured(t, db, Options{Now: clk.Now, RetiredPublishFor: time.Hour})
		before := checkOneEach(t, m)
		clk.Advance(time.Minute)
		rotatedAt := clk.Now().Truncate(time.Microsecond)

		kids, err := m.Rotate(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		wantKids := []string{before[ES256][StateNext][0], before[RS256][StateNext][0]}
		if !slices.Equal(kids, wantKids) {
			t.Fatalf("Rotate returned %v, want the former next keys %v", kids, wantKids)
		}
		after := checkOneEach(t, m)
		for _, alg := range algorithms {
			if after[alg][StateActive][0] != before[alg][StateNext][0] {
				t.Errorf("%s: next did not become active", alg)
			}
			if !slices.Equal(after[alg][StateRetired], before[alg][StateActive]) {
				t.Errorf("%s: active did not become retired: %v", alg, after[alg])
			}
			if n := after[alg][StateNext][0]; n == before[alg][StateNext][0] || n == before[alg][StateActive][0] {
				t.Errorf("%s: no new next key", alg)
			}
		}

		list, _ := m.List(ctx)
		var order []string
		for _, k := range list {
			order = append(order, k.Alg+"/"+k.State)
			switch k.State {
			case StateRetired:
				if k.RetiredAt == nil || !k.RetiredAt.Equal(rotatedAt) || k.PublishUntil == nil || !k.PublishUntil.Equal(rotatedAt.Add(time.Hour)) {
					t.Errorf("retired key times: retired %v, publish until %v; rotated at %v", k.RetiredAt, k.PublishUntil, rotatedAt)
				}
			case StateActive:
				if k.ActivatedAt == nil || !k.ActivatedAt.Equal(rotatedAt) {
					t.Errorf("activated_at %v, want %v", k.ActivatedAt, rotatedAt)
				}
			}
		}
		wantOrder := []string{"ES256/active", "ES256/next", "ES256/retired", "RS256/active", "RS256/next", "RS256/retired"}
		if !slices.Equal(order, wantOrder) {
			t.Errorf("List order %v, want %v", order, wantOrder)
		}

		// The JWKS publishes next, active and retired keys, public halves only.
		set, err := m.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 6 {
			t.Fatalf("JWKS has %d keys, want 6", len(set.Keys))
		}
		for _, k := range list {
			found := set.Key(k.KID)
			if len(found) != 1 || !found[0].IsPublic() || found[0].Algorithm != k.Alg || found[0].Use != "sig" {
				t.Errorf("JWKS entry for %s %s: %+v", k.State, k.KID, found)
			}
		}
		js, err := m.JWKSJSON(ctx)
		if err != nil || !strings.Contains(string(js), `"keys":[`) || strings.Contains(string(js), `"d":`) {
			t.Errorf("JWKSJSON = %s, %v", js, err)
		}

		// One algorithm only.
		kids, err = m.Rotate(ctx, RS256)
		if err != nil || len(kids) != 1 || kids[0] != after[RS256][StateNext][0] {
			t.Fatalf("Rotate(RS256) = %v, %v", kids, err)
		}
		s := checkOneEach(t, m)
		if len(s[RS256][StateRetired]) != 2 || len(s[ES256][StateRetired]) != 1 {
			t.Errorf("Rotate(RS256) touched other algorithms: %v", s)
		}
		if _, err := m.Rotate(ctx, "HS256"); err == nil {
			t.Error("Rotate(HS256) succeeded")
		}
	})
}

func TestRotateWithoutEnsure(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		m := NewManager(db, testSealer, Options{})
		if _, err := m.Rotate(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		checkOneEach(t, m)
	})
}

func TestPruneRemovesOnlyExpiredRetiredKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		m := ensured(t, db, Options{Now: clk.Now, RetiredPublishFor: time.Hour, CacheFor: time.Hour})
		first, _ := m.SigningKey(ctx, ES256)
		if _, err := m.Rotate(ctx, ES256); err != nil { // retires first at t0
			t.Fatal(err)
		}
		clk.Advance(30 * time.Minute)
		second, _ := m.SigningKey(ctx, ES256)
		if _, err := m.Rotate(ctx, ES256); err != nil { // retires second at t0+30m
			t.Fatal(err)
		}
		if n, err := m.Prune(ctx); err != nil || n != 0 {
			t.Fatalf("Prune before any expiry = %d, %v", n, err)
		}

		clk.Advance(31 * time.Minute) // first's publication has ended, second's has not
		// The cached JWKS drops the expired key on time, before Prune and before CacheFor.
		if _, err := m.PublicKey(ctx, first.KeyID); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("PublicKey(expired retired key) = %v, want ErrNotFound", err)
		}
		if n, err := m.Prune(ctx); err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1", n, err)
		}
		s := checkOneEach(t, m)
		if !slices.Equal(s[ES256][StateRetired], []string{second.KeyID}) {
			t.Errorf("retired keys after Prune: %v, want only %s", s[ES256][StateRetired], second.KeyID)
		}
		if n, _ := m.Prune(ctx); n != 0 {
			t.Errorf("second Prune deleted %d", n)
		}
		set, _ := m.JWKS(ctx)
		if len(set.Key(first.KeyID)) != 0 || len(set.Key(second.KeyID)) != 1 || len(set.Keys) != 5 {
			t.Errorf("JWKS after Prune: %d keys", len(set.Keys))
		}
	})
}

func TestWrongSecretGivesClearError(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		ensured(t, db, Options{})
		other := NewManager(db, secret.FromBytes([]byte("another system secret, 32+ bytes long")).Sealer("signing-keys"), Options{})
		for name, call := range map[string]func() error{
			"Ensure":     func() error { return other.Ensure(ctx) },
			"SigningKey": func() error { _, err := other.SigningKey(ctx, ES256); return err },
			"Generate": func() error {
				_, _, err := other.Signer().Generate(ctx, claims(), headers())
				return err
			},
		} {
			err := call()
			if !errors.Is(err, ErrUndecryptable) || !kidErrorIn.MatchString(err.Error()) {
				t.Errorf("%s with the wrong secret: %v", name, err)
			}
		}
	})
}
