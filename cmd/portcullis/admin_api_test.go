package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminFixture is two organisations with admin clients, a user, a client and a session in acme,
// and the tokens each test needs.
type adminFixture struct {
	s                         *testServer
	acmeID, globexID          string
	rw, ro, none, globex, sys string // tokens
	rwClient, sysClient       registered
	user                      string // acme user id
	app                       registered
	passkeyID, sessionID      string
	userToken                 string // an access token of the acme user (code flow)
}

func newAdminFixture(t *testing.T, s *testServer) *adminFixture {
	t.Helper()
	f := &adminFixture{s: s}
	f.acmeID = s.createOrg(t, "acme", "optional").ID
	f.globexID = s.createOrg(t, "globex", "off").ID
	f.rw, f.rwClient = s.adminToken(t, "acme", "admin:read", "admin:write")
	f.ro, _ = s.adminToken(t, "acme", "admin:read")
	f.none, _ = s.adminToken(t, "acme", "profile")
	f.globex, _ = s.adminToken(t, "globex", "admin:read", "admin:write")
	f.sys, f.sysClient = s.adminToken(t, "system", "admin:read", "admin:write")
	u := s.orgUser(t, f.acmeID, "ann", "admin")
	f.user = u.ID
	f.passkeyID = "pk-ann-1"
	s.adminPasskey(t, u.ID, f.passkeyID, time.Now())
	f.app = s.createClient("--name", "Acme app", "--org", "acme", "--redirect-uri", callback)
	flow := signedInCodeFlow(t, s, newRP(t, s, f.app), u)
	f.userToken, f.sessionID = flow.tok.AccessToken, flow.sess.ID
	return f
}

// adminRoute is one route with a request that would succeed for an acme admin:write client.
type adminRoute struct {
	method, path string
	body         any
	orgScoped    bool // names a resource of acme: another organisation's client gets 404
	instance     bool // system organisation clients only
}

func (f *adminFixture) routes() []adminRoute {
	u := "/users/" + f.user
	c := "/clients/" + f.app.ID
	return []adminRoute{
		{"GET", "/orgs", nil, false, true},
		{"POST", "/orgs", map[string]any{"slug": "initech", "name": "Initech"}, false, true},
		{"GET", "/orgs/acme", nil, false, true},
		{"GET", "/users", nil, false, false},
		{"POST", "/users", map[string]any{"username": "newbie"}, false, false},
		{"POST", "/users/import?dry_run=true", "username\nzoe\n", false, false},
		{"GET", u, nil, true, false},
		{"PATCH", u, map[string]any{"display_name": "Ann A."}, true, false},
		{"POST", u + "/enrollment-link", nil, true, false},
		{"GET", u + "/passkeys", nil, true, false},
		{"DELETE", u + "/passkeys/" + f.passkeyID, nil, true, false},
		{"GET", u + "/sessions", nil, true, false},
		{"DELETE", u + "/sessions/" + f.sessionID, nil, true, false},
		{"POST", u + "/recovery", map[string]any{"keep_passkeys": true}, true, false},
		{"GET", "/policy", nil, false, false},
		{"PUT", "/policy?dry_run=true", map[string]any{"passkeys": "mandatory"}, false, false},
		{"GET", "/branding", nil, false, false},
		{"PUT", "/branding", map[string]any{"name": "Acme staff"}, false, false},
		{"GET", "/password-rules", nil, false, false},
		{"PUT", "/password-rules", map[string]any{"min_length": 14}, false, false},
		{"GET", "/session-lifetimes", nil, false, false},
		{"PUT", "/session-lifetimes", map[string]any{"idle": "4h", "absolute": "168h"}, false, false},
		{"GET", "/clients", nil, false, false},
		{"POST", "/clients", map[string]any{"name": "New", "grant_types": []string{"client_credentials"}}, false, false},
		{"GET", c, nil, true, false},
		{"PATCH", c, map[string]any{"name": "Renamed"}, true, false},
		{"DELETE", c, nil, true, false},
		{"POST", c + "/rotate-secret", nil, true, false},
		{"GET", "/audit", nil, false, false},
		{"GET", "/audit/export", nil, false, false},
		{"GET", "/keys", nil, false, true},
		{"POST", "/keys/rotate", nil, false, true},
		{"GET", "/adoption", nil, false, false},
	}
}

