package main

// Per-client token lifetimes (issue 6): the token endpoint, introspection and the stored tokens
// follow a client's own lifetimes instead of the server's defaults.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/store"
)

// expiresIn is the expires_in of a token response, in seconds.
func expiresIn(t *testing.T, tok *oauth2.Token) float64 {
	t.Helper()
	v, ok := tok.Extra("expires_in").(float64)
	if !ok {
		t.Fatalf("token response without a numeric expires_in: %v", tok.Extra("expires_in"))
	}
	return v
}

// newestExpiry is the expiry of the client's newest stored token of a kind. The store writes the
// column from the session's expiry of that token, which is what fosite checks on use.
func newestExpiry(t *testing.T, s *testServer, clientID, kind string) time.Time {
	t.Helper()
	var exp []time.Time
	if err := s.env.db.Raw(`SELECT expires_at FROM oauth2_tokens WHERE client_id = ? AND kind = ? AND active = ?
		ORDER BY requested_at DESC`, clientID, kind, true).Scan(&exp).Error; err != nil {
		t.Fatal(err)
	}
	if len(exp) == 0 {
		t.Fatalf("no active %s token of %s", kind, clientID)
	}
	return exp[0]
}

func near(got, want time.Time, slack time.Duration) bool {
	d := got.Sub(want)
	return d <= slack && d >= -slack
}

func TestClientTokenLifetimes(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		short := s.createClient("--name", "Short", "--redirect-uri", callback, "--access-token-lifetime", "5m",
			"--refresh-token-lifetime", "2h", "--id-token-lifetime", "10m")
		plain := s.createClient("--name", "Plain", "--redirect-uri", callback)
		introspector := s.createClient("--name", "Resource server", "--redirect-uri", callback, "--introspect")
		u := s.createUser("lena")
		const slack = 20 * time.Second

		f := signedInCodeFlow(t, s, newRP(t, s, short), u)
		now := time.Now()
		if got := expiresIn(t, f.tok); got < 300-20 || got > 300 {
			t.Errorf("expires_in = %v, want about 300", got)
		}
		r := bcIntrospect(t, s, introspector, f.tok.AccessToken)
		if r.Status != http.StatusOK || r.JSON["active"] != true || !nearUnix(r.JSON["exp"], now.Add(5*time.Minute), slack) {
			t.Errorf("introspection of the access token: %d %s, want active with exp in 5 minutes", r.Status, r.Body)
		}
		if got := f.idToken.Expiry.Sub(f.idToken.IssuedAt); got != 10*time.Minute {
			t.Errorf("ID token lives %v, want 10m", got)
		}
		if exp := newestExpiry(t, s, short.ID, store.KindRefresh); !near(exp, now.Add(2*time.Hour), slack) {
			t.Errorf("stored refresh token expires %v, want about %v", exp, now.Add(2*time.Hour))
		}
		if exp := newestExpiry(t, s, short.ID, store.KindAccess); !near(exp, now.Add(5*time.Minute), slack) {
			t.Errorf("stored access token expires %v, want in 5 minutes", exp)
		}

		// The refresh grant issues tokens with the same lifetimes.
		rr := bcRefresh(t, s, short, f.tok.RefreshToken)
		now = time.Now()
		if rr.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", rr.Status, rr.Body)
		}
		if v, _ := rr.JSON["expires_in"].(float64); v < 300-20 || v > 300 {
			t.Errorf("refreshed expires_in = %v, want about 300", rr.JSON["expires_in"])
		}
		if exp := newestExpiry(t, s, short.ID, store.KindRefresh); !near(exp, now.Add(2*time.Hour), slack) {
			t.Errorf("rotated refresh token expires %v, want about %v", exp, now.Add(2*time.Hour))
		}

		// A client without lifetimes gets the server's defaults.
		d := signedInCodeFlow(t, s, newRP(t, s, plain), u)
		now = time.Now()
		if got := expiresIn(t, d.tok); got < provider.AccessTokenLifespan.Seconds()-20 || got > provider.AccessTokenLifespan.Seconds() {
			t.Errorf("default expires_in = %v", got)
		}
		if exp := newestExpiry(t, s, plain.ID, store.KindRefresh); !near(exp, now.Add(provider.RefreshTokenLifespan), slack) {
			t.Errorf("default refresh token expires %v", exp)
		}
	})
}

// The client-credentials grant and JWT access tokens (RFC 9068) follow the lifetime too.
func TestClientTokenLifetimeJWTClientCredentials(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Machine", "--grant-type", "client_credentials", "--jwt-access-tokens",
			"--access-token-lifetime", "2m")
		r := bcPost(t, s, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
		now := time.Now()
		if r.Status != http.StatusOK {
			t.Fatalf("client credentials: %d %s", r.Status, r.Body)
		}
		if v, _ := r.JSON["expires_in"].(float64); v < 120-20 || v > 120 {
			t.Errorf("expires_in = %v, want about 120", r.JSON["expires_in"])
		}
		parts := strings.Split(r.str("access_token"), ".")
		if len(parts) != 3 {
			t.Fatalf("not a JWT access token: %q", r.str("access_token"))
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		if !nearUnix(claims["exp"], now.Add(2*time.Minute), 20*time.Second) {
			t.Errorf("JWT exp %v, want in 2 minutes", claims["exp"])
		}
	})
}
