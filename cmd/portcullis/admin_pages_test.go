package main

// HTTP-level tests of the admin pages (ui/admin): who may open which page, CSRF, the fresh
// passkey check of sensitive actions, and that an admin of one organisation reaches nothing of
// another's.

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
)

// apUser adds a user with roles to an organisation.
func (s *testServer) apUser(t *testing.T, orgID, username string, roles ...string) directory.User {
	t.Helper()
	u, err := directory.NewStore(s.env.db).CreateUser(context.Background(), directory.User{OrgID: orgID, Username: username,
		DisplayName: "User " + username, Email: username + "@example.com", EmailVerified: true, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// apSignIn gives b a session of u signed in by method, whose last passkey check was at verified
// (zero: never).
func (s *testServer) apSignIn(t *testing.T, b *browser, u directory.User, method string, verified time.Time) {
	t.Helper()
	st := session.NewStore(s.env.db, s.env.secret.Hasher("session"))
	token, _, err := st.Create(context.Background(), session.Session{UserID: u.ID, OrgID: u.OrgID, Method: method,
		AMR: []string{"hwk", "user", "mfa"}, ACR: "phr", AuthTime: time.Now(), VerifiedAt: verified,
		ExpiresAt: time.Now().Add(time.Hour), UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(s.URL)
	b.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: token, Path: "/"}})
}

var apCSRFRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// apCSRF loads an admin page as b and returns its CSRF token ("" when the page has none).
func apCSRF(t *testing.T, b *browser, pageURL string) string {
	t.Helper()
	_, body := b.get(pageURL)
	m := apCSRFRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// apRoute is one admin page route, with the form a successful post would need.
type apRoute struct {
	method, path string
	sensitive    bool
	form         url.Values
}

// apFixture is two organisations, each with an admin, and a user and an app in each.
type apFixture struct {
	s                      *testServer
	acme, other            directory.Org
	admin, member, visitor directory.User // acme's admin, acme's non-admin, other's admin
	sysAdmin               directory.User
	target, foreign        directory.User // a user of acme, a user of other
	app, foreignApp        string         // client ids
}

func newAPFixture(t *testing.T, s *testServer) *apFixture {
	t.Helper()
	f := &apFixture{s: s, acme: s.createOrg(t, "acme", "off"), other: s.createOrg(t, "other", "off")}
	f.admin = s.apUser(t, f.acme.ID, "ada", "admin")
	f.member = s.apUser(t, f.acme.ID, "max")
	f.target = s.apUser(t, f.acme.ID, "tom")
	f.visitor = s.apUser(t, f.other.ID, "olga", "admin")
	f.foreign = s.apUser(t, f.other.ID, "fred")
	f.sysAdmin = s.apUser(t, directory.SystemOrgID, "root", "admin")
	f.app = s.createClient("--name", "Acme web", "--org", "acme", "--redirect-uri", "https://app.acme.example/cb").ID
	f.foreignApp = s.createClient("--name", "Other web", "--org", "other", "--redirect-uri", "https://app.other.example/cb").ID
	return f
}

// routes are every route of the organisation's admin pages, for user id and app id.
func (f *apFixture) routes(userID, appID string) []apRoute {
	p := "/o/acme/admin"
	u := p + "/users/" + userID
	return []apRoute{
		{method: "GET", path: p},
		{method: "GET", path: p + "/users"},
		{method: "GET", path: p + "/users/new"},
		{method: "POST", path: p + "/users", form: url.Values{"username": {"newbie"}}},
		{method: "GET", path: u},
		{method: "POST", path: u + "/status", form: url.Values{"status": {"disabled"}}},
		{method: "POST", path: u + "/roles", sensitive: true, form: url.Values{"roles": {"editor"}}},
		{method: "POST", path: u + "/profile", sensitive: true, form: url.Values{"display_name": {"Tom T"}, "email": {"tom@acme.example"}}},
		{method: "POST", path: u + "/passkeys/nope/remove"},
		{method: "POST", path: u + "/sessions/nope/end"},
		{method: "POST", path: u + "/recovery", sensitive: true, form: url.Values{"delivery": {"show"}}},
		{method: "POST", path: u + "/enrollment"},
		{method: "GET", path: p + "/import"},
		{method: "POST", path: p + "/import"},
		{method: "POST", path: p + "/import/apply", sensitive: true, form: url.Values{"mode": {"joiners"}, "csv": {"username\nzed\n"}}},
		{method: "GET", path: p + "/apps"},
		{method: "GET", path: p + "/apps/new?template=mobile"},
		{method: "POST", path: p + "/apps", form: url.Values{"template": {"mobile"}, "name": {"M"}, "redirect_uris": {"com.example.m:/cb"}, "grant_code": {"true"}}},
		{method: "GET", path: p + "/apps/" + appID},
		{method: "GET", path: p + "/apps/" + appID + "/edit"},
		{method: "POST", path: p + "/apps/" + appID + "/edit", sensitive: true, form: url.Values{"name": {"Renamed"}, "redirect_uris": {"https://app.acme.example/cb"}}},
		{method: "POST", path: p + "/apps/" + appID + "/rotate", sensitive: true},
		{method: "POST", path: p + "/apps/" + appID + "/delete", sensitive: true},
		{method: "GET", path: p + "/policy"},
		{method: "POST", path: p + "/policy/preview", form: url.Values{"passkeys": {"optional"}}},
		{method: "POST", path: p + "/policy", sensitive: true, form: url.Values{"passkeys": {"optional"}}},
		{method: "POST", path: p + "/policy/branding", sensitive: true, form: url.Values{"brand_name": {"Acme staff"}}},
		{method: "POST", path: p + "/policy/password-rules", sensitive: true, form: url.Values{"min_length": {"14"}}},
		{method: "POST", path: p + "/policy/session-lifetimes", sensitive: true, form: url.Values{"session_idle": {"4h"}, "session_absolute": {"168h"}}},
		{method: "GET", path: p + "/audit"},
		{method: "GET", path: p + "/audit/export"},
	}
}

// instanceRoutes are the system administrators' pages.
var apInstanceRoutes = []apRoute{
	{method: "GET", path: "/admin"},
	{method: "POST", path: "/admin/orgs", form: url.Values{"slug": {"newco"}, "name": {"New Co"}}},
	{method: "GET", path: "/admin/keys"},
	{method: "POST", path: "/admin/keys/rotate", sensitive: true},
}

// do sends the route's request as b, with csrf when not "", and returns status and body.
func (r apRoute) do(t *testing.T, s *testServer, b *browser, csrf string) (int, string) {
	t.Helper()
	if r.method == "GET" {
		resp, body := b.get(s.URL + r.path)
		return resp.StatusCode, body
	}
	form := url.Values{}
	for k, v := range r.form {
		form[k] = v
	}
	if csrf != "" {
		form.Set("csrf_token", csrf)
	}
	resp, body := b.postForm(s.URL+r.path, form)
	return resp.StatusCode, body
}

// Every admin page route refuses whoever is not a signed-in admin of that organisation with a
// passkey session, forms without the CSRF token, and sensitive actions without a fresh check.
func TestAdminPagesRefuse(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAPFixture(t, s)
		routes := append(f.routes(f.target.ID, f.app), apInstanceRoutes...)
		fresh := time.Now()

		anon := newBrowser(t)
		password := newBrowser(t)
		s.apSignIn(t, password, f.admin, "password", time.Time{})
		handoff := newBrowser(t)
		s.apSignIn(t, handoff, f.admin, "handoff", fresh)
		member := newBrowser(t)
		s.apSignIn(t, member, f.member, "passkey", fresh)
		visitor := newBrowser(t)
		s.apSignIn(t, visitor, f.visitor, "passkey", fresh)
		sys := newBrowser(t)
		s.apSignIn(t, sys, f.sysAdmin, "passkey", fresh)
		// CSRF tokens are per browser, not per session: the refused browsers get theirs from a
		// page anyone may load.
		csrfOf := func(b *browser) string { return apCSRF(t, b, s.URL+"/o/acme/admin/users") }
		loginCSRF := func(b *browser) string { return apCSRF(t, b, s.URL+"/login") }

		for _, rt := range routes {
			instance := strings.HasPrefix(rt.path, "/admin")
			name := rt.method + " " + rt.path
			if st, _ := rt.do(t, s, anon, loginCSRF(anon)); st != http.StatusUnauthorized {
				t.Errorf("%s without a session: %d, want 401", name, st)
			}
			for _, c := range []struct {
				who string
				b   *browser
			}{{"password session", password}, {"handoff session", handoff}} {
				st, body := rt.do(t, s, c.b, loginCSRF(c.b))
				want := http.StatusForbidden
				if instance {
					want = http.StatusNotFound // not of the system organisation at all
				}
				if st != want || (!instance && !strings.Contains(body, "Sign in with a passkey")) {
					t.Errorf("%s with a %s: %d, want %d and a passkey sign-in link", name, c.who, st, want)
				}
			}
			if st, _ := rt.do(t, s, member, loginCSRF(member)); !instance && st != http.StatusForbidden || instance && st != http.StatusNotFound {
				t.Errorf("%s as a non-admin: %d", name, st)
			}
			if !instance {
				if st, _ := rt.do(t, s, visitor, loginCSRF(visitor)); st != http.StatusNotFound {
					t.Errorf("%s as another organisation's admin: %d, want 404", name, st)
				}
			}
			if rt.method == "POST" {
				b := newBrowser(t)
				who := f.admin
				if instance {
					who = f.sysAdmin
				}
				s.apSignIn(t, b, who, "passkey", fresh)
				if st, body := rt.do(t, s, b, ""); st != http.StatusForbidden || !strings.Contains(body, "The form expired") {
					t.Errorf("%s without a CSRF token: %d", name, st)
				}
				if rt.sensitive {
					stale := newBrowser(t)
					s.apSignIn(t, stale, who, "passkey", time.Now().Add(-6*time.Minute))
					if st, body := rt.do(t, s, stale, csrfOf(stale)); st != http.StatusForbidden || !strings.Contains(body, "Confirm it") {
						t.Errorf("%s with a stale passkey check: %d", name, st)
					}
				}
			}
		}

		// An admin of acme, with everything else right, reaches no id of another organisation.
		admin := newBrowser(t)
		s.apSignIn(t, admin, f.admin, "passkey", fresh)
		csrf := csrfOf(admin)
		for _, rt := range f.routes(f.foreign.ID, f.foreignApp) {
			if !strings.Contains(rt.path, f.foreign.ID) && !strings.Contains(rt.path, f.foreignApp) {
				continue
			}
			if st, _ := rt.do(t, s, admin, csrf); st != http.StatusNotFound {
				t.Errorf("%s %s with another organisation's id: %d, want 404", rt.method, rt.path, st)
			}
		}
		if u := s.user(t, f.other.ID, "fred"); u.Status != directory.StatusActive || len(u.Roles) != 0 {
			t.Fatalf("another organisation's user changed: %+v", u)
		}
		if _, err := s.cli("clients", "show", f.foreignApp); err != nil {
			t.Fatalf("another organisation's app is gone: %v", err)
		}
		// The system organisation's admin gets the instance pages.
		for _, p := range []string{"/admin", "/admin/keys"} {
			if resp, _ := sys.get(s.URL + p); resp.StatusCode != http.StatusOK {
				t.Errorf("%s as a system admin: %d", p, resp.StatusCode)
			}
		}
		// Refusals are in the audit log.
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'admin.refused' AND user_id = ?`, f.visitor.ID); n == 0 {
			t.Error("another organisation's admin's attempts were not audited")
		}
	})
}
