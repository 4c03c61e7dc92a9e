package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestAdminAPIClientLifetimes: token lifetimes are set on create and PATCH, in seconds, read
// back, and refused out of bounds with the field named.
func TestAdminAPIClientLifetimes(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		c := s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "Web app", "redirect_uris": []string{"https://app.example.com/cb"},
			"access_token_lifetime": 300, "refresh_token_lifetime": 7200}).want(t, http.StatusCreated)
		id := c.str("client_id")
		if c.body["access_token_lifetime"] != float64(300) || c.body["refresh_token_lifetime"] != float64(7200) || c.body["id_token_lifetime"] != float64(0) {
			t.Fatalf("create: %s", c.raw)
		}
		got := s.api(t, f.rw, "PATCH", "/clients/"+id, map[string]any{"id_token_lifetime": 600}).want(t, http.StatusOK)
		if got.body["access_token_lifetime"] != float64(300) || got.body["id_token_lifetime"] != float64(600) {
			t.Fatalf("patch: %s", got.raw)
		}
		if got := s.api(t, f.rw, "GET", "/clients/"+id, nil).want(t, http.StatusOK); got.body["id_token_lifetime"] != float64(600) {
			t.Fatalf("read back: %s", got.raw)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"access_token_lifetime": 30}, "access_token_lifetime"},
			{map[string]any{"access_token_lifetime": 90000}, "access_token_lifetime"},
			{map[string]any{"refresh_token_lifetime": 60}, "refresh_token_lifetime"},
			{map[string]any{"refresh_token_lifetime": int64(1) << 62}, "refresh_token_lifetime"},
			{map[string]any{"id_token_lifetime": -60}, "id_token_lifetime"},
			{map[string]any{"id_token_lifetime": 7200}, "id_token_lifetime"},
			// A JWT access token must expire before its signing key leaves the JWKS.
			{map[string]any{"jwt_access_tokens": true, "access_token_lifetime": 7200}, "access_token_lifetime"},
		} {
			r := s.api(t, f.rw, "PATCH", "/clients/"+id, tc.body).want(t, http.StatusBadRequest, "invalid_field", tc.field)
			if !strings.Contains(r.str("message"), "between") {
				t.Errorf("%v: message %q does not give the bounds", tc.body, r.str("message"))
			}
		}
		// A machine client has no refresh tokens to give a lifetime.
		s.api(t, f.rw, "POST", "/clients", map[string]any{"name": "Job", "grant_types": []string{"client_credentials"},
			"refresh_token_lifetime": 7200}).want(t, http.StatusBadRequest, "invalid_field", "refresh_token_lifetime")
		if got := s.api(t, f.rw, "GET", "/clients/"+id, nil).want(t, http.StatusOK); got.body["access_token_lifetime"] != float64(300) {
			t.Fatalf("a refused PATCH changed the client: %s", got.raw)
		}
	})
}
