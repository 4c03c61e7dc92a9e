package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
)

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// parRequest is a code flow authorize request to push: its parameters and the PKCE verifier.
type parRequest struct {
	form     url.Values
	verifier string
	nonce    string
	state    string
}

func newPARRequest(clientID string) parRequest {
	verifier := oauth2.GenerateVerifier()
	p := parRequest{verifier: verifier, nonce: "nonce-" + oauth2.GenerateVerifier()[:16], state: "state-" + oauth2.GenerateVerifier()[:16]}
	p.form = url.Values{
		"client_id":             {clientID},
		"response_type":         {"code"},
		"redirect_uri":          {callback},
		"scope":                 {"openid profile email offline_access"},
		"state":                 {p.state},
		"nonce":                 {p.nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	return p
}

// parPush sends a pushed authorization request, authenticating c with HTTP Basic.
func parPush(t *testing.T, s *testServer, c registered, form url.Values) endpointResponse {
	t.Helper()
	return postEndpoint(t, s.URL+"/oauth2/par", form, c.ID, c.Secret)
}

// wantRequestURI checks a successful PAR response (RFC 9126 section 2.2) and returns its request_uri.
func wantRequestURI(t *testing.T, got endpointResponse) string {
	t.Helper()
	if got.status != http.StatusCreated {
		t.Fatalf("PAR: %d %s, want 201", got.status, got.raw)
	}
	uri := got.str("request_uri")
	if !strings.HasPrefix(uri, requestURIPrefix) || len(uri) < len(requestURIPrefix)+20 {
		t.Fatalf("request_uri %q", uri)
	}
	if exp, _ := got.body["expires_in"].(float64); exp != 90 {
		t.Fatalf("expires_in %v, want 90", got.body["expires_in"])
	}
	return uri
}

func parAuthorizeURL(s *testServer, clientID, requestURI string) string {
	return s.URL + "/oauth2/auth?" + url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}

// parCodeFlow pushes an authorize request for c and follows its request_uri in a browser. With
// signedIn false the browser is sent to the sign-in page, u signs in and the parked request is
// resumed; with signedIn true u is signed in first. It exchanges the code and returns the browser
// and the request_uri it used.
func parCodeFlow(t *testing.T, s *testServer, c registered, u directory.User, signedIn bool) (*browser, string) {
	t.Helper()
	ctx := context.Background()
	r := newRP(t, s, c)
	p := newPARRequest(c.ID)
	uri := wantRequestURI(t, parPush(t, s, c, p.form))

	b := newBrowser(t)
	authTime := time.Now().Add(-time.Second).Truncate(time.Second)
	var code string
	if signedIn {
		s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", authTime)
		resp, _ := b.get(parAuthorizeURL(s, c.ID, uri))
		code = codeFrom(t, resp, p.state)
	} else {
		resp, _ := b.get(parAuthorizeURL(s, c.ID, uri))
		s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", authTime)
		resumed := resumeAfterLogin(t, s, b, resp)
		if resumed.StatusCode < 300 || resumed.StatusCode > 399 {
			t.Fatalf("resuming the pushed request after sign-in: %d, want a redirect to the callback with a code", resumed.StatusCode)
		}
		code = codeFrom(t, resumed, p.state)
	}
	if code == "" {
		t.Fatal("no code after the pushed request")
	}
	tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idt.Subject != u.ID || idt.Nonce != p.nonce {
		t.Fatalf("id token sub %q nonce %q, want %q %q", idt.Subject, idt.Nonce, u.ID, p.nonce)
	}
	if tok.RefreshToken == "" {
		t.Fatal("the pushed scope offline_access gave no refresh token")
	}
	if got := tok.Extra("scope"); got != "openid profile email offline_access" {
		t.Fatalf("granted scope %v, want the pushed scope", got)
	}
	return b, uri
}

// wantInvalidRequestURIPage checks that a used request_uri gets the error page: no redirect, no code.
func wantInvalidRequestURIPage(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Fatalf("reused request_uri redirected to %s", loc)
	}
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This sign-in link is not valid") {
		t.Fatalf("reused request_uri: %d %s, want the 400 error page", resp.StatusCode, body)
	}
	if strings.Contains(body, "code=") {
		t.Fatalf("error page mentions a code: %s", body)
	}
}

func TestPARCodeFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		web := []string{"--name", "Web", "--redirect-uri", callback}
		fapi := []string{"--name", "FAPI web", "--redirect-uri", callback, "--require-par"}
		for i, tc := range []struct {
			name     string
			args     []string
			signedIn bool
		}{
			{"confidential client, sign-in", web, false},
			{"client that requires PAR, sign-in", fapi, false},
			{"confidential client, already signed in", web, true},
			{"client that requires PAR, already signed in", fapi, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(tc.args...)
				b, uri := parCodeFlow(t, s, c, s.createUser(fmt.Sprintf("par-%d", i)), tc.signedIn)
				// The request_uri is single-use: the same, now signed-in, browser gets the error page
				// and no code.
				resp, body := b.get(parAuthorizeURL(s, c.ID, uri))
				wantInvalidRequestURIPage(t, resp, body)
			})
		}
	})
}

func TestPARRequestURISingleUseBeforeSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web", "--redirect-uri", callback)
		p := newPARRequest(c.ID)
		uri := wantRequestURI(t, parPush(t, s, c, p.form))
		first, _ := newBrowser(t).get(parAuthorizeURL(s, c.ID, uri))
		if l := location(t, first); l.Path != "/login" {
			t.Fatalf("first use redirected to %s, want /login", l)
		}
		// A second use, even before the first has finished, is refused: here by a signed-in user,
		// who would otherwise get a code at once.
		b := newBrowser(t)
		s.signIn(b, s.createUser("par-twice"), "passkey", []string{"hwk"}, "phr", time.Now())
		resp, body := b.get(parAuthorizeURL(s, c.ID, uri))
		wantInvalidRequestURIPage(t, resp, body)
	})
}

func TestPARRequired(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "FAPI web", "--redirect-uri", callback, "--require-par")
		r := newRP(t, s, c)
		for _, tc := range []struct {
			name     string
			signedIn bool
		}{
			{"not signed in", false},
			{"signed in", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newBrowser(t)
				if tc.signedIn {
					s.signIn(b, s.createUser("par-required-"+strings.ReplaceAll(tc.name, " ", "-")), "passkey", []string{"hwk"}, "phr", time.Now())
				}
				_, _, state, resp := r.authorize(b)
				u := location(t, resp)
				if !strings.HasPrefix(u.String(), callback+"?") {
					t.Fatalf("redirected to %s, want the callback", u)
				}
				q := u.Query()
				if q.Get("error") != "invalid_request" || q.Get("state") != state || q.Has("code") {
					t.Fatalf("callback query %v, want error=invalid_request, the state and no code", q)
				}
			})
		}
		// The same client through PAR succeeds (TestPARCodeFlow covers the sign-in on the way).
		t.Run("through PAR", func(t *testing.T) {
			parCodeFlow(t, s, c, s.createUser("par-required-ok"), true)
		})
	})
}

func TestPARRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web", "--redirect-uri", callback, "--scope", "openid", "--scope", "profile")
		for _, tc := range []struct {
			name   string
			mutate func(url.Values)
			id     string
			secret string
			status int
			code   string
		}{
			{name: "unregistered redirect_uri", mutate: func(f url.Values) { f.Set("redirect_uri", "https://evil.example/cb") },
				status: 400, code: "invalid_request"},
			{name: "redirect_uri with an extra path", mutate: func(f url.Values) { f.Set("redirect_uri", callback+"/more") },
				status: 400, code: "invalid_request"},
			{name: "scope not allowed", mutate: func(f url.Values) { f.Set("scope", "openid offline_access") },
				status: 400, code: "invalid_scope"},
			{name: "request_uri inside the push", mutate: func(f url.Values) { f.Set("request_uri", requestURIPrefix+"abc") },
				status: 400, code: "invalid_request"},
			{name: "plain PKCE", mutate: func(f url.Values) {
				f.Set("code_challenge", oauth2.GenerateVerifier())
				f.Set("code_challenge_method", "plain")
			}, status: 400, code: "invalid_request"},
			{name: "wrong secret", id: c.ID, secret: "wrong", status: 401, code: "invalid_client"},
			{name: "no client authentication", id: "-", status: 401, code: "invalid_client"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := newPARRequest(c.ID)
				p.form.Set("scope", "openid profile")
				if tc.mutate != nil {
					tc.mutate(p.form)
				}
				id, secret := c.ID, c.Secret
				if tc.id != "" {
					id, secret = tc.id, tc.secret
				}
				if id == "-" {
					id = ""
				}
				got := postEndpoint(t, s.URL+"/oauth2/par", p.form, id, secret)
				if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("Content-Type %q, want JSON", ct)
				}
				wantEndpointError(t, got, tc.status, tc.code)
				if _, ok := got.body["request_uri"]; ok {
					t.Fatalf("an error response carries a request_uri: %s", got.raw)
				}
			})
		}
	})
}
