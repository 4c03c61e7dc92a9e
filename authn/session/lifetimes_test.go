package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestOrganisationLifetimes starts sessions for two organisations, one with its own lifetimes
// (idle 10 minutes, absolute 2 hours) and one with the server's defaults, and checks that each
// session ends when its own organisation says, on SQLite and PostgreSQL.
func TestOrganisationLifetimes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		dir := directory.NewStore(db)
		f := newFixture(t, db)
		short, err := dir.CreateOrg(ctx, "short", "Short sessions")
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.SetSessionLifetimes(ctx, short.ID, directory.SessionLifetimes{Idle: 10 * time.Minute, Absolute: 2 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		other, err := dir.CreateOrg(ctx, "other", "Default sessions")
		if err != nil {
			t.Fatal(err)
		}
		m := &Manager{Store: f.store, Idle: 8 * time.Hour, Absolute: 30 * 24 * time.Hour, Lifetimes: dir.SessionLifetimesFor}

		start := func(orgID string) (string, Session) {
			t.Helper()
			u, err := dir.CreateUser(ctx, directory.User{OrgID: orgID, Username: "u-" + secret.Token(6)})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "https://id.example.test/login", nil)
			rec := httptest.NewRecorder()
			sess, err := m.Start(ctx, rec, req, Session{UserID: u.ID, OrgID: orgID, Method: "passkey", AuthTime: f.clock.t})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			return cookieNamed(t, rec.Result(), m.CookieName()).Value, sess
		}
		current := func(token string) error {
			req := httptest.NewRequest(http.MethodGet, "https://id.example.test/", nil)
			req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: token})
			_, err := m.Current(req)
			return err
		}

		shortTok, shortSess := start(short.ID)
		otherTok, otherSess := start(other.ID)
		if shortSess.Idle != 10*time.Minute || !sameInstant(shortSess.ExpiresAt, f.clock.t.Add(2*time.Hour)) {
			t.Fatalf("short session: idle %v, expires %v; want 10m and %v", shortSess.Idle, shortSess.ExpiresAt, f.clock.t.Add(2*time.Hour))
		}
		if otherSess.Idle != 0 || !sameInstant(otherSess.ExpiresAt, f.clock.t.Add(30*24*time.Hour)) {
			t.Fatalf("default session: idle %v, expires %v; want 0 (the Manager's) and 30 days", otherSess.Idle, otherSess.ExpiresAt)
		}
		// The idle limit is stored with the session.
		var stored struct{ IdleSeconds int64 }
		if err := db.Raw(`SELECT idle_seconds FROM auth_sessions WHERE id = ?`, shortSess.ID).Scan(&stored).Error; err != nil || stored.IdleSeconds != 600 {
			t.Fatalf("stored idle_seconds = %d, %v; want 600", stored.IdleSeconds, err)
		}
		if got, err := f.store.Get(ctx, shortSess.ID); err != nil || got.Idle != 10*time.Minute {
			t.Fatalf("Get: idle %v, %v; want 10m", got.Idle, err)
		}

		// 9 minutes unused: both live; the visit restarts the short session's idle clock.
		f.clock.t = f.clock.t.Add(9 * time.Minute)
		if err := current(shortTok); err != nil {
			t.Fatalf("short session after 9 idle minutes: %v", err)
		}
		// Another 9 minutes unused (18 since the start, 9 since the visit): still live.
		f.clock.t = f.clock.t.Add(9 * time.Minute)
		if err := current(shortTok); err != nil {
			t.Fatalf("short session 9 minutes after a visit: %v", err)
		}
		// 10 minutes unused: the short session has ended; the other organisation's has not.
		f.clock.t = f.clock.t.Add(10 * time.Minute)
		if err := current(shortTok); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("short session after 10 idle minutes: %v, want ErrNotFound", err)
		}
		if err := current(otherTok); err != nil {
			t.Fatalf("default session after 28 idle minutes: %v", err)
		}

		// Absolute: a short session kept busy still ends 2 hours after its sign-in.
		busyTok, busy := start(short.ID)
		for now := f.clock.t; f.clock.t.Before(busy.ExpiresAt.Add(-5 * time.Minute)); {
			f.clock.t = f.clock.t.Add(5 * time.Minute)
			if err := current(busyTok); err != nil {
				t.Fatalf("busy session %v after its start: %v", f.clock.t.Sub(now), err)
			}
		}
		f.clock.t = busy.ExpiresAt
		if err := current(busyTok); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("busy session at its absolute end: %v, want ErrNotFound", err)
		}
		// The other organisation's session, in use within 8 hours, lives on.
		if err := current(otherTok); err != nil {
			t.Fatalf("default session after %v: %v", f.clock.t.Sub(otherSess.AuthTime), err)
		}

		// A change of the organisation's lifetimes applies to sessions started afterwards.
		if err := dir.SetSessionLifetimes(ctx, short.ID, directory.SessionLifetimes{}); err != nil {
			t.Fatal(err)
		}
		_, after := start(short.ID)
		if after.Idle != 0 || !sameInstant(after.ExpiresAt, f.clock.t.Add(30*24*time.Hour)) {
			t.Fatalf("after reset to defaults: idle %v, expires %v", after.Idle, after.ExpiresAt)
		}
	})
}

// TestLifetimesError refuses to start a session when the organisation's lifetimes cannot be read.
func TestLifetimesError(t *testing.T) {
	db := testdb.SQLite(t)
	f := newFixture(t, db)
	boom := errors.New("database unavailable")
	m := &Manager{Store: f.store, Lifetimes: func(context.Context, string) (time.Duration, time.Duration, error) { return 0, 0, boom }}
	req := httptest.NewRequest(http.MethodPost, "https://id.example.test/login", nil)
	rec := httptest.NewRecorder()
	if _, err := m.Start(req.Context(), rec, req, Session{UserID: f.user.ID, OrgID: f.user.OrgID, Method: "passkey"}); !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want the Lifetimes error", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Fatal("a cookie was set for a session that did not start")
	}
}
