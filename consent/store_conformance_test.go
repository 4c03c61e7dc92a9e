package consent_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/consent"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// fixture adds a user and a third-party client to the system organisation.
func addUser(t *testing.T, db *database.DB, id string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.Exec(`INSERT INTO users (id, org_id, username, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		id, clients.DefaultOrgID, id, now, now).Error; err != nil {
		t.Fatal(err)
	}
}

func addClient(t *testing.T, db *database.DB, name string) clients.Client {
	t.Helper()
	c, _, err := clients.New(clients.Spec{Name: name, RedirectURIs: []string{"https://app.example.test/cb"}},
		secret.FromBytes(make([]byte, 32)).Hasher("client-secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := clients.NewStore(db).Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func addToken(t *testing.T, db *database.DB, kind, sig, clientID, subject string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.Exec(`INSERT INTO oauth2_tokens (kind, signature, request_id, client_id, subject, active, requested_at, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, kind, sig, "req-"+sig, clientID, subject, true, now, now.Add(time.Hour), "{}").Error; err != nil {
		t.Fatal(err)
	}
}

func TestStoreConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := consent.NewStore(db)
		addUser(t, db, "ann")
		addUser(t, db, "bob")
		app := addClient(t, db, "Timesheets")
		other := addClient(t, db, "Wiki")
		t0 := time.Now().UTC().Truncate(time.Second)

		covers := func(user, client string, scopes ...string) bool {
			t.Helper()
			ok, err := s.Covers(ctx, user, client, scopes)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		t.Run("no decision covers nothing", func(t *testing.T) {
			if covers("ann", app.ID, "openid") || covers("ann", app.ID) {
				t.Fatal("covered without a decision")
			}
			if _, err := s.Get(ctx, "ann", app.ID); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Get = %v, want ErrNotFound", err)
			}
		})

		t.Run("grant covers the same or fewer scopes, not more", func(t *testing.T) {
			if err := s.Grant(ctx, "ann", app.ID, []string{"openid", "profile"}, t0); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name   string
				scopes []string
				want   bool
			}{
				{"same", []string{"openid", "profile"}, true},
				{"same, other order", []string{"profile", "openid"}, true},
				{"fewer", []string{"openid"}, true},
				{"none", nil, true},
				{"more", []string{"openid", "profile", "email"}, false},
				{"different", []string{"offline_access"}, false},
			} {
				if got := covers("ann", app.ID, tc.scopes...); got != tc.want {
					t.Errorf("%s: Covers(%v) = %t, want %t", tc.name, tc.scopes, got, tc.want)
				}
			}
			if covers("bob", app.ID, "openid") || covers("ann", other.ID, "openid") {
				t.Fatal("a decision covers another user or another client")
			}
		})

		t.Run("granting more widens the decision and keeps when it began", func(t *testing.T) {
			t1 := t0.Add(time.Hour)
			if err := s.Grant(ctx, "ann", app.ID, []string{"email"}, t1); err != nil {
				t.Fatal(err)
			}
			d, err := s.Get(ctx, "ann", app.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Scopes, []string{"openid", "profile", "email"}) || !d.CreatedAt.Equal(t0) || !d.UpdatedAt.Equal(t1) {
				t.Fatalf("decision = %+v", d)
			}
			if !covers("ann", app.ID, "openid", "profile", "email") {
				t.Fatal("widened decision does not cover")
			}
		})

		t.Run("list names the apps, newest first, only the user's", func(t *testing.T) {
			if err := s.Grant(ctx, "ann", other.ID, []string{"openid"}, t0.Add(30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.Grant(ctx, "bob", other.ID, []string{"openid"}, t0); err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx, "ann")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].ClientID != app.ID || list[0].ClientName != "Timesheets" ||
				list[1].ClientID != other.ID || list[1].ClientName != "Wiki" || list[1].UserID != "ann" {
				t.Fatalf("List = %+v", list)
			}
			if empty, err := s.List(ctx, "nobody"); err != nil || len(empty) != 0 {
				t.Fatalf("List(nobody) = %v, %v", empty, err)
			}
		})

		t.Run("revoke forgets the decision and revokes that pair's tokens only", func(t *testing.T) {
			addToken(t, db, "refresh", "r-ann-app", app.ID, "ann")
			addToken(t, db, "access", "a-ann-app", app.ID, "ann")
			addToken(t, db, "refresh", "r-ann-other", other.ID, "ann")
			addToken(t, db, "refresh", "r-bob-app", app.ID, "bob")
			if err := s.Revoke(ctx, "ann", app.ID); err != nil {
				t.Fatal(err)
			}
			if covers("ann", app.ID, "openid") {
				t.Fatal("revoked decision still covers")
			}
			if !covers("ann", other.ID, "openid") || !covers("bob", other.ID, "openid") {
				t.Fatal("revoke touched other decisions")
			}
			var active []string
			if err := db.Raw(`SELECT signature FROM oauth2_tokens WHERE active = ? ORDER BY signature`, true).Scan(&active).Error; err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(active, []string{"r-ann-other", "r-bob-app"}) {
				t.Fatalf("active tokens after revoke: %v", active)
			}
			if err := s.Revoke(ctx, "ann", app.ID); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("second Revoke = %v, want ErrNotFound", err)
			}
		})

		t.Run("deleting the client or user removes their decisions", func(t *testing.T) {
			if err := clients.NewStore(db).Delete(ctx, other.ID); err != nil {
				t.Fatal(err)
			}
			if list, err := s.List(ctx, "bob"); err != nil || len(list) != 0 {
				t.Fatalf("List(bob) after client delete = %v, %v", list, err)
			}
			if _, err := s.Get(ctx, "bob", other.ID); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Get after client delete = %v", err)
			}
		})
	})
}
