package provider_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider"
)

func TestPendingStoreConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := &provider.PendingStore{DB: db}
		now := time.Now().UTC().Truncate(time.Second)

		t.Run("form round-trips exactly", func(t *testing.T) {
			tests := []struct {
				name   string
				form   url.Values
				viaPAR bool
			}{
				{"empty", url.Values{}, false},
				{"typical authorize request", url.Values{
					"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://rp.example.test/cb?a=1&b=2"},
					"scope": {"openid profile email"}, "state": {"xyz"}, "nonce": {"n-0S6_WzA2Mj"},
					"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
				}, false},
				{"via PAR", url.Values{"request_uri": {"urn:ietf:params:oauth:request_uri:abc"}, "client_id": {"app"}}, true},
				{"repeated values keep their order", url.Values{"resource": {"https://b.example", "https://a.example", "https://b.example"}}, false},
				{"empty values", url.Values{"prompt": {""}, "login_hint": {"", "x"}}, false},
				{"special characters", url.Values{
					"state":      {"a b+c&d=e;f%g#h?i/j\\k\"l'm<n>o"},
					"claims":     {`{"id_token":{"acr":{"essential":true,"values":["urn:mace:incommon:iap:silver"]}}}`},
					"ui_locales": {"fr-CA fr en"},
					"login_hint": {"Zoë Ångström 日本語 🙂"},
					"a+b c":      {"key with space and plus"},
				}, true},
				{"newlines and tabs", url.Values{"state": {"line1\nline2\r\n\ttab"}}, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					p, err := s.Create(ctx, "client-"+tc.name, tc.form, tc.viaPAR, now)
					if err != nil {
						t.Fatalf("Create: %v", err)
					}
					if len(p.ID) < 32 {
						t.Fatalf("pending id %q is too short to be unguessable", p.ID)
					}
					if !p.ExpiresAt.Equal(now.Add(provider.PendingLifespan)) {
						t.Errorf("ExpiresAt = %v, want now+%v", p.ExpiresAt, provider.PendingLifespan)
					}
					got, err := s.Get(ctx, p.ID, now.Add(time.Second))
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					if !reflect.DeepEqual(got.Form, tc.form) {
						t.Errorf("Form = %#v, want %#v", got.Form, tc.form)
					}
					if got.ID != p.ID || got.ClientID != "client-"+tc.name || got.ViaPAR != tc.viaPAR {
						t.Errorf("Get = %+v, want id %s client %s viaPAR %v", got, p.ID, "client-"+tc.name, tc.viaPAR)
					}
					if !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(provider.PendingLifespan)) {
						t.Errorf("times = %v/%v, want %v/%v", got.CreatedAt, got.ExpiresAt, now, now.Add(provider.PendingLifespan))
					}
				})
			}
		})

		t.Run("expiry", func(t *testing.T) {
			p, err := s.Create(ctx, "client-exp", url.Values{"state": {"s"}}, false, now)
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name  string
				at    time.Time
				found bool
			}{
				{"at creation", now, true},
				{"a second before expiry", now.Add(provider.PendingLifespan - time.Second), true},
				{"at expiry", now.Add(provider.PendingLifespan), false},
				{"long after", now.Add(24 * time.Hour), false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := s.Get(ctx, p.ID, tc.at)
					if tc.found && err != nil {
						t.Fatalf("Get: %v, want found", err)
					}
					if !tc.found && !errors.Is(err, database.ErrNotFound) {
						t.Fatalf("Get = %+v, %v; want database.ErrNotFound", got, err)
					}
				})
			}
		})

		t.Run("create sweeps expired requests", func(t *testing.T) {
			old, err := s.Create(ctx, "client-old", url.Values{"state": {"old"}}, false, now.Add(-2*provider.PendingLifespan))
			if err != nil {
				t.Fatal(err)
			}
			live, err := s.Create(ctx, "client-live", url.Values{"state": {"live"}}, false, now.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, "client-new", url.Values{}, false, now); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Purge(ctx, now); err != nil || n != 1 {
				t.Fatalf("Purge removed %d rows (%v), want exactly the expired one", n, err)
			}
			rows := func(id string) int64 {
				var n int64
				if err := db.Raw(`SELECT COUNT(*) FROM pending_authorizations WHERE id = ?`, id).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			if rows(old.ID) != 0 {
				t.Error("an expired pending request survived Purge")
			}
			if rows(live.ID) != 1 {
				t.Error("a live pending request was swept")
			}
		})

		t.Run("ids are unique", func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 20; i++ {
				p, err := s.Create(ctx, "client-ids", url.Values{}, false, now)
				if err != nil {
					t.Fatal(err)
				}
				if seen[p.ID] {
					t.Fatalf("id %s issued twice", p.ID)
				}
				seen[p.ID] = true
			}
		})

		t.Run("delete", func(t *testing.T) {
			p, err := s.Create(ctx, "client-del", url.Values{"state": {"d"}}, false, now)
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.Create(ctx, "client-del", url.Values{"state": {"e"}}, false, now)
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name    string
				id      string
				wantErr bool
			}{
				{"existing", p.ID, false},
				// A request is answered once: of two resumes racing, the second delete fails.
				{"already deleted", p.ID, true},
				{"unknown", "no-such-id", true},
			}
			for _, tc := range tests {
				err := s.Delete(ctx, tc.id)
				if (err != nil) != tc.wantErr || (tc.wantErr && !errors.Is(err, database.ErrNotFound)) {
					t.Errorf("Delete %s: err = %v, want error %v (database.ErrNotFound)", tc.name, err, tc.wantErr)
				}
			}
			if _, err := s.Get(ctx, p.ID, now); !errors.Is(err, database.ErrNotFound) {
				t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Get(ctx, other.ID, now); err != nil {
				t.Errorf("Delete removed another request: %v", err)
			}
		})

		t.Run("unknown id", func(t *testing.T) {
			for _, id := range []string{"", "nope", "' OR '1'='1"} {
				if _, err := s.Get(ctx, id, now); !errors.Is(err, database.ErrNotFound) {
					t.Errorf("Get(%q): err = %v, want ErrNotFound", id, err)
				}
			}
		})
	})
}

