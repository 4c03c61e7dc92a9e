package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAdminAPIPolicy: the impact of a change is shown before it is applied, and a dry run
// changes nothing; bad values name the field.
func TestAdminAPIPolicy(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		s.orgUser(t, f.acmeID, "pat")
		if got := s.api(t, f.ro, "GET", "/policy", nil).want(t, http.StatusOK); got.str("passkeys") != "optional" {
			t.Fatalf("policy: %s", got.raw)
		}
		dry := s.api(t, f.rw, "PUT", "/policy?dry_run=true", map[string]any{"passkeys": "mandatory", "passwords_end_at": "2030-01-31"}).
			want(t, http.StatusOK)
		impact := dry.body["impact"].(map[string]any)
		if dry.body["applied"] != false || impact["users"] != float64(2) || len(toStrings(impact["lines"])) == 0 ||
			dry.body["policy"].(map[string]any)["passkeys"] != "mandatory" {
			t.Fatalf("dry run: %s", dry.raw)
		}
		if p := s.orgBySlug(t, "acme").Policy; p.Mode != "optional" || p.PasswordsEndAt != nil {
			t.Fatalf("a dry run changed the policy: %+v", p)
		}
		applied := s.api(t, f.rw, "PUT", "/policy", map[string]any{"passkeys": "mandatory", "remind_after": "72h"}).want(t, http.StatusOK)
		if applied.body["applied"] != true || s.orgBySlug(t, "acme").Policy.Mode != "mandatory" {
			t.Fatalf("apply: %s", applied.raw)
		}
		if got := s.api(t, f.rw, "GET", "/policy", nil).want(t, http.StatusOK); got.str("remind_after") != "72h0m0s" || got.body["require_user_verification"] != true {
			t.Fatalf("fields left out changed: %s", got.raw)
		}
		if n := s.auditBy(t, "client:"+f.rwClient.ID, "org.policy_changed"); n != 1 {
			t.Fatalf("%d org.policy_changed events", n)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"passkeys": "sometimes"}, "passkeys"},
			{map[string]any{"passkeys": "optional", "passwords_end_at": "2030-01-31"}, "passwords_end_at"},
			{map[string]any{"passwords_end_at": "next tuesday"}, "passwords_end_at"},
			{map[string]any{"remind_after": "-1h"}, "remind_after"},
			{map[string]any{"allowed_aaguids": []string{"not-a-uuid"}}, "allowed_aaguids"},
			{map[string]any{"require_user_verification": "yes"}, "require_user_verification"},
		} {
			s.api(t, f.rw, "PUT", "/policy", tc.body).want(t, http.StatusBadRequest, "invalid_field", tc.field)
		}
		if p := s.orgBySlug(t, "acme").Policy; p.Mode != "mandatory" || p.PasswordsEndAt != nil {
			t.Fatalf("a refused change applied: %+v", p)
		}
		if got := s.api(t, f.rw, "GET", "/adoption", nil).want(t, http.StatusOK); got.body["with_passkey"] != float64(1) || got.body["users"] != float64(2) {
			t.Fatalf("adoption: %s", got.raw)
		}
	})
}

// TestAdminAPIClients: register, read, edit, rotate and delete clients of one's organisation.
func TestAdminAPIClients(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		c := s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "Web app", "redirect_uris": []string{"https://app.example.com/cb"}}).
			want(t, http.StatusCreated)
		id, secret := c.str("client_id"), c.str("client_secret")
		if id == "" || secret == "" || c.str("org_id") != f.acmeID || c.str("type") != "confidential" {
			t.Fatalf("create: %s", c.raw)
		}
		s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "Bad", "redirect_uris": []string{"http://example.com/cb"}}).
			want(t, http.StatusBadRequest, "invalid_field", "redirect_uris")
		s.api(t, f.rw, "POST", "/clients", map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}).
			want(t, http.StatusBadRequest, "invalid_field", "name")
		s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "X", "org_id": f.globexID}).want(t, http.StatusBadRequest, "invalid_field")
		if got := s.api(t, f.rw, "GET", "/clients/"+id, nil).want(t, http.StatusOK); got.str("client_secret") != "" {
			t.Fatalf("the secret is shown again: %s", got.raw)
		}
		got := s.api(t, f.rw, "PATCH", "/clients/"+id, map[string]any{"name": "Web app 2", "first_party": true}).want(t, http.StatusOK)
		if got.str("name") != "Web app 2" || got.body["first_party"] != true || len(got.body["redirect_uris"].([]any)) != 1 {
			t.Fatalf("patch: %s", got.raw)
		}
		s.api(t, f.rw, "PATCH", "/clients/"+id, map[string]any{"type": "public", "token_endpoint_auth_method": "none"}).want(t, http.StatusBadRequest, "invalid_field", "type")
		rot := s.api(t, f.rw, "POST", "/clients/"+id+"/rotate-secret", nil).want(t, http.StatusOK)
		if rot.str("client_secret") == "" || rot.str("client_secret") == secret {
			t.Fatalf("rotate: %s", rot.raw)
		}
		pub := s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "SPA", "type": "public", "redirect_uris": []string{callback}}).
			want(t, http.StatusCreated)
		s.api(t, f.rw, "POST", "/clients/"+pub.str("client_id")+"/rotate-secret", nil).want(t, http.StatusConflict, "no_secret")
		names, pages := map[string]bool{}, 0
		for cursor := ""; ; {
			got := s.api(t, f.rw, "GET", "/clients?limit=2&cursor="+cursor, nil).want(t, http.StatusOK)
			for _, c := range got.items() {
				names[c["client_id"].(string)] = true
			}
			if pages++; got.str("next_cursor") == "" {
				break
			}
			cursor = got.str("next_cursor")
		}
		if len(names) != 6 || pages != 3 {
			// The fixture's four clients (three admin clients and the app) and the two above.
			t.Fatalf("walked %d clients in %d pages", len(names), pages)
		}
		s.api(t, f.rw, "DELETE", "/clients/"+id, nil).want(t, http.StatusNoContent)
		s.api(t, f.rw, "GET", "/clients/"+id, nil).want(t, http.StatusNotFound, "not_found")
	})
}