// TestAdminAPIAuthentication: every route refuses a missing or invalid token, a user's token, a
// client without admin scopes, and admin:read for anything but GET.
func TestAdminAPIAuthentication(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		for _, r := range f.routes() {
			name := r.method + " " + r.path
			got := s.api(t, "", r.method, r.path, r.body).want(t, http.StatusUnauthorized, "unauthorized")
			if h := got.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
				t.Fatalf("%s without a token: WWW-Authenticate %q", name, h)
			}
			got = s.api(t, "not-a-token", r.method, r.path, r.body).want(t, http.StatusUnauthorized, "invalid_token")
			if h := got.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
				t.Fatalf("%s with a bad token: WWW-Authenticate %q", name, h)
			}
			s.api(t, f.userToken, r.method, r.path, r.body).want(t, http.StatusUnauthorized, "invalid_token")
			got = s.api(t, f.none, r.method, r.path, r.body).want(t, http.StatusForbidden, "insufficient_scope")
			if h := got.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) {
				t.Fatalf("%s without admin scopes: WWW-Authenticate %q", name, h)
			}
			if r.method != http.MethodGet {
				s.api(t, f.ro, r.method, r.path, r.body).want(t, http.StatusForbidden, "insufficient_scope")
			}
		}
		// Nothing above changed anything.
		if n := opsCount(t, s, `SELECT COUNT(*) FROM users WHERE username IN ('newbie', 'zoe')`); n != 0 {
			t.Fatalf("a refused call created %d users", n)
		}
		if n := s.auditCount(t, "admin_api.refused", ""); n == 0 {
			t.Fatal("refused calls of known clients are not audited")
		}
		// admin:read reads; the refusal above was only for writes.
		s.api(t, f.ro, "GET", "/users", nil).want(t, http.StatusOK)
		// A client whose admin scope was taken away loses it before its token expires.
		s.env.db.Exec(`UPDATE clients SET scopes = '["admin:write"]' WHERE id = ?`, f.rwClient.ID)
		s.api(t, f.rw, "GET", "/users", nil).want(t, http.StatusForbidden, "insufficient_scope")
	})
}

// TestAdminAPICrossOrganisation: a client of another organisation sees none of acme's users,
// passkeys, sessions or clients (404, so ids cannot be probed), and only system organisation
// clients manage organisations and keys.
func TestAdminAPICrossOrganisation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		for _, r := range f.routes() {
			switch got := s.api(t, f.globex, r.method, r.path, r.body); {
			case r.orgScoped:
				got.want(t, http.StatusNotFound, "not_found")
			case r.instance:
				got.want(t, http.StatusForbidden, "insufficient_scope")
				s.api(t, f.rw, r.method, r.path, r.body).want(t, http.StatusForbidden, "insufficient_scope")
			}
		}
		// Lists and reports show only the caller's organisation.
		for _, u := range s.api(t, f.globex, "GET", "/users", nil).want(t, http.StatusOK).items() {
			if u["id"] == f.user {
				t.Fatalf("globex lists acme's user %v", u)
			}
		}
		for _, c := range s.api(t, f.globex, "GET", "/clients", nil).want(t, http.StatusOK).items() {
			if c["org_id"] != f.globexID {
				t.Fatalf("globex lists a client of %v", c["org_id"])
			}
		}
		for _, e := range s.api(t, f.globex, "GET", "/audit?limit=200", nil).want(t, http.StatusOK).items() {
			if strings.Contains(e["actor"].(string), f.rwClient.ID) {
				t.Fatalf("globex reads acme's audit log: %v", e)
			}
		}
		if got := s.api(t, f.globex, "GET", "/adoption", nil).want(t, http.StatusOK); got.body["with_passkey"] != float64(0) {
			t.Fatalf("globex adoption counts acme's users: %s", got.raw)
		}
		// Nothing of acme changed: the user, passkey, session and client are all still there.
		s.api(t, f.rw, "GET", "/users/"+f.user, nil).want(t, http.StatusOK)
		if got := s.api(t, f.rw, "GET", "/users/"+f.user+"/passkeys", nil).want(t, http.StatusOK); len(got.items()) != 1 {
			t.Fatalf("acme's passkey is gone: %s", got.raw)
		}
		if got := s.api(t, f.rw, "GET", "/users/"+f.user+"/sessions", nil).want(t, http.StatusOK); len(got.items()) != 1 {
			t.Fatalf("acme's session is gone: %s", got.raw)
		}
		if got := s.api(t, f.rw, "GET", "/clients/"+f.app.ID, nil).want(t, http.StatusOK); got.str("name") != "Acme app" {
			t.Fatalf("acme's client changed: %s", got.raw)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE actor LIKE 'client:%' AND outcome = 'failure' AND action <> 'admin_api.refused'`); n == 0 {
			t.Fatal("refused cross-organisation calls are not audited")
		}
		// Unknown routes and methods answer in JSON.
		s.api(t, f.rw, "GET", "/nothing-here", nil).want(t, http.StatusNotFound, "not_found")
		got := s.api(t, f.rw, "PUT", "/users", nil).want(t, http.StatusMethodNotAllowed, "method_not_allowed")
		if !strings.Contains(got.header.Get("Allow"), "GET") {
			t.Fatalf("405 without Allow: %v", got.header)
		}
	})
}
