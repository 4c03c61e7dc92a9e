package main

// Issue 6: an organisation's session lifetimes, set through the admin API, the admin pages and
// the command line, and applied to the sessions its people start; and a user's display name and
// email edited on their admin page.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
)

// passwordSignIn signs username of org in with a password through client c's authorize request
// and returns the session's row id.
func passwordSignIn(t *testing.T, s *testServer, c registered, username, pw string) (*browser, *rp) {
	t.Helper()
	r := newRP(t, s, c)
	b := newBrowser(t)
	_, _, _, resp := r.authorize(b)
	login := location(t, resp)
	csrf := passwordPage(t, b, s.URL+login.String())
	if status, _ := postPassword(t, b, s.URL+"/login/password?"+login.RawQuery, csrf, username, pw); status != http.StatusOK {
		t.Fatalf("password sign-in of %s: %d", username, status)
	}
	return b, r
}

// signedIn reports whether b's session still lets an authorize request through to the app.
func signedIn(t *testing.T, b *browser, r *rp) bool {
	t.Helper()
	_, _, _, resp := r.authorize(b)
	return strings.HasPrefix(location(t, resp).String(), callback)
}

type lifetimeRow struct {
	ID                    string
	IdleSeconds           int64
	AuthTime, ExpiresAt   time.Time
	LastSeenAt, CreatedAt time.Time
}

func latestSession(t *testing.T, s *testServer, userID string) lifetimeRow {
	t.Helper()
	var r lifetimeRow
	res := s.env.db.Raw(`SELECT id, idle_seconds, auth_time, expires_at, last_seen_at, created_at FROM auth_sessions
		WHERE user_id = ? AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1`, userID).Scan(&r)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("session of %s: %v (%d rows)", userID, res.Error, res.RowsAffected)
	}
	return r
}

// TestSessionLifetimesAPIAndSignIn: lifetimes set through the API are validated naming the
// field, audited, and apply to the organisation's next sign-in (idle and absolute) but not to
// another organisation's.
func TestSessionLifetimesAPIAndSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		s.createOrg(t, "cms", "off")
		s.createOrg(t, "globex", "off")
		rw, _ := s.adminToken(t, "cms", "admin:read", "admin:write")
		globex, _ := s.adminToken(t, "globex", "admin:read", "admin:write")

		if got := s.api(t, rw, "GET", "/session-lifetimes", nil).want(t, http.StatusOK); got.str("idle") != "default" || got.str("absolute") != "default" {
			t.Fatalf("default lifetimes: %s", got.raw)
		}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"idle": "4m"}, "idle"},
			{map[string]any{"idle": "25h"}, "idle"},
			{map[string]any{"idle": "soon"}, "idle"},
			{map[string]any{"absolute": "30m"}, "absolute"},
			{map[string]any{"absolute": "91d"}, "absolute"},
			{map[string]any{"idle": "8h", "absolute": "2h"}, "idle"},
		} {
			s.api(t, rw, "PUT", "/session-lifetimes", c.body).want(t, http.StatusBadRequest, "invalid_field", c.field)
		}
		s.api(t, rw, "PUT", "/session-lifetimes", map[string]any{"idle": 600}).want(t, http.StatusBadRequest)
		got := s.api(t, rw, "PUT", "/session-lifetimes", map[string]any{"idle": "10m", "absolute": "2h"}).want(t, http.StatusOK)
		if got.str("idle") != "10m" || got.str("absolute") != "2h" {
			t.Fatalf("PUT /session-lifetimes: %s", got.raw)
		}
		// A field left out keeps its value.
		if got := s.api(t, globex, "PUT", "/session-lifetimes", map[string]any{"absolute": "30d"}).want(t, http.StatusOK); got.str("idle") != "default" || got.str("absolute") != "720h" {
			t.Fatalf("globex: %s", got.raw)
		}
		if got := s.api(t, rw, "GET", "/session-lifetimes", nil).want(t, http.StatusOK); got.str("idle") != "10m" || got.str("absolute") != "2h" {
			t.Fatalf("globex changed cms's lifetimes: %s", got.raw)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.session_lifetimes_changed' AND outcome = 'success'`); n != 2 {
			t.Fatalf("%d lifetime changes audited, want 2", n)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.session_lifetimes_changed' AND outcome = 'failure'`); n < 6 {
			t.Fatalf("%d refused lifetime changes audited, want at least 6", n)
		}

		// A sign-in to cms gets cms's lifetimes; one to globex keeps the server's idle lifetime.
		const pw = "another long password"
		for _, org := range []string{"cms", "globex"} {
			if _, err := s.importCSV(t, org, "username,password_hash\ncarla,"+bcryptHash(t, pw)+"\n"); err != nil {
				t.Fatal(err)
			}
		}
		cmsOrg, _ := directory.NewStore(s.env.db).GetOrgBySlug(ctx, "cms")
		globexOrg, _ := directory.NewStore(s.env.db).GetOrgBySlug(ctx, "globex")
		carla, gcarla := s.user(t, cmsOrg.ID, "carla"), s.user(t, globexOrg.ID, "carla")
		b, r := passwordSignIn(t, s, s.createClient("--name", "CMS", "--org", "cms", "--redirect-uri", callback), "carla", pw)
		gb, gr := passwordSignIn(t, s, s.createClient("--name", "Globex", "--org", "globex", "--redirect-uri", callback), "carla", pw)
		cs, gs := latestSession(t, s, carla.ID), latestSession(t, s, gcarla.ID)
		if cs.IdleSeconds != 600 || cs.ExpiresAt.Sub(cs.AuthTime) != 2*time.Hour {
			t.Fatalf("cms session: idle %ds, absolute %v; want 600s and 2h", cs.IdleSeconds, cs.ExpiresAt.Sub(cs.AuthTime))
		}
		if gs.IdleSeconds != 0 || gs.ExpiresAt.Sub(gs.AuthTime) != 30*24*time.Hour {
			t.Fatalf("globex session: idle %ds, absolute %v; want 0 (the server's) and 30 days", gs.IdleSeconds, gs.ExpiresAt.Sub(gs.AuthTime))
		}
		if !signedIn(t, b, r) || !signedIn(t, gb, gr) {
			t.Fatal("fresh sessions refused")
		}
		// Eleven minutes without use: cms's session has ended, globex's (8 hours idle) has not.
		idle := time.Now().Add(-11 * time.Minute).UTC()
		if err := s.env.db.Exec(`UPDATE auth_sessions SET last_seen_at = ? WHERE id IN (?, ?)`, idle, cs.ID, gs.ID).Error; err != nil {
			t.Fatal(err)
		}
		if signedIn(t, b, r) {
			t.Fatal("the cms session outlived its 10 minute idle lifetime")
		}
		if !signedIn(t, gb, gr) {
			t.Fatal("the globex session ended after 11 idle minutes")
		}
		// Absolute: a cms session in use, but signed in longer ago than 2 hours, has ended.
		b, r = passwordSignIn(t, s, s.createClient("--name", "CMS 2", "--org", "cms", "--redirect-uri", callback), "carla", pw)
		cs = latestSession(t, s, carla.ID)
		if err := s.env.db.Exec(`UPDATE auth_sessions SET expires_at = ? WHERE id = ?`, time.Now().Add(-time.Second).UTC(), cs.ID).Error; err != nil {
			t.Fatal(err)
		}
		if signedIn(t, b, r) {
			t.Fatal("the cms session outlived its absolute end")
		}
	})
}