// Get answers the same inside a caller's transaction, where it must use that transaction's
// connection (it sees the transaction's own writes).
func TestPendingGetInTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := &provider.PendingStore{DB: db}
		now := time.Now().UTC().Truncate(time.Second)
		form := url.Values{"client_id": {"app"}, "state": {"s1"}}
		err := db.InTx(context.Background(), func(ctx context.Context) error {
			p, err := s.Create(ctx, "app", form, true, now)
			if err != nil {
				return err
			}
			got, err := s.Get(ctx, p.ID, now.Add(time.Second))
			if err != nil {
				return err
			}
			if got.ID != p.ID || got.ClientID != "app" || !got.ViaPAR || !reflect.DeepEqual(got.Form, form) ||
				!got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(provider.PendingLifespan)) {
				t.Errorf("in transaction: got %+v", got)
			}
			if _, err := s.Get(ctx, "no-such-request", now); !errors.Is(err, database.ErrNotFound) {
				t.Errorf("unknown id in transaction: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Request gives the sign-in pages a pending request's parameters, from memory when this store
// parked or read it: the same as Get but for the consent answer, a copy each time, and gone with
// Delete, expiry and Purge. A request parked in a transaction that rolls back is not remembered.
func TestPendingRequest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := &provider.PendingStore{DB: db}
		now := time.Now().UTC().Truncate(time.Second)
		form := url.Values{"client_id": {"app"}, "login_hint": {"alice"}, "acr_values": {"phr"}}
		p, err := s.Create(ctx, "app", form, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetConsent(ctx, p.ID, "user-1", true, now); err != nil {
			t.Fatal(err)
		}
		got, err := s.Request(ctx, p.ID, now.Add(time.Second))
		if err != nil || got.ID != p.ID || got.ClientID != "app" || !reflect.DeepEqual(got.Form, form) ||
			!got.ExpiresAt.Equal(p.ExpiresAt) || got.Consent != "" || got.ConsentUserID != "" {
			t.Fatalf("Request: %+v, %v", got, err)
		}
		if full, err := s.Get(ctx, p.ID, now.Add(time.Second)); err != nil || full.Consent != provider.ConsentAllowed {
			t.Fatalf("Get still reads the consent answer: %+v, %v", full, err)
		}
		got.Form.Set("login_hint", "mallory")
		if again, _ := s.Request(ctx, p.ID, now.Add(time.Second)); again.Form.Get("login_hint") != "alice" {
			t.Fatalf("a caller's change to the form reached the next caller: %v", again.Form)
		}
		if _, err := s.Request(ctx, p.ID, p.ExpiresAt); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("expired: %v", err)
		}

		// Another store (another server process) reads it from the database, then remembers it.
		other := &provider.PendingStore{DB: db}
		if got, err := other.Request(ctx, p.ID, now.Add(time.Second)); err != nil || !reflect.DeepEqual(got.Form, form) {
			t.Fatalf("other process: %+v, %v", got, err)
		}
		if err := s.Delete(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Request(ctx, p.ID, now.Add(time.Second)); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("after Delete: %v", err)
		}

		old, err := s.Create(ctx, "app", form, false, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Purge(ctx, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Request(ctx, old.ID, now.Add(-time.Hour)); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("after Purge: %v", err)
		}

		var rolledBack provider.Pending
		boom := errors.New("boom")
		if err := db.InTx(ctx, func(ctx context.Context) error {
			var err error
			if rolledBack, err = s.Create(ctx, "app", form, false, now); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := s.Request(ctx, rolledBack.ID, now.Add(time.Second)); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("parked in a rolled-back transaction: %v", err)
		}
	})
}
