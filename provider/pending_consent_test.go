package provider_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider"
)

// The consent step's answer is kept on the parked request, with who gave it, until the request
// is answered; an expired or finished request takes no answer.
func TestPendingConsentAnswer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := &provider.PendingStore{DB: db}
		now := time.Now().UTC().Truncate(time.Second)
		p, err := s.Create(ctx, "app", url.Values{"scope": {"openid"}}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, p.ID, now); got.Consent != "" || got.ConsentUserID != "" {
			t.Fatalf("new request already answered: %+v", got)
		}
		for _, tc := range []struct {
			allowed bool
			want    string
		}{{true, provider.ConsentAllowed}, {false, provider.ConsentDenied}} {
			if err := s.SetConsent(ctx, p.ID, "ann", tc.allowed, now); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(ctx, p.ID, now); err != nil || got.Consent != tc.want || got.ConsentUserID != "ann" {
				t.Fatalf("after SetConsent(%t): %+v, %v", tc.allowed, got, err)
			}
		}
		if err := s.SetConsent(ctx, p.ID, "ann", true, now.Add(provider.PendingLifespan)); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("answer to an expired request: %v", err)
		}
		if err := s.Delete(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConsent(ctx, p.ID, "ann", true, now); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("answer to a finished request: %v", err)
		}
	})
}