// TestSessionLifetimesAdminPagesAndCLI: the Policy page's form saves the lifetimes, refusing
// invalid values with the field named; the command line sets, resets and shows them.
func TestSessionLifetimesAdminPagesAndCLI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		f := newAPFixture(t, s)
		admin := newBrowser(t)
		s.apSignIn(t, admin, f.admin, "passkey", time.Now())
		csrf := apCSRF(t, admin, s.URL+"/o/acme/admin/policy")
		post := func(form url.Values) (*http.Response, string) {
			form.Set("csrf_token", csrf)
			return admin.postForm(s.URL+"/o/acme/admin/policy/session-lifetimes", form)
		}
		for _, c := range []struct {
			form  url.Values
			label string
		}{
			{url.Values{"session_idle": {"2m"}}, "Idle lifetime:"},
			{url.Values{"session_idle": {"forever"}}, "Idle lifetime:"},
			{url.Values{"session_absolute": {"100d"}}, "Absolute lifetime:"},
			{url.Values{"session_idle": {"12h"}, "session_absolute": {"6h"}}, "Idle lifetime:"},
		} {
			resp, body := post(c.form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.label) {
				t.Fatalf("invalid lifetimes %v: %d, want 400 naming %s", c.form, resp.StatusCode, c.label)
			}
			if v := c.form.Get("session_idle"); v != "" && !strings.Contains(body, `value="`+v+`"`) {
				t.Fatalf("the refused form lost what was typed (%s)", v)
			}
		}
		if resp, _ := post(url.Values{"session_idle": {"30m"}, "session_absolute": {"12h"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save lifetimes: %d", resp.StatusCode)
		}
		_, page := admin.get(s.URL + "/o/acme/admin/policy?done=session-lifetimes")
		if !strings.Contains(page, `id="session_idle" name="session_idle" placeholder="default" value="30m"`) ||
			!strings.Contains(page, `value="12h"`) || !strings.Contains(page, "session lifetimes are saved") {
			t.Fatal("the Policy page does not show the saved lifetimes")
		}
		dir := directory.NewStore(s.env.db)
		o, err := dir.GetOrgBySlug(ctx, "acme")
		if err != nil || o.Sessions != (directory.SessionLifetimes{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}) {
			t.Fatalf("stored: %+v %v", o.Sessions, err)
		}
		if other, _ := dir.GetOrgBySlug(ctx, "other"); !other.Sessions.IsZero() {
			t.Fatalf("another organisation changed: %+v", other.Sessions)
		}
		// "default" resets.
		if resp, _ := post(url.Values{"session_idle": {"default"}, "session_absolute": {"12h"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset idle: %d", resp.StatusCode)
		}
		if o, _ := dir.GetOrgBySlug(ctx, "acme"); o.Sessions != (directory.SessionLifetimes{Absolute: 12 * time.Hour}) {
			t.Fatalf("after reset: %+v", o.Sessions)
		}

		// The command line.
		for _, c := range []struct{ args []string }{
			{[]string{"--idle", "1m"}}, {[]string{"--idle", "never"}}, {[]string{"--absolute", "120d"}},
		} {
			_, err := s.cli(append([]string{"orgs", "set-session-lifetimes", "other"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.args[0]) {
				t.Fatalf("set-session-lifetimes %v: %v, want a refusal naming %s", c.args, err, c.args[0])
			}
		}
		if _, err := s.cli("orgs", "set-session-lifetimes", "other"); err == nil {
			t.Fatal("set-session-lifetimes without flags succeeded")
		}
		out, err := s.cli("orgs", "set-session-lifetimes", "other", "--idle", "4h", "--absolute", "7d")
		if err != nil || !strings.Contains(out, "4h unused, 168h at most") {
			t.Fatalf("set-session-lifetimes: %q %v", out, err)
		}
		out, err = s.cli("orgs", "show", "other")
		if err != nil || !strings.Contains(out, "sessions:           end after 4h unused, 168h at most") {
			t.Fatalf("orgs show: %q %v", out, err)
		}
		if _, err := s.cli("orgs", "set-session-lifetimes", "other", "--absolute", "default"); err != nil {
			t.Fatal(err)
		}
		out, err = s.cli("orgs", "show", "--output", "json", "other")
		if err != nil || !strings.Contains(out, `"session_lifetimes":{"absolute":"default","idle":"4h"}`) {
			t.Fatalf("orgs show json: %q %v", out, err)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.session_lifetimes_changed' AND outcome = 'success'`); n != 4 {
			t.Fatalf("%d lifetime changes audited, want 4", n)
		}
	})
}

// TestAdminEditsUserProfile: an admin changes a user's display name and email on their page
// (with a fresh passkey check), invalid values are refused naming the field, and the change is
// audited.
func TestAdminEditsUserProfile(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		f := newAPFixture(t, s)
		admin := newBrowser(t)
		s.apSignIn(t, admin, f.admin, "passkey", time.Now())
		userURL := s.URL + "/o/acme/admin/users/" + f.target.ID
		csrf := apCSRF(t, admin, userURL)
		post := func(name, email string) (*http.Response, string) {
			return admin.postForm(userURL+"/profile", url.Values{"csrf_token": {csrf}, "display_name": {name}, "email": {email}})
		}
		resp, body := post("Tom Thumb", "not-an-email")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Email:") || !strings.Contains(body, `value="not-an-email"`) {
			t.Fatalf("invalid email: %d, want 400 naming Email and keeping the typed value", resp.StatusCode)
		}
		if u, _ := directory.NewStore(s.env.db).GetUser(ctx, f.target.ID); u.DisplayName == "Tom Thumb" {
			t.Fatal("a refused change was saved")
		}
		resp, _ = post("  Tom Thumb ", "tom.thumb@acme.example")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save profile: %d", resp.StatusCode)
		}
		u, err := directory.NewStore(s.env.db).GetUser(ctx, f.target.ID)
		if err != nil || u.DisplayName != "Tom Thumb" || u.Email != "tom.thumb@acme.example" {
			t.Fatalf("stored: %q %q %v", u.DisplayName, u.Email, err)
		}
		_, page := admin.get(userURL + "?done=profile")
		if !strings.Contains(page, "The display name and email are saved.") || !strings.Contains(page, `value="tom.thumb@acme.example"`) {
			t.Fatal("the user's page does not show the saved profile")
		}
		var details []string
		if err := s.env.db.Raw(`SELECT details FROM audit_events WHERE action = 'user.updated' AND user_id = ? AND outcome = 'success'`,
			f.target.ID).Scan(&details).Error; err != nil || len(details) != 1 ||
			!strings.Contains(details[0], "display_name") || !strings.Contains(details[0], "email") {
			t.Fatalf("audit of the change: %v %v", details, err)
		}
		// Another organisation's user cannot be edited from acme's pages.
		resp, _ = admin.postForm(s.URL+"/o/acme/admin/users/"+f.foreign.ID+"/profile",
			url.Values{"csrf_token": {csrf}, "display_name": {"Fred"}, "email": {"fred@evil.example"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("editing another organisation's user: %d, want 404", resp.StatusCode)
		}
		if fu, _ := directory.NewStore(s.env.db).GetUser(ctx, f.foreign.ID); fu.Email == "fred@evil.example" {
			t.Fatal("another organisation's user was changed")
		}
	})
}
