package clients

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// mustNew builds a valid client or fails the test.
func mustNew(t *testing.T, spec Spec) (Client, string) {
	t.Helper()
	c, plain, err := New(spec, testHasher(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return c, plain
}

func mustCreate(t *testing.T, s *Store, spec Spec) (Client, string) {
	t.Helper()
	c, plain := mustNew(t, spec)
	if err := s.Create(context.Background(), c); err != nil {
		t.Fatalf("Create(%s): %v", spec.Name, err)
	}
	return c, plain
}

func mustGet(t *testing.T, s *Store, id string) Client {
	t.Helper()
	c, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func addOrg(t *testing.T, db *database.DB, id string) {
	t.Helper()
	if err := db.Exec(`INSERT INTO organisations (id, slug, name, created_at) VALUES (?, ?, ?, ?)`,
		id, id, id, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
}

func addToken(t *testing.T, db *database.DB, signature, clientID string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.Exec(`INSERT INTO oauth2_tokens (kind, signature, request_id, client_id, requested_at, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, "access_token", signature, "req-"+signature, clientID, now, now.Add(time.Hour), "{}").Error; err != nil {
		t.Fatal(err)
	}
}

func countTokens(t *testing.T, db *database.DB, clientID string) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM oauth2_tokens WHERE client_id = ?`, clientID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStoreCreateGet(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		specs := map[string]Spec{
			"confidential": {Name: "Web", RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1:5000/cb"},
				PostLogoutRedirectURIs: []string{"https://a.example/bye"}, Audience: []string{"https://api.example"},
				Scopes: []string{"openid", "roles", "org"}, IDTokenAlg: "RS256", AuthMethod: "client_secret_post",
				JWTAccessTokens: true, RequirePAR: true, FirstParty: true, CanIntrospect: true,
				LogoURI: "https://a.example/logo.png", PolicyURI: "https://a.example/privacy", TOSURI: "https://a.example/terms",
				BackchannelLogoutURI: "https://a.example/bc", BackchannelLogoutSessionRequired: true,
				FrontchannelLogoutURI: "https://a.example/fc", FrontchannelLogoutSessionRequired: true},
			"public":                {Name: "App", Type: "public", RedirectURIs: []string{"com.example.app:/cb"}},
			"service":               {Name: "Svc"},
			"private_key_jwt":       {Name: "Keys", JWKS: publicJWKS(t), GrantTypes: []string{"client_credentials"}},
			"private_key_jwt PS256": {Name: "Keys PS", JWKS: rsaJWKS(t), AuthSigningAlg: "PS256"},
			"private_key_jwt uri":   {Name: "Keys URI", JWKSURI: "https://svc.example/jwks.json", AuthSigningAlg: "ES256"},
		}
		wantAlg := map[string]string{"private_key_jwt": "ES256", "private_key_jwt PS256": "PS256", "private_key_jwt uri": "ES256"}
		for name, spec := range specs {
			t.Run(name, func(t *testing.T) {
				c, plain := mustCreate(t, s, spec)
				got := mustGet(t, s, c.ID)
				if !reflect.DeepEqual(got, c) {
					t.Fatalf("Get returned\n%+v\nwant\n%+v", got, c)
				}
				if got.TokenEndpointAuthSigningAlg != wantAlg[name] {
					t.Fatalf("token_endpoint_auth_signing_alg = %q, want %q", got.TokenEndpointAuthSigningAlg, wantAlg[name])
				}
				if got.UsesSecret() != (plain != "") || (plain != "" && !got.CheckSecret(testHasher(), plain)) {
					t.Fatal("stored secret hash does not verify the issued secret")
				}
			})
		}

		t.Run("duplicate", func(t *testing.T) {
			c, _ := mustCreate(t, s, Spec{Name: "Dup"})
			c.Name = "Dup 2"
			if err := s.Create(ctx, c); !errors.Is(err, database.ErrAlreadyExists) {
				t.Fatalf("Create duplicate = %v, want ErrAlreadyExists", err)
			}
			if got := mustGet(t, s, c.ID); got.Name != "Dup" {
				t.Fatalf("duplicate overwrote the client: %q", got.Name)
			}
		})
		t.Run("unknown org", func(t *testing.T) {
			c, _ := mustNew(t, Spec{Name: "Lost", OrgID: "nowhere"})
			err := s.Create(ctx, c)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "org_id" {
				t.Fatalf("Create in unknown org = %v, want an org_id validation error", err)
			}
		})
		t.Run("not found", func(t *testing.T) {
			if _, err := s.Get(ctx, "missing"); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Get missing = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestStoreList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		addOrg(t, db, "acme")
		charlie, _ := mustCreate(t, s, Spec{Name: "charlie"})
		alpha, _ := mustCreate(t, s, Spec{Name: "Alpha"})
		bravo, _ := mustCreate(t, s, Spec{Name: "bravo", OrgID: "acme"})
		delta, _ := mustCreate(t, s, Spec{Name: "Delta", OrgID: "acme"})

		names := func(cs []Client) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.Name)
			}
			return out
		}
		tests := []struct {
			org  string
			want []Client
		}{
			{"", []Client{alpha, bravo, charlie, delta}},
			{"system", []Client{alpha, charlie}},
			{"acme", []Client{bravo, delta}},
		}
		for _, tt := range tests {
			got, err := s.List(ctx, tt.org)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("List(%q) = %v, want %v", tt.org, names(got), names(tt.want))
			}
		}
		got, err := s.List(ctx, "nobody")
		if err != nil || len(got) != 0 {
			t.Fatalf("List(nobody) = %v, %v; want none", names(got), err)
		}
	})
}

func TestStoreUpdate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		c, plain := mustCreate(t, s, Spec{Name: "Web", RedirectURIs: []string{"https://a.example/cb"}})

		spec := c.Spec()
		spec.Name = "Web renamed"
		spec.RedirectURIs = []string{"https://b.example/cb"}
		spec.PostLogoutRedirectURIs = []string{"https://b.example/bye"}
		spec.GrantTypes = []string{"authorization_code"}
		spec.Scopes = []string{"openid"}
		spec.Audience = []string{"api"}
		spec.AuthMethod = "client_secret_post"
		spec.IDTokenAlg = "RS256"
		spec.JWTAccessTokens, spec.RequirePAR, spec.FirstParty, spec.CanIntrospect = true, true, true, true
		spec.LogoURI, spec.PolicyURI, spec.TOSURI = "https://b.example/logo.png", "https://b.example/privacy", "https://b.example/terms"
		spec.BackchannelLogoutURI, spec.FrontchannelLogoutURI = "https://b.example/bc", "http://localhost:9/fc"
		spec.BackchannelLogoutSessionRequired, spec.FrontchannelLogoutSessionRequired = true, true
		revised, err := Revise(c, spec, testNow.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, revised); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, c.ID); !reflect.DeepEqual(got, revised) {
			t.Fatalf("after Update Get =\n%+v\nwant\n%+v", got, revised)
		}

		// Update leaves the ID, organisation, type, secret and creation time alone.
		addOrg(t, db, "acme")
		tampered := revised
		tampered.OrgID, tampered.Public, tampered.SecretHash = "acme", true, []byte("other")
		tampered.CreatedAt = testNow.Add(-time.Hour)
		if err := s.Update(ctx, tampered); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, c.ID)
		if got.OrgID != "system" || got.Public || !got.CreatedAt.Equal(c.CreatedAt) || !got.CheckSecret(testHasher(), plain) {
			t.Fatalf("Update changed an immutable field: %+v", got)
		}

		// The assertion algorithm of a private_key_jwt client changes with Update, and is cleared
		// when the client moves to a secret.
		keys, _ := mustCreate(t, s, Spec{Name: "Keys", JWKSURI: "https://svc.example/jwks.json"})
		if keys.TokenEndpointAuthSigningAlg != AlgRS256 {
			t.Fatalf("default alg = %q, want RS256", keys.TokenEndpointAuthSigningAlg)
		}
		spec = keys.Spec()
		spec.AuthSigningAlg = "PS256"
		for _, step := range []func(){
			func() {},
			func() { spec.AuthMethod, spec.JWKSURI, spec.AuthSigningAlg = "client_secret_post", "", "" },
		} {
			step()
			revisedKeys, err := Revise(mustGet(t, s, keys.ID), spec, testNow.Add(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Update(ctx, revisedKeys); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, keys.ID); !reflect.DeepEqual(got, revisedKeys) {
				t.Fatalf("after Update Get =\n%+v\nwant\n%+v", got, revisedKeys)
			}
		}
		if got := mustGet(t, s, keys.ID); got.TokenEndpointAuthSigningAlg != "" || got.TokenEndpointAuthMethod != AuthSecretPost {
			t.Fatalf("after moving to a secret: method %q, alg %q", got.TokenEndpointAuthMethod, got.TokenEndpointAuthSigningAlg)
		}

		missing := revised
		missing.ID = "missing"
		if err := s.Update(ctx, missing); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("Update missing = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreSetSecretHash(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		h := testHasher()
		c, old := mustCreate(t, s, Spec{Name: "Svc"})

		fresh, hash := NewSecret(h)
		later := testNow.Add(time.Hour).UTC().Truncate(time.Microsecond)
		if err := s.SetSecretHash(ctx, c.ID, hash, later); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, c.ID)
		if got.CheckSecret(h, old) || !got.CheckSecret(h, fresh) {
			t.Fatal("after rotation the old secret works or the new one does not")
		}
		if !got.UpdatedAt.Equal(later) {
			t.Fatalf("updated_at = %v, want %v", got.UpdatedAt, later)
		}

		if err := s.SetSecretHash(ctx, "missing", hash, later); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("SetSecretHash missing = %v, want ErrNotFound", err)
		}
		pub, _ := mustCreate(t, s, Spec{Name: "App", Type: "public", RedirectURIs: []string{"com.example.app:/cb"}})
		if err := s.SetSecretHash(ctx, pub.ID, hash, later); !errors.Is(err, ErrPublicClient) {
			t.Fatalf("SetSecretHash public = %v, want ErrPublicClient", err)
		}
		if got := mustGet(t, s, pub.ID); got.SecretHash != nil {
			t.Fatal("a public client got a secret")
		}
	})
}

func TestStoreDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		gone, _ := mustCreate(t, s, Spec{Name: "Gone"})
		kept, _ := mustCreate(t, s, Spec{Name: "Kept"})
		addToken(t, db, "sig-1", gone.ID)
		addToken(t, db, "sig-2", gone.ID)
		addToken(t, db, "sig-3", kept.ID)

		if err := s.Delete(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, gone.ID); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("Get deleted = %v, want ErrNotFound", err)
		}
		if n := countTokens(t, db, gone.ID); n != 0 {
			t.Fatalf("%d tokens of the deleted client remain", n)
		}
		if n := countTokens(t, db, kept.ID); n != 1 {
			t.Fatalf("other client has %d tokens, want 1", n)
		}
		mustGet(t, s, kept.ID)

		if err := s.Delete(ctx, gone.ID); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("Delete again = %v, want ErrNotFound", err)
		}
	})
}

// The store joins a transaction carried by the context, so a caller can roll its writes back.
func TestStoreJoinsCallerTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		c, _ := mustCreate(t, s, Spec{Name: "Kept"})
		addToken(t, db, "sig-1", c.ID)
		fresh, _ := mustNew(t, Spec{Name: "Rolled back"})

		abort := errors.New("abort")
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := s.Create(ctx, fresh); err != nil {
				return err
			}
			if err := s.Delete(ctx, c.ID); err != nil {
				return err
			}
			if _, err := s.Get(ctx, fresh.ID); err != nil {
				return err
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatalf("InTx = %v", err)
		}
		if _, err := s.Get(ctx, fresh.ID); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("rolled-back create is visible: %v", err)
		}
		mustGet(t, s, c.ID)
		if n := countTokens(t, db, c.ID); n != 1 {
			t.Fatalf("rolled-back delete removed tokens: %d left", n)
		}
	})
}
