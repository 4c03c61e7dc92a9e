package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestSessionLifetimesConformance stores and reads an organisation's session lifetimes on SQLite
// and PostgreSQL, and refuses lifetimes out of bounds, naming the field.
func TestSessionLifetimesConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := directory.NewStore(db)
		o, err := s.CreateOrg(ctx, "lifeco", "Life Co")
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateOrg(ctx, "otherco", "Other Co")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetOrg(ctx, o.ID); err != nil || !got.Sessions.IsZero() {
			t.Fatalf("new organisation: %+v, %v", got.Sessions, err)
		}
		if idle, abs, err := s.SessionLifetimesFor(ctx, o.ID); err != nil || idle != 0 || abs != 0 {
			t.Fatalf("SessionLifetimesFor new organisation = %v, %v, %v; want defaults (0, 0)", idle, abs, err)
		}

		want := directory.SessionLifetimes{Idle: 10 * time.Minute, Absolute: 7 * 24 * time.Hour}
		if err := s.SetSessionLifetimes(ctx, o.ID, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetOrgBySlug(ctx, "lifeco")
		if err != nil || got.Sessions != want {
			t.Fatalf("after set: %+v, %v; want %+v", got.Sessions, err, want)
		}
		if idle, abs, err := s.SessionLifetimesFor(ctx, o.ID); err != nil || idle != want.Idle || abs != want.Absolute {
			t.Fatalf("SessionLifetimesFor = %v, %v, %v; want %v, %v", idle, abs, err, want.Idle, want.Absolute)
		}
		list, err := s.ListOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == o.ID && l.Sessions != want {
				t.Fatalf("ListOrgs: %+v", l.Sessions)
			}
			if l.ID == other.ID && !l.Sessions.IsZero() {
				t.Fatalf("another organisation's lifetimes changed: %+v", l.Sessions)
			}
		}
		// Only the idle one set: the absolute is the server's default.
		if err := s.SetSessionLifetimes(ctx, o.ID, directory.SessionLifetimes{Idle: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetOrg(ctx, o.ID); got.Sessions != (directory.SessionLifetimes{Idle: 24 * time.Hour}) {
			t.Fatalf("idle only: %+v", got.Sessions)
		}

		for _, tc := range []struct {
			l     directory.SessionLifetimes
			field string
		}{
			{directory.SessionLifetimes{Idle: 4 * time.Minute}, "idle"},
			{directory.SessionLifetimes{Idle: 25 * time.Hour}, "idle"},
			{directory.SessionLifetimes{Idle: -time.Hour}, "idle"},
			{directory.SessionLifetimes{Idle: 10*time.Minute + time.Millisecond}, "idle"},
			{directory.SessionLifetimes{Absolute: 59 * time.Minute}, "absolute"},
			{directory.SessionLifetimes{Absolute: 91 * 24 * time.Hour}, "absolute"},
			{directory.SessionLifetimes{Idle: 8 * time.Hour, Absolute: 2 * time.Hour}, "idle"},
		} {
			err := s.SetSessionLifetimes(ctx, o.ID, tc.l)
			var fe *directory.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("SetSessionLifetimes(%+v) = %v, want a refusal naming %s", tc.l, err, tc.field)
			}
		}
		// The bounds themselves are accepted.
		for _, l := range []directory.SessionLifetimes{
			{Idle: 5 * time.Minute, Absolute: time.Hour},
			{Idle: 24 * time.Hour, Absolute: 90 * 24 * time.Hour},
			{Idle: time.Hour, Absolute: time.Hour},
		} {
			if err := s.SetSessionLifetimes(ctx, o.ID, l); err != nil {
				t.Errorf("SetSessionLifetimes(%+v) = %v, want accepted", l, err)
			}
		}
		if err := s.SetSessionLifetimes(ctx, "no-such-org", want); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("unknown organisation: %v", err)
		}
	})
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", 24 * time.Hour: "24h", 2160 * time.Hour: "2160h",
		90 * time.Minute: "1h30m", 10 * time.Second: "10s", time.Hour + time.Second: "1h0m1s"} {
		if got := directory.ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
