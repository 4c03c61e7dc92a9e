package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// testClock is a settable clock for the store.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// fixture is a store on a fresh database with one user and a controllable clock.
type fixture struct {
	db     *database.DB
	store  *Store
	clock  *testClock
	hasher *secret.Hasher
	user   directory.User
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	u, err := directory.NewStore(db).CreateUser(ctx, directory.User{Username: "alice-" + secret.Token(6), Email: "alice@example.test"})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	hasher := secret.FromBytes([]byte("session-conformance-secret-0123456789")).Hasher("session")
	s := NewStore(db, hasher)
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	s.now = clock.now
	return &fixture{db: db, store: s, clock: clock, hasher: hasher, user: u}
}

func (f *fixture) newSession() Session {
	return Session{
		UserID: f.user.ID, OrgID: f.user.OrgID, Method: "passkey", AMR: []string{"hwk", "user"},
		ACR: "urn:portcullis:acr:mfa", AuthTime: f.clock.t.Add(-5 * time.Second),
		ExpiresAt: f.clock.t.Add(30 * 24 * time.Hour), UserAgent: "Conformance/1.0", IP: "192.0.2.7",
	}
}

// lastSeen reads last_seen_at straight from the table.
func (f *fixture) lastSeen(t *testing.T, id string) time.Time {
	t.Helper()
	var r struct{ LastSeenAt time.Time }
	res := f.db.Raw(`SELECT last_seen_at FROM auth_sessions WHERE id = ?`, id).Scan(&r)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("read last_seen_at: %v (rows %d)", res.Error, res.RowsAffected)
	}
	return r.LastSeenAt.UTC()
}

// sameInstant compares times at the microsecond precision PostgreSQL keeps.
func sameInstant(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
}

func TestSessionStoreConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("create stores only a keyed hash of the token", func(t *testing.T) {
			f := newFixture(t, db)
			token, sess, err := f.store.Create(ctx, f.newSession())
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if len(token) < 43 {
				t.Fatalf("token %q is shorter than 32 random bytes", token)
			}
			if sess.ID == "" || sess.ID == token {
				t.Fatalf("session id %q must be set and differ from the cookie token", sess.ID)
			}
			var hash string
			if err := db.Raw(`SELECT token_hash FROM auth_sessions WHERE id = ?`, sess.ID).Scan(&hash).Error; err != nil {
				t.Fatal(err)
			}
			if hash == "" || hash == token {
				t.Fatalf("token_hash = %q, want a hash different from the token", hash)
			}
			if strings.Contains(hash, token) {
				t.Fatalf("token_hash %q contains the token", hash)
			}
			var row map[string]any
			if err := db.Raw(`SELECT * FROM auth_sessions WHERE id = ?`, sess.ID).Scan(&row).Error; err != nil {
				t.Fatal(err)
			}
			if len(row) == 0 {
				t.Fatal("session row not found")
			}
			for col, v := range row {
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				if strings.Contains(s, token) {
					t.Errorf("column %s holds the cookie token", col)
				}
			}
			// The hash is keyed: another secret's store cannot find the session.
			other := NewStore(db, secret.FromBytes([]byte("a-different-secret-0123456789abcdef")).Hasher("session"))
			if _, err := other.Lookup(ctx, token, time.Hour); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Lookup with another secret: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("lookup and get round-trip every field", func(t *testing.T) {
			f := newFixture(t, db)
			in := f.newSession()
			token, created, err := f.store.Create(ctx, in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			got, err := f.store.Lookup(ctx, token, time.Hour)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			byID, err := f.store.Get(ctx, created.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			for name, s := range map[string]Session{"Lookup": got, "Get": byID} {
				if s.ID != created.ID || s.UserID != in.UserID || s.OrgID != in.OrgID || s.Method != in.Method ||
					s.ACR != in.ACR || s.UserAgent != in.UserAgent || s.IP != in.IP {
					t.Errorf("%s = %+v, want the fields of %+v", name, s, in)
				}
				if !reflect.DeepEqual(s.AMR, in.AMR) {
					t.Errorf("%s AMR = %v, want %v", name, s.AMR, in.AMR)
				}
				if !sameInstant(s.AuthTime, in.AuthTime) || !sameInstant(s.ExpiresAt, in.ExpiresAt) ||
					!sameInstant(s.CreatedAt, f.clock.t) || !sameInstant(s.LastSeenAt, f.clock.t) {
					t.Errorf("%s times auth=%v exp=%v created=%v seen=%v, want auth=%v exp=%v created=seen=%v",
						name, s.AuthTime, s.ExpiresAt, s.CreatedAt, s.LastSeenAt, in.AuthTime, in.ExpiresAt, f.clock.t)
				}
				if s.ExpiresAt.Location() != time.UTC {
					t.Errorf("%s ExpiresAt location = %v, want UTC", name, s.ExpiresAt.Location())
				}
			}
		})

		t.Run("unknown token and unknown id are not found", func(t *testing.T) {
			f := newFixture(t, db)
			if _, err := f.store.Lookup(ctx, secret.Token(32), time.Hour); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Lookup unknown: err = %v, want ErrNotFound", err)
			}
			if _, err := f.store.Get(ctx, "no-such-session"); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("Get unknown: err = %v, want ErrNotFound", err)
			}
			if err := f.store.End(ctx, "no-such-session"); !errors.Is(err, database.ErrNotFound) {
				t.Fatalf("End unknown: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("idle expiry", func(t *testing.T) {
			const idle = 10 * time.Minute
			tests := []struct {
				name  string
				after time.Duration
				found bool
			}{
				{"just seen", 0, true},
				{"one second before idle", idle - time.Second, true},
				{"exactly idle", idle, false},
				{"long idle", 3 * idle, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f := newFixture(t, db)
					start := f.clock.t
					token, _, err := f.store.Create(ctx, f.newSession())
					if err != nil {
						t.Fatal(err)
					}
					f.clock.t = start.Add(tc.after)
					_, err = f.store.Lookup(ctx, token, idle)
					if tc.found && err != nil {
						t.Fatalf("Lookup after %v: %v, want found", tc.after, err)
					}
					if !tc.found && !errors.Is(err, database.ErrNotFound) {
						t.Fatalf("Lookup after %v: err = %v, want ErrNotFound", tc.after, err)
					}
				})
			}
		})

		t.Run("activity extends the idle window", func(t *testing.T) {
			const idle = 10 * time.Minute
			f := newFixture(t, db)
			start := f.clock.t
			token, _, err := f.store.Create(ctx, f.newSession())
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				f.clock.t = start.Add(time.Duration(i) * (idle - time.Minute))
				if _, err := f.store.Lookup(ctx, token, idle); err != nil {
					t.Fatalf("visit %d at %v: %v", i, f.clock.t.Sub(start), err)
				}
			}
		})

		t.Run("absolute expiry", func(t *testing.T) {
			tests := []struct {
				name  string
				after time.Duration
				found bool
			}{
				{"before absolute end", time.Hour - time.Second, true},
				{"at absolute end", time.Hour, false},
				{"after absolute end", time.Hour + time.Second, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f := newFixture(t, db)
					start := f.clock.t
					in := f.newSession()
					in.ExpiresAt = start.Add(time.Hour)
					token, sess, err := f.store.Create(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					// Keep the session busy so only the absolute end can stop it.
					if tc.after > time.Minute {
						if err := db.Exec(`UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?`,
							start.Add(tc.after-time.Minute), sess.ID).Error; err != nil {
							t.Fatal(err)
						}
					}
					f.clock.t = start.Add(tc.after)
					_, err = f.store.Lookup(ctx, token, 24*time.Hour)
					if tc.found && err != nil {
						t.Fatalf("Lookup: %v, want found", err)
					}
					if !tc.found && !errors.Is(err, database.ErrNotFound) {
						t.Fatalf("Lookup: err = %v, want ErrNotFound", err)
					}
					list, err := f.store.ListForUser(ctx, f.user.ID)
					if err != nil {
						t.Fatal(err)
					}
					if tc.found != (len(list) == 1) {
						t.Fatalf("ListForUser has %d sessions, want found=%v", len(list), tc.found)
					}
				})
			}
		})

		t.Run("ended sessions are not found", func(t *testing.T) {
			f := newFixture(t, db)
			token, sess, err := f.store.Create(ctx, f.newSession())
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.End(ctx, sess.ID); err != nil {
				t.Fatalf("End: %v", err)
			}
			if _, err := f.store.Lookup(ctx, token, time.Hour); !errors.Is(err, database.ErrNotFound) {
				t.Errorf("Lookup ended: err = %v, want ErrNotFound", err)
			}
			if _, err := f.store.Get(ctx, sess.ID); !errors.Is(err, database.ErrNotFound) {
				t.Errorf("Get ended: err = %v, want ErrNotFound", err)
			}
			if err := f.store.End(ctx, sess.ID); !errors.Is(err, database.ErrNotFound) {
				t.Errorf("End twice: err = %v, want ErrNotFound", err)
			}
			list, err := f.store.ListForUser(ctx, f.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 0 {
				t.Errorf("ListForUser after End = %d sessions, want 0", len(list))
			}
		})

		t.Run("last_seen is written at most once a minute", func(t *testing.T) {
			f := newFixture(t, db)
			start := f.clock.t
			token, sess, err := f.store.Create(ctx, f.newSession())
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name     string
				at       time.Duration
				wantSeen time.Duration
			}{
				{"30s later: not written", 30 * time.Second, 0},
				{"60s later: not written", 60 * time.Second, 0},
				{"61s later: written", 61 * time.Second, 61 * time.Second},
				{"90s later: not written again", 90 * time.Second, 61 * time.Second},
				{"3m later: written", 3 * time.Minute, 3 * time.Minute},
			}
			for _, st := range steps {
				f.clock.t = start.Add(st.at)
				got, err := f.store.Lookup(ctx, token, time.Hour)
				if err != nil {
					t.Fatalf("%s: Lookup: %v", st.name, err)
				}
				want := start.Add(st.wantSeen)
				if seen := f.lastSeen(t, sess.ID); !sameInstant(seen, want) {
					t.Errorf("%s: stored last_seen_at = %v, want %v", st.name, seen, want)
				}
				if !sameInstant(got.LastSeenAt, want) {
					t.Errorf("%s: returned LastSeenAt = %v, want %v", st.name, got.LastSeenAt, want)
				}
			}
		})

		t.Run("list for user: live only, newest first, other users excluded", func(t *testing.T) {
			f := newFixture(t, db)
			bob, err := directory.NewStore(db).CreateUser(ctx, directory.User{Username: "bob-" + secret.Token(6)})
			if err != nil {
				t.Fatal(err)
			}
			start := f.clock.t
			var ids []string
			for i := 0; i < 3; i++ {
				f.clock.t = start.Add(time.Duration(i) * time.Second)
				_, s, err := f.store.Create(ctx, f.newSession())
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.ID)
			}
			bobSess := f.newSession()
			bobSess.UserID = bob.ID
			if _, _, err := f.store.Create(ctx, bobSess); err != nil {
				t.Fatal(err)
			}
			if err := f.store.End(ctx, ids[1]); err != nil {
				t.Fatal(err)
			}
			list, err := f.store.ListForUser(ctx, f.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range list {
				got = append(got, s.ID)
				if s.UserID != f.user.ID {
					t.Errorf("ListForUser returned %s of user %s", s.ID, s.UserID)
				}
			}
			if want := []string{ids[2], ids[0]}; !reflect.DeepEqual(got, want) {
				t.Fatalf("ListForUser = %v, want %v (newest first, ended excluded)", got, want)
			}
		})

		t.Run("long user agent is truncated", func(t *testing.T) {
			f := newFixture(t, db)
			in := f.newSession()
			in.UserAgent = strings.Repeat("u", 2000)
			_, sess, err := f.store.Create(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.store.Get(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.UserAgent) != 512 {
				t.Fatalf("stored user agent length = %d, want 512", len(got.UserAgent))
			}
		})
	})
}