// TestAdminAPIAuditOrgsKeys: the audit log by filter and page and as JSON lines, with every call
// of the API in it; organisations and signing keys for system organisation clients.
func TestAdminAPIAuditOrgsKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		actor := "client:" + f.rwClient.ID
		for range 3 {
			s.api(t, f.rw, "GET", "/users/"+f.user, nil).want(t, http.StatusOK)
		}
		got := s.api(t, f.rw, "GET", "/audit?action=user.viewed&limit=2&user_id="+f.user, nil).want(t, http.StatusOK)
		more := s.api(t, f.rw, "GET", "/audit?action=user.viewed&limit=2&user_id="+f.user+"&cursor="+got.str("next_cursor"), nil).want(t, http.StatusOK)
		if len(got.items()) != 2 || len(more.items()) != 1 || more.str("next_cursor") != "" {
			t.Fatalf("audit pages: %s / %s", got.raw, more.raw)
		}
		for _, e := range append(got.items(), more.items()...) {
			if e["actor"] != actor || e["user_id"] != f.user {
				t.Fatalf("event %v", e)
			}
		}
		if first, second := got.items()[0]["id"].(float64), got.items()[1]["id"].(float64); first <= second {
			t.Fatal("the audit log is not newest first")
		}
		if got := s.api(t, f.rw, "GET", "/audit?action=user.*", nil).want(t, http.StatusOK); len(got.items()) < 3 {
			t.Fatalf("prefix filter: %s", got.raw)
		}
		if got := s.api(t, f.rw, "GET", "/audit?since=2999-01-01", nil).want(t, http.StatusOK); len(got.items()) != 0 {
			t.Fatalf("since: %s", got.raw)
		}
		s.api(t, f.rw, "GET", "/audit?since=yesterday", nil).want(t, http.StatusBadRequest, "invalid_field", "since")
		s.api(t, f.rw, "GET", "/audit?since=2030-01-02&until=2030-01-01", nil).want(t, http.StatusBadRequest, "invalid_field", "until")

		req, _ := http.NewRequest("GET", s.URL+"/api/admin/v1/audit/export?action=user.viewed", nil)
		req.Header.Set("Authorization", "Bearer "+f.rw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		lines := 0
		for sc := bufio.NewScanner(resp.Body); sc.Scan(); lines++ {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e["action"] != "user.viewed" {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
		}
		if lines != 3 {
			t.Fatalf("exported %d lines, want 3", lines)
		}
		// Every call is audited, reads included.
		for _, action := range []string{"user.viewed", "audit.queried", "audit.exported"} {
			if s.auditBy(t, actor, action) == 0 {
				t.Fatalf("no %s event by %s", action, actor)
			}
		}

		org := s.api(t, f.sys, "POST", "/orgs", map[string]any{"slug": "initech", "name": "Initech"}).want(t, http.StatusCreated)
		if org.str("slug") != "initech" || org.body["policy"].(map[string]any)["passkeys"] != "off" {
			t.Fatalf("create org: %s", org.raw)
		}
		s.api(t, f.sys, "POST", "/orgs", map[string]any{"slug": "initech", "name": "Again"}).want(t, http.StatusConflict, "already_exists", "slug")
		s.api(t, f.sys, "POST", "/orgs", map[string]any{"slug": "Not A Slug", "name": "X"}).want(t, http.StatusBadRequest, "invalid_field", "slug")
		s.api(t, f.sys, "POST", "/orgs", map[string]any{"slug": "ok", "name": ""}).want(t, http.StatusBadRequest, "invalid_field", "name")
		s.api(t, f.sys, "GET", "/orgs/initech", nil).want(t, http.StatusOK)
		s.api(t, f.sys, "GET", "/orgs/nosuch", nil).want(t, http.StatusNotFound, "not_found")
		p1 := s.api(t, f.sys, "GET", "/orgs?limit=2", nil).want(t, http.StatusOK)
		p2 := s.api(t, f.sys, "GET", "/orgs?limit=2&cursor="+p1.str("next_cursor"), nil).want(t, http.StatusOK)
		var slugs []string
		for _, o := range append(p1.items(), p2.items()...) {
			slugs = append(slugs, o["slug"].(string))
		}
		if strings.Join(slugs, ",") != "acme,globex,initech,system" || p2.str("next_cursor") != "" {
			t.Fatalf("org pages: %v", slugs)
		}

		keys := s.api(t, f.sys, "GET", "/keys", nil).want(t, http.StatusOK).items()
		if len(keys) == 0 {
			t.Fatal("no keys listed")
		}
		rot := s.api(t, f.sys, "POST", "/keys/rotate", map[string]any{"alg": "ES256"}).want(t, http.StatusOK)
		if active := toStrings(rot.body["active"]); len(active) != 1 {
			t.Fatalf("rotate: %s", rot.raw)
		}
		s.api(t, f.sys, "POST", "/keys/rotate", map[string]any{"alg": "HS256"}).want(t, http.StatusBadRequest, "invalid_field", "alg")
		if n := s.auditBy(t, "client:"+f.sysClient.ID, "keys.rotated"); n != 1 {
			t.Fatalf("%d keys.rotated events", n)
		}
	})
}
