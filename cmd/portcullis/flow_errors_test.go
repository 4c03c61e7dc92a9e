package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const appRedirect = "https://app.example.com/cb"

// authorizeParams is a valid authorization request of c with PKCE S256.
func authorizeParams(c registered, redirectURI, state string) url.Values {
	return url.Values{
		"client_id": {c.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid profile"},
		"state": {state}, "nonce": {"nonce-0123456789"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
}

// wantAuthorizeErrorRedirect checks that resp sends the error code and the state to redirectURI
// (RFC 6749 section 4.1.2.1), and nowhere else: never to the sign-in page.
func wantAuthorizeErrorRedirect(t *testing.T, resp *http.Response, body, redirectURI, code, state string) {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("want an error redirect to %s, got %d: %s", redirectURI, resp.StatusCode, body)
	}
	got := location(t, resp)
	want, _ := url.Parse(redirectURI)
	if got.Path == "/login" {
		t.Fatalf("sent to the sign-in page (%s) before the request was validated", got)
	}
	if got.Scheme != want.Scheme || got.Host != want.Host || got.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	params := got.Query()
	if params.Get("error") == "" && got.Fragment != "" {
		params, _ = url.ParseQuery(got.Fragment)
	}
	if params.Get("error") != code || params.Get("state") != state || params.Has("code") {
		t.Fatalf("redirect %s: want error=%s and state=%s without a code", got, code, state)
	}
}

// unsignedJWT is a request object with alg none (OIDC Core 6.1).
func unsignedJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + "."
}

func TestAuthorizeErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		conf := s.createClient("--name", "Web app", "--redirect-uri", callback, "--redirect-uri", appRedirect)
		public := s.createClient("--name", "Native", "--type", "public", "--redirect-uri", callback)
		const state = "state-0123456789"

		t.Run("no redirect", func(t *testing.T) {
			// The redirect URI is not validated: the person gets a page, the client nothing.
			for _, tc := range []struct {
				name   string
				mutate func(q url.Values)
				says   string
			}{
				{"unknown client_id", func(q url.Values) { q.Set("client_id", "no-such-client") }, "not registered with this Portcullis server"},
				{"missing client_id", func(q url.Values) { q.Del("client_id") }, "not registered with this Portcullis server"},
				{"redirect_uri with extra path", func(q url.Values) { q.Set("redirect_uri", appRedirect+"/extra") }, "has not registered"},
				{"redirect_uri with extra query", func(q url.Values) { q.Set("redirect_uri", appRedirect+"?x=1") }, "has not registered"},
				{"redirect_uri with another port", func(q url.Values) { q.Set("redirect_uri", "https://app.example.com:8443/cb") }, "has not registered"},
				{"redirect_uri with trailing slash", func(q url.Values) { q.Set("redirect_uri", appRedirect+"/") }, "has not registered"},
				{"redirect_uri with another scheme", func(q url.Values) { q.Set("redirect_uri", "http://app.example.com/cb") }, "has not registered"},
				{"redirect_uri with another host", func(q url.Values) { q.Set("redirect_uri", "https://evil.example.com/cb") }, "has not registered"},
				{"redirect_uri with a fragment", func(q url.Values) { q.Set("redirect_uri", appRedirect+"#x") }, "has not registered"},
				{"loopback redirect_uri with extra path", func(q url.Values) { q.Set("redirect_uri", callback+"/extra") }, "has not registered"},
				{"loopback redirect_uri with extra query", func(q url.Values) { q.Set("redirect_uri", callback+"?x=1") }, "has not registered"},
				{"loopback redirect_uri with trailing slash", func(q url.Values) { q.Set("redirect_uri", callback+"/") }, "has not registered"},
				{"loopback redirect_uri with localhost for 127.0.0.1", func(q url.Values) { q.Set("redirect_uri", "http://localhost:9/callback") }, "has not registered"},
				{"missing redirect_uri with two registered", func(q url.Values) { q.Del("redirect_uri") }, "has not registered"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					q := authorizeParams(conf, appRedirect, state)
					tc.mutate(q)
					resp, body := newBrowser(t).get(s.URL + "/oauth2/auth?" + q.Encode())
					wantPage(t, resp, body, http.StatusBadRequest, tc.says)
				})
			}
		})

		t.Run("loopback redirect_uri on another port", func(t *testing.T) {
			// RFC 8252 section 7.3: for a loopback IP literal the port may vary; the rest must match.
			q := authorizeParams(conf, "http://127.0.0.1:54321/callback", state)
			q.Set("prompt", "bogus")
			resp, body := newBrowser(t).get(s.URL + "/oauth2/auth?" + q.Encode())
			wantAuthorizeErrorRedirect(t, resp, body, "http://127.0.0.1:54321/callback", "invalid_request", state)
		})

		t.Run("error redirect before sign-in", func(t *testing.T) {
			challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
			for _, tc := range []struct {
				name     string
				client   registered
				redirect string
				mutate   func(q url.Values)
				code     string
			}{
				{"public client without code_challenge", public, callback, func(q url.Values) {
					q.Del("code_challenge")
					q.Del("code_challenge_method")
				}, "invalid_request"},
				{"code_challenge_method plain", public, callback, func(q url.Values) {
					q.Set("code_challenge", challenge)
					q.Set("code_challenge_method", "plain")
				}, "invalid_request"},
				{"code_challenge_method plain, confidential client", conf, appRedirect, func(q url.Values) {
					q.Set("code_challenge_method", "plain")
				}, "invalid_request"},
				{"code_challenge without method", public, callback, func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
				{"code_challenge_method without code_challenge", conf, appRedirect, func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
				{"code_challenge too short", public, callback, func(q url.Values) { q.Set("code_challenge", challenge[:42]) }, "invalid_request"},
				{"code_challenge too long", public, callback, func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 129)) }, "invalid_request"},
				{"code_challenge not base64url", public, callback, func(q url.Values) { q.Set("code_challenge", challenge[:42]+"=") }, "invalid_request"},
				{"prompt=bogus", conf, appRedirect, func(q url.Values) { q.Set("prompt", "bogus") }, "invalid_request"},
				{"prompt=none login", conf, appRedirect, func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request"},
				{"max_age=-1", conf, appRedirect, func(q url.Values) { q.Set("max_age", "-1") }, "invalid_request"},
				{"max_age not a number", conf, appRedirect, func(q url.Values) { q.Set("max_age", "ten") }, "invalid_request"},
				{"nonce too short", conf, appRedirect, func(q url.Values) { q.Set("nonce", "short") }, "invalid_request"},
				{"request object", conf, appRedirect, func(q url.Values) {
					q.Set("request", unsignedJWT(`{"iss":"`+conf.ID+`","aud":"`+s.URL+`","response_type":"code","client_id":"`+conf.ID+`"}`))
				}, "request_not_supported"},
				{"request object without openid scope", conf, appRedirect, func(q url.Values) {
					q.Set("scope", "profile")
					q.Set("request", unsignedJWT(`{"iss":"`+conf.ID+`"}`))
				}, "request_not_supported"},
				{"response_type=token", conf, appRedirect, func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
				{"response_type=code id_token", conf, appRedirect, func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
				{"scope not allowed for the client", conf, appRedirect, func(q url.Values) { q.Set("scope", "openid admin:write") }, "invalid_scope"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					q := authorizeParams(tc.client, tc.redirect, state)
					tc.mutate(q)
					b := newBrowser(t) // not signed in
					resp, body := b.get(s.URL + "/oauth2/auth?" + q.Encode())
					wantAuthorizeErrorRedirect(t, resp, body, tc.redirect, tc.code, state)
				})
			}
		})
	})
}