// cookieNamed returns the Set-Cookie of a response with that name.
func cookieNamed(t *testing.T, res *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %q in %v", name, res.Header.Values("Set-Cookie"))
	return nil
}

func TestSessionManagerConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		tests := []struct {
			name       string
			secure     bool
			cookieName string
		}{
			{"http", false, "portcullis_session"},
			{"https", true, "__Host-portcullis_session"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, db)
				f.store.now = func() time.Time { return time.Now().UTC() }
				m := &Manager{Store: f.store, Secure: tc.secure, Idle: time.Hour, Absolute: 48 * time.Hour}
				if got := m.CookieName(); got != tc.cookieName {
					t.Fatalf("CookieName = %q, want %q", got, tc.cookieName)
				}

				// Start.
				req := httptest.NewRequest(http.MethodPost, "https://id.example.test/login", nil)
				req.Header.Set("User-Agent", "ManagerTest/2.0")
				req.RemoteAddr = "198.51.100.9:41000"
				rec := httptest.NewRecorder()
				before := time.Now().UTC()
				started, err := m.Start(req.Context(), rec, req, Session{UserID: f.user.ID, OrgID: f.user.OrgID,
					Method: "password", AMR: []string{"pwd"}})
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				res := rec.Result()
				c := cookieNamed(t, res, tc.cookieName)
				if !c.HttpOnly {
					t.Error("session cookie is not HttpOnly")
				}
				if c.SameSite != http.SameSiteLaxMode {
					t.Errorf("SameSite = %v, want Lax", c.SameSite)
				}
				if c.Path != "/" {
					t.Errorf("Path = %q, want /", c.Path)
				}
				if c.Domain != "" {
					t.Errorf("Domain = %q, want none (host-only)", c.Domain)
				}
				if c.Secure != tc.secure {
					t.Errorf("Secure = %v, want %v", c.Secure, tc.secure)
				}
				if c.Value == "" {
					t.Fatal("empty session cookie")
				}
				if c.Value == started.ID {
					t.Error("the cookie carries the public session id instead of a secret token")
				}
				wantExp := started.AuthTime.Add(48 * time.Hour)
				if !sameInstant(started.ExpiresAt, wantExp) {
					t.Errorf("ExpiresAt = %v, want AuthTime+Absolute = %v", started.ExpiresAt, wantExp)
				}
				if started.AuthTime.Before(before.Add(-time.Second)) {
					t.Errorf("AuthTime %v is not now", started.AuthTime)
				}
				if d := c.Expires.Sub(started.ExpiresAt); d > time.Second || d < -time.Second {
					t.Errorf("cookie Expires = %v, want %v", c.Expires, started.ExpiresAt)
				}
				stored, err := f.store.Get(req.Context(), started.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.UserAgent != "ManagerTest/2.0" || stored.IP != "198.51.100.9" {
					t.Errorf("stored UA/IP = %q/%q, want ManagerTest/2.0 and 198.51.100.9", stored.UserAgent, stored.IP)
				}

				// Current.
				cur := httptest.NewRequest(http.MethodGet, "https://id.example.test/", nil)
				cur.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				got, err := m.Current(cur)
				if err != nil {
					t.Fatalf("Current: %v", err)
				}
				if got.ID != started.ID || got.UserID != f.user.ID {
					t.Fatalf("Current = %+v, want session %s of %s", got, started.ID, f.user.ID)
				}
				currentCases := []struct {
					name   string
					cookie *http.Cookie
				}{
					{"no cookie", nil},
					{"empty cookie", &http.Cookie{Name: c.Name, Value: ""}},
					{"unknown token", &http.Cookie{Name: c.Name, Value: secret.Token(32)}},
					{"oversized token", &http.Cookie{Name: c.Name, Value: strings.Repeat("a", 101)}},
					{"session id as cookie", &http.Cookie{Name: c.Name, Value: started.ID}},
					{"other cookie name", &http.Cookie{Name: "x" + c.Name, Value: c.Value}},
				}
				for _, cc := range currentCases {
					r := httptest.NewRequest(http.MethodGet, "https://id.example.test/", nil)
					if cc.cookie != nil {
						r.AddCookie(cc.cookie)
					}
					if _, err := m.Current(r); !errors.Is(err, database.ErrNotFound) {
						t.Errorf("Current with %s: err = %v, want ErrNotFound", cc.name, err)
					}
				}

				// End.
				endReq := httptest.NewRequest(http.MethodPost, "https://id.example.test/logout", nil)
				endReq.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				endRec := httptest.NewRecorder()
				ended, err := m.End(endRec, endReq)
				if err != nil {
					t.Fatalf("End: %v", err)
				}
				if ended.ID != started.ID {
					t.Errorf("End returned %s, want %s", ended.ID, started.ID)
				}
				cleared := cookieNamed(t, endRec.Result(), tc.cookieName)
				if cleared.Value != "" || cleared.MaxAge >= 0 {
					t.Errorf("End cookie = %+v, want an emptied, expired cookie", cleared)
				}
				if !cleared.HttpOnly || cleared.Path != "/" || cleared.Secure != tc.secure {
					t.Errorf("End cookie attributes = %+v", cleared)
				}
				if _, err := m.Current(cur); !errors.Is(err, database.ErrNotFound) {
					t.Errorf("Current after End: err = %v, want ErrNotFound", err)
				}
				// Ending again clears the cookie and reports nothing to end.
				againRec := httptest.NewRecorder()
				if _, err := m.End(againRec, endReq); !errors.Is(err, database.ErrNotFound) {
					t.Errorf("End again: err = %v, want ErrNotFound", err)
				}
				cookieNamed(t, againRec.Result(), tc.cookieName)
			})
		}
	})
}
