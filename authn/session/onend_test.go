package session

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// OnEnd sees every session End, EndAllForUser and EndForPasskey end, inside their transaction.
func TestOnEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		var seen []Ended
		f.store.OnEnd = func(ctx context.Context, ended []Ended) error {
			if _, ok := database.TxFrom(ctx); !ok {
				t.Error("OnEnd called outside a transaction")
			}
			seen = append(seen, ended...)
			return nil
		}
		start := func(passkeyID string) string {
			s := f.newSession()
			s.PasskeyID = passkeyID
			_, sess, err := f.store.Create(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			return sess.ID
		}
		a, b, c, d := start(""), start("pk1"), start("pk1"), start("")
		if err := f.store.End(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := f.store.End(ctx, a); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("second End: %v", err)
		}
		if _, err := f.store.EndForPasskey(ctx, f.user.ID, "pk1"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.EndAllForUser(ctx, f.user.ID, ""); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range seen {
			if e.UserID != f.user.ID {
				t.Errorf("ended %s has user %q, want %q", e.ID, e.UserID, f.user.ID)
			}
			ids = append(ids, e.ID)
		}
		slices.Sort(ids)
		want := []string{a, b, c, d}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("OnEnd saw %v, want each of %v once", ids, want)
		}

		// An error from the hook undoes the ending.
		e := start("")
		f.store.OnEnd = func(context.Context, []Ended) error { return errors.New("queue full") }
		if err := f.store.End(ctx, e); err == nil {
			t.Fatal("End succeeded although OnEnd failed")
		}
		if _, err := f.store.Get(ctx, e); err != nil {
			t.Fatalf("session ended although OnEnd failed: %v", err)
		}
	})
}
