package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestOrgsAndPasswordsConformance covers organisations with their policy and the users' password
// and rollout fields, on SQLite and PostgreSQL.
func TestOrgsAndPasswordsConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := directory.NewStore(db)

		sys, err := s.GetOrg(ctx, directory.SystemOrgID)
		if err != nil || sys.Policy.Mode != policy.Mandatory || sys.Slug != "system" {
			t.Fatalf("system organisation: %+v, %v", sys, err)
		}
		o, err := s.CreateOrg(ctx, "acme", "Acme Ltd")
		if err != nil || o.Policy.Mode != policy.Off || !o.Policy.RequireUV || !o.Policy.AllowSynced {
			t.Fatalf("CreateOrg: %+v, %v", o, err)
		}
		if _, err := s.CreateOrg(ctx, "acme", "Again"); !errors.Is(err, database.ErrAlreadyExists) {
			t.Fatalf("duplicate slug: %v", err)
		}
		for _, bad := range []string{"", "Acme", "-acme", "acme-", "a b", "ac/me"} {
			if _, err := s.CreateOrg(ctx, bad, "Bad"); err == nil {
				t.Fatalf("slug %q accepted", bad)
			}
		}
		if _, err := s.CreateOrg(ctx, "noname", " "); err == nil {
			t.Fatal("an empty name was accepted")
		}

		end := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		p := policy.Policy{Mode: policy.Mandatory, PasswordsEndAt: &end, RequireUV: false, AllowSynced: false,
			AllowedAAGUIDs: []string{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"}, RemindAfter: 72 * time.Hour}
		if err := s.SetPolicy(ctx, o.ID, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetOrgBySlug(ctx, "acme")
		if err != nil || got.Policy.Mode != policy.Mandatory || got.Policy.RequireUV || got.Policy.AllowSynced ||
			got.Policy.PasswordsEndAt == nil || !got.Policy.PasswordsEndAt.Equal(end) || got.Policy.RemindAfter != 72*time.Hour ||
			!slices.Equal(got.Policy.AllowedAAGUIDs, p.AllowedAAGUIDs) {
			t.Fatalf("policy round trip: %+v, %v", got.Policy, err)
		}
		if err := s.SetPolicy(ctx, o.ID, policy.Policy{Mode: policy.Optional, PasswordsEndAt: &end}); err == nil {
			t.Fatal("a deadline under optional was stored")
		}
		if err := s.SetPolicy(ctx, "nope", policy.Default()); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("unknown organisation: %v", err)
		}
		orgs, err := s.ListOrgs(ctx)
		if err != nil || len(orgs) != 2 || orgs[0].ID != directory.SystemOrgID || orgs[1].Slug != "acme" {
			t.Fatalf("ListOrgs: %+v, %v", orgs, err)
		}

		// The same username in two organisations is two people.
		a, err := s.CreateUser(ctx, directory.User{OrgID: o.ID, Username: "sam", Roles: []string{"editor"}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateUser(ctx, directory.User{Username: "sam"})
		if err != nil || a.ID == b.ID {
			t.Fatalf("same username in the system organisation: %+v, %v", b, err)
		}
		if u, _ := s.GetUser(ctx, a.ID); u.OrgName != "Acme Ltd" || u.HasPassword || u.PasskeySkippedAt != nil {
			t.Fatalf("new user: %+v", u)
		}

		if err := s.SetPasswordHash(ctx, a.ID, "$argon2id$old"); err != nil {
			t.Fatal(err)
		}
		if h, err := s.PasswordHash(ctx, a.ID); err != nil || h != "$argon2id$old" {
			t.Fatalf("PasswordHash: %q, %v", h, err)
		}
		// An upgrade only replaces the hash it was computed from.
		if err := s.ReplacePasswordHash(ctx, a.ID, "$argon2id$other", "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.PasswordHash(ctx, a.ID); h != "$argon2id$old" {
			t.Fatalf("a stale upgrade replaced the hash: %q", h)
		}
		if err := s.ReplacePasswordHash(ctx, a.ID, "$argon2id$old", "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.GetUser(ctx, a.ID); !u.HasPassword {
			t.Fatal("HasPassword false after setting one")
		}
		if err := s.SetPasswordHash(ctx, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.GetUser(ctx, a.ID); u.HasPassword {
			t.Fatal("HasPassword true after removing it")
		}
		if err := s.SetPasswordHash(ctx, "nobody", "x"); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("password of an unknown user: %v", err)
		}

		at := time.Now().UTC().Truncate(time.Second)
		if err := s.SetPasskeySkipped(ctx, a.ID, at); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.GetUser(ctx, a.ID); u.PasskeySkippedAt == nil || !u.PasskeySkippedAt.Equal(at) {
			t.Fatalf("skipped at: %+v", u.PasskeySkippedAt)
		}

		if err := s.UpdateProfile(ctx, a.ID, "Sam Smith", "sam@example.com", []string{"viewer", "admin", "viewer"}); err != nil {
			t.Fatal(err)
		}
		users, err := s.ListUsers(ctx, o.ID)
		if err != nil || len(users) != 1 || users[0].DisplayName != "Sam Smith" || users[0].Email != "sam@example.com" ||
			!slices.Equal(users[0].Roles, []string{"admin", "viewer"}) {
			t.Fatalf("ListUsers after UpdateProfile: %+v, %v", users, err)
		}
	})
}
