package passkey

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestRenameRemove(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice, bob := e.user("alice"), e.user("bob")
		a1 := e.register(alice, newDevice(false))
		e.advance(time2s)
		a2 := e.register(alice, newDevice(true))
		b1 := e.register(bob, newDevice(false))

		list, _ := e.svc.List(ctx, alice.ID)
		if len(list) != 2 || list[0].ID != a2.ID || list[1].ID != a1.ID {
			t.Fatalf("not newest first: %+v", list)
		}

		if err := e.svc.Rename(ctx, alice.ID, a1.ID, "  Work laptop  "); err != nil {
			t.Fatal(err)
		}
		if got := e.get(alice.ID, a1.ID).Name; got != "Work laptop" {
			t.Fatalf("name %q", got)
		}
		for _, bad := range []string{"", "   ", string(bytes.Repeat([]byte("x"), 65)), "tab\there"} {
			if err := e.svc.Rename(ctx, alice.ID, a1.ID, bad); err != ErrInvalidName {
				t.Fatalf("rename to %q: %v", bad, err)
			}
		}
		if err := e.svc.Rename(ctx, alice.ID, a1.ID, string(bytes.Repeat([]byte("é"), 32))+"ééééééééééééééééééééééééééééééé"); err != nil {
			t.Fatalf("63 characters refused: %v", err)
		}
		if err := e.svc.Rename(ctx, alice.ID, b1.ID, "mine now"); err != ErrNotFound {
			t.Fatalf("rename another user's passkey: %v", err)
		}
		if got := e.get(bob.ID, b1.ID).Name; got != b1.Name {
			t.Fatalf("bob's passkey renamed to %q", got)
		}

		if err := e.svc.Remove(ctx, alice.ID, b1.ID); err != ErrNotFound {
			t.Fatalf("remove another user's passkey: %v", err)
		}
		if err := e.svc.Remove(ctx, bob.ID, b1.ID); err != ErrLastPasskey {
			t.Fatalf("remove last passkey: %v", err)
		}
		if err := e.svc.Remove(ctx, alice.ID, "nope"); err != ErrNotFound {
			t.Fatalf("remove unknown: %v", err)
		}
		if err := e.svc.Remove(ctx, alice.ID, a2.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Remove(ctx, alice.ID, a1.ID); err != ErrLastPasskey {
			t.Fatalf("remove the remaining passkey: %v", err)
		}
		if e.count(alice.ID) != 1 || e.count(bob.ID) != 1 {
			t.Fatal("counts changed")
		}

		// Two racing removals of a user's two passkeys leave one.
		a3 := e.register(alice, newDevice(false))
		errs := make(chan error, 2)
		for _, id := range []string{a1.ID, a3.ID} {
			go func() { errs <- e.svc.Remove(ctx, alice.ID, id) }()
		}
		results := []error{<-errs, <-errs}
		if !slices.Contains(results, nil) || !slices.Contains(results, error(ErrLastPasskey)) || e.count(alice.ID) != 1 {
			t.Fatalf("racing removals: %v, %d left", results, e.count(alice.ID))
		}
	})
}

func TestPurgeCeremonies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.user("alice")
		for range 3 {
			if _, _, err := e.svc.BeginDiscoverableLogin(ctx, directory.SystemOrgID); err != nil {
				t.Fatal(err)
			}
		}
		e.advance(DefaultTimeout / 2)
		_, fresh, _ := e.svc.BeginLogin(ctx, directory.SystemOrgID, "alice")
		if n, err := e.svc.PurgeCeremonies(ctx, e.now()); err != nil || n != 0 {
			t.Fatalf("purged %d live ceremonies (%v)", n, err)
		}
		e.advance(DefaultTimeout/2 + time2s)
		if n, err := e.svc.PurgeCeremonies(ctx, e.now()); err != nil || n != 3 {
			t.Fatalf("purged %d, want 3 (%v)", n, err)
		}
		e.advance(DefaultTimeout)
		if n, _ := e.svc.PurgeCeremonies(ctx, e.now()); n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		if _, _, err := e.svc.FinishLogin(ctx, fresh, []byte(`{}`)); !errors.Is(err, ErrCeremonyExpired) {
			t.Fatalf("purged ceremony: %v", err)
		}
	})
}
