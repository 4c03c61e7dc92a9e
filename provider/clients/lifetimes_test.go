package clients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestLifetimesValidate(t *testing.T) {
	base := Spec{Name: "App", RedirectURIs: []string{"https://app.example/cb"}}
	for _, tc := range []struct {
		name  string
		l     Lifetimes
		grant []string
		field string // "" when valid
	}{
		{"defaults", Lifetimes{}, nil, ""},
		{"all set", Lifetimes{AccessToken: 5 * time.Minute, RefreshToken: 7 * 24 * time.Hour, IDToken: 10 * time.Minute}, nil, ""},
		{"bounds", Lifetimes{AccessToken: MaxAccessTokenLifetime, RefreshToken: MinRefreshTokenLifetime, IDToken: MinIDTokenLifetime}, nil, ""},
		{"access too short", Lifetimes{AccessToken: 30 * time.Second}, nil, "access_token_lifetime"},
		{"access too long", Lifetimes{AccessToken: 25 * time.Hour}, nil, "access_token_lifetime"},
		{"access negative", Lifetimes{AccessToken: -time.Minute}, nil, "access_token_lifetime"},
		{"access fraction", Lifetimes{AccessToken: 90*time.Second + time.Millisecond}, nil, "access_token_lifetime"},
		{"refresh too short", Lifetimes{RefreshToken: 59 * time.Minute}, nil, "refresh_token_lifetime"},
		{"refresh too long", Lifetimes{RefreshToken: 91 * 24 * time.Hour}, nil, "refresh_token_lifetime"},
		{"refresh without the grant", Lifetimes{RefreshToken: 2 * time.Hour}, []string{GrantAuthorizationCode}, "refresh_token_lifetime"},
		{"id too long", Lifetimes{IDToken: 2 * time.Hour}, nil, "id_token_lifetime"},
		{"jwt access too long", Lifetimes{AccessToken: 2 * time.Hour}, []string{"jwt"}, "access_token_lifetime"},
		{"jwt access", Lifetimes{AccessToken: MaxJWTLifetime}, []string{"jwt"}, ""},
	} {
		s := base
		s.Lifetimes, s.GrantTypes = tc.l, tc.grant
		if len(tc.grant) == 1 && tc.grant[0] == "jwt" {
			s.GrantTypes, s.JWTAccessTokens = nil, true
		}
		s.Normalize()
		err := s.Validate()
		var ve *ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
			t.Errorf("%s: err %v, want a problem with %s", tc.name, err, tc.field)
		}
	}
}

func TestLifetimesRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		s := NewStore(db)
		ctx := context.Background()
		want := Lifetimes{AccessToken: 5 * time.Minute, RefreshToken: 36 * time.Hour, IDToken: 20 * time.Minute}
		c, _ := mustCreate(t, s, Spec{Name: "Short", RedirectURIs: []string{"https://app.example/cb"}, Lifetimes: want})
		if got := mustGet(t, s, c.ID).Lifetimes; got != want {
			t.Fatalf("after Create: %+v, want %+v", got, want)
		}
		if got := mustGet(t, s, c.ID).Spec().Lifetimes; got != want {
			t.Fatalf("Spec(): %+v, want %+v", got, want)
		}
		spec := c.Spec()
		spec.Lifetimes = Lifetimes{AccessToken: time.Hour}
		next, err := Revise(c, spec, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, next); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, c.ID).Lifetimes; got != (Lifetimes{AccessToken: time.Hour}) {
			t.Fatalf("after Update: %+v", got)
		}
	})
}
