package directory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// Within one request (a context with a memo) an organisation is read once; a write through the
// Store in that request forgets it; another request, or no memo, reads the database.
func TestOrgMemo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := directory.NewStore(db)
		bg := context.Background()
		o, err := s.CreateOrg(bg, "memo", "Memo Ltd")
		if err != nil {
			t.Fatal(err)
		}
		rename := func(name string) {
			t.Helper()
			if err := db.Conn(bg).Exec(`UPDATE organisations SET name = ? WHERE id = ?`, name, o.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		name := func(ctx context.Context) string {
			t.Helper()
			got, err := s.GetOrg(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Name
		}

		req := directory.WithOrgMemo(bg)
		if got := name(req); got != "Memo Ltd" {
			t.Fatalf("first read: %q", got)
		}
		rename("Renamed behind its back")
		if got := name(req); got != "Memo Ltd" {
			t.Errorf("second read in the same request: %q, want the kept %q", got, "Memo Ltd")
		}
		if got := name(bg); got != "Renamed behind its back" {
			t.Errorf("read without a memo: %q", got)
		}
		if got := name(directory.WithOrgMemo(bg)); got != "Renamed behind its back" {
			t.Errorf("read in the next request: %q", got)
		}

		// What a transaction reads is not kept: it may still be rolled back.
		fresh := directory.WithOrgMemo(bg)
		if err := db.InTx(fresh, func(ctx context.Context) error {
			if err := db.Conn(ctx).Exec(`UPDATE organisations SET name = ? WHERE id = ?`, "Never committed", o.ID).Error; err != nil {
				return err
			}
			if got := name(ctx); got != "Never committed" {
				t.Errorf("read in the transaction: %q", got)
			}
			return errors.New("roll back")
		}); err == nil {
			t.Fatal("the transaction did not fail")
		}
		if got := name(fresh); got != "Renamed behind its back" {
			t.Errorf("after the rollback: %q, want the committed name", got)
		}

		// A write in the request forgets the memo: the request then sees its own change.
		if err := s.SetPolicy(req, o.ID, policy.Policy{Mode: policy.Mandatory}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetOrg(req, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Renamed behind its back" || got.Policy.Mode != policy.Mandatory {
			t.Errorf("after a write in the request: %q, %s", got.Name, got.Policy.Mode)
		}
		if err := s.SetSessionLifetimes(req, o.ID, directory.SessionLifetimes{}); err != nil {
			t.Fatal(err)
		}
		rename("Again")
		if got := name(req); got != "Again" {
			t.Errorf("after a lifetime change in the request: %q", got)
		}
	})
}