// rfc6749TokenErrors are the error codes of RFC 6749 section 5.2.
var rfc6749TokenErrors = map[string]bool{"invalid_request": true, "invalid_client": true, "invalid_grant": true,
	"unauthorized_client": true, "unsupported_grant_type": true, "invalid_scope": true}

// wantTokenError checks an RFC 6749 section 5.2 error response.
func wantTokenError(t *testing.T, r bcReply, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	if r.mediaType() != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	if r.str("error_description") == "" {
		t.Fatalf("no error_description: %s", r.Body)
	}
	if status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate (RFC 6749 section 5.2)")
	}
}

func TestTokenErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		a := s.createClient("--name", "A", "--redirect-uri", callback)
		other := s.createClient("--name", "B", "--redirect-uri", callback)
		u := s.createUser("tess")
		b := newBrowser(t)
		s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", time.Now().Add(-time.Minute))
		// freshCode is a new authorization code of a, with its PKCE verifier.
		freshCode := func(t *testing.T) (string, string) {
			verifier, _, state, resp := newRP(t, s, a).authorize(b)
			return codeFrom(t, resp, state), verifier
		}
		codeForm := func(code, verifier string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {callback}}
		}

		for _, tc := range []struct {
			name        string
			body        func(t *testing.T) string // the raw form body
			user, pass  string
			status      int
			code        string
			statusOneOf []int // instead of status, for the oversized body
		}{
			{name: "unsupported grant_type password", body: func(*testing.T) string {
				return url.Values{"grant_type": {"password"}, "username": {"tess"}, "password": {"x"}}.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "unsupported_grant_type"},
			{name: "unsupported grant_type jwt-bearer", body: func(*testing.T) string {
				return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"x.y.z"}}.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "unsupported_grant_type"},
			{name: "missing grant_type", body: func(t *testing.T) string {
				c, v := freshCode(t)
				f := codeForm(c, v)
				f.Del("grant_type")
				return f.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_request"},
			{name: "empty body", body: func(*testing.T) string { return "" }, user: a.ID, pass: a.Secret, status: 400, code: "invalid_request"},
			// Go drops the pair it cannot decode; what is left has no code.
			{name: "malformed percent-encoding", body: func(*testing.T) string {
				return "grant_type=authorization_code&code=%zz&redirect_uri=" + url.QueryEscape(callback)
			}, user: a.ID, pass: a.Secret, statusOneOf: []int{400}},
			// The body is not valid application/x-www-form-urlencoded: refused as a whole, rather
			// than read with the undecodable pair left out.
			{name: "malformed pair next to a valid code", body: func(t *testing.T) string {
				c, v := freshCode(t)
				return codeForm(c, v).Encode() + "&junk=%zz"
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_request"},
			{name: "body over 1 MiB", body: func(*testing.T) string {
				return "grant_type=authorization_code&code=" + strings.Repeat("a", 1<<20+64<<10)
			}, user: a.ID, pass: a.Secret, statusOneOf: []int{400, 413}},
			{name: "wrong code_verifier", body: func(t *testing.T) string {
				c, _ := freshCode(t)
				return codeForm(c, oauth2.GenerateVerifier()).Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_grant"},
			{name: "missing code_verifier", body: func(t *testing.T) string {
				c, _ := freshCode(t)
				f := codeForm(c, "")
				f.Del("code_verifier")
				return f.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_grant"},
			{name: "code redeemed by another client", body: func(t *testing.T) string {
				c, v := freshCode(t)
				return codeForm(c, v).Encode()
			}, user: other.ID, pass: other.Secret, status: 400, code: "invalid_grant"},
			{name: "redirect_uri differs from the authorization request", body: func(t *testing.T) string {
				c, v := freshCode(t)
				f := codeForm(c, v)
				f.Set("redirect_uri", "http://127.0.0.1:9/other")
				return f.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_grant"},
			{name: "unknown code", body: func(*testing.T) string {
				return codeForm("no-such-code.at-all", oauth2.GenerateVerifier()).Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_grant"},
			{name: "unknown refresh token", body: func(*testing.T) string {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"no-such-token"}}.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "invalid_grant"},
			{name: "grant type not allowed for the client", body: func(*testing.T) string {
				return url.Values{"grant_type": {"client_credentials"}}.Encode()
			}, user: a.ID, pass: a.Secret, status: 400, code: "unauthorized_client"},
			{name: "wrong client secret", body: func(t *testing.T) string {
				c, v := freshCode(t)
				return codeForm(c, v).Encode()
			}, user: a.ID, pass: a.Secret + "x", status: 401, code: "invalid_client"},
			{name: "unknown client", body: func(t *testing.T) string {
				c, v := freshCode(t)
				return codeForm(c, v).Encode()
			}, user: "no-such-client", pass: "secret", status: 401, code: "invalid_client"},
			{name: "no client authentication", body: func(t *testing.T) string {
				c, v := freshCode(t)
				return codeForm(c, v).Encode()
			}, status: 401, code: "invalid_client"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := bcPostRaw(t, s, "/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(tc.body(t)), tc.user, tc.pass)
				if r.Status >= 500 {
					t.Fatalf("server error %d: %s", r.Status, r.Body)
				}
				if tc.statusOneOf != nil {
					ok := false
					for _, st := range tc.statusOneOf {
						ok = ok || r.Status == st
					}
					if !ok {
						t.Fatalf("status %d, want one of %v: %s", r.Status, tc.statusOneOf, r.Body)
					}
					if !rfc6749TokenErrors[r.str("error")] {
						t.Fatalf("error %q is not an RFC 6749 section 5.2 code: %s", r.str("error"), r.Body)
					}
					wantTokenError(t, r, r.Status, r.str("error"))
					return
				}
				wantTokenError(t, r, tc.status, tc.code)
			})
		}
	})
}

func TestNotFound(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for _, path := range []string{"/nonexistent", "/oauth2/nonexistent", "/.well-known/nonexistent"} {
			t.Run(path, func(t *testing.T) {
				resp, body := newBrowser(t).get(s.URL + path)
				wantPage(t, resp, body, http.StatusNotFound, "Page not found")
			})
		}
	})
}

func TestHealth(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for _, tc := range []struct {
			path string
			want map[string]string
		}{
			{"/healthz", map[string]string{"status": "ok"}},
			{"/readyz", map[string]string{"status": "ok", "database": "ok"}},
		} {
			t.Run(tc.path, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
				r := bcDo(t, req)
				if r.Status != http.StatusOK || r.mediaType() != "application/json" {
					t.Fatalf("%d %q: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
				}
				for k, v := range tc.want {
					if r.str(k) != v {
						t.Fatalf("%s = %q, want %q: %s", k, r.str(k), v, r.Body)
					}
				}
			})
		}
	})
}
