package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const callback = "http://127.0.0.1:9/callback"

// rp is a relying party: go-oidc for discovery and ID token verification, x/oauth2 for the flow.
type rp struct {
	t        *testing.T
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, s *testServer, c registered, scopes ...string) *rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), s.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email", "offline_access"}
	}
	return &rp{t: t, provider: p,
		config:   oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: p.Endpoint(), RedirectURL: callback, Scopes: scopes},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{"ES256", "RS256"}})}
}

// authorize starts a code flow with PKCE in the browser; it returns the verifier, the nonce, the
// state and the first response.
func (r *rp) authorize(b *browser, extra ...oauth2.AuthCodeOption) (verifier, nonce, state string, resp *http.Response) {
	verifier = oauth2.GenerateVerifier()
	nonce, state = "nonce-"+oauth2.GenerateVerifier()[:16], "state-"+oauth2.GenerateVerifier()[:16]
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}, extra...)
	resp, _ = b.get(r.config.AuthCodeURL(state, opts...))
	return
}

// codeFrom reads the code from a redirect to the callback and checks the state.
func codeFrom(t *testing.T, resp *http.Response, state string) string {
	t.Helper()
	u := location(t, resp)
	if !strings.HasPrefix(u.String(), callback) {
		t.Fatalf("redirected to %s, want the callback", u)
	}
	if e := u.Query().Get("error"); e != "" {
		t.Fatalf("authorize error %s: %s", e, u.Query().Get("error_description"))
	}
	if got := u.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q", got, state)
	}
	return u.Query().Get("code")
}

// resumeAfterLogin follows the redirect to /login and resumes the parked request, as the sign-in
// page does once the user has signed in.
func resumeAfterLogin(t *testing.T, s *testServer, b *browser, resp *http.Response) *http.Response {
	t.Helper()
	login := location(t, resp)
	if login.Path != "/login" || login.Query().Get("request") == "" {
		t.Fatalf("want a redirect to /login?request=…, got %s", login)
	}
	// The parked request is referenced, never carried: the URL has no client parameters.
	if login.Query().Get("client_id") != "" || login.Query().Get("redirect_uri") != "" {
		t.Fatalf("login URL carries raw request parameters: %s", login)
	}
	page, body := b.get(s.URL + login.String())
	if page.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in") {
		t.Fatalf("login page: %d %s", page.StatusCode, body)
	}
	resp, _ = b.get(s.URL + "/oauth2/auth/resume?request=" + url.QueryEscape(login.Query().Get("request")))
	return resp
}

func TestCodeFlowWithPKCE(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"confidential", []string{"--name", "Web app", "--redirect-uri", callback, "--post-logout-redirect-uri", "http://127.0.0.1:9/bye"}},
			{"public native", []string{"--name", "Mobile", "--type", "public", "--redirect-uri", callback}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(tc.args...)
				r := newRP(t, s, c)
				u := s.createUser("alice-" + strings.ReplaceAll(tc.name, " ", "-"))
				b := newBrowser(t)
				verifier, nonce, state, resp := r.authorize(b)
				// Not signed in: parked and sent to the login page; after sign-in, resumed.
				authTime := time.Now().Add(-time.Second).Truncate(time.Second)
				sess := s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", authTime)
				code := codeFrom(t, resumeAfterLogin(t, s, b, resp), state)

				tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				if tok.RefreshToken == "" {
					t.Fatal("no refresh token for offline_access")
				}
				raw, _ := tok.Extra("id_token").(string)
				idt, err := r.verifier.Verify(ctx, raw)
				if err != nil {
					t.Fatalf("verify id token: %v", err)
				}
				if idt.Nonce != nonce || idt.Subject != u.ID {
					t.Fatalf("nonce %q sub %q", idt.Nonce, idt.Subject)
				}
				if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
					t.Fatalf("at_hash: %v", err)
				}
				var claims struct {
					AuthTime int64    `json:"auth_time"`
					AMR      []string `json:"amr"`
					ACR      string   `json:"acr"`
					SID      string   `json:"sid"`
					Name     string   `json:"name"`
					Username string   `json:"preferred_username"`
					Email    string   `json:"email"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if claims.AuthTime != authTime.Unix() || claims.ACR != "phr" || !slices.Equal(claims.AMR, []string{"hwk", "user", "mfa"}) ||
					claims.SID != sess.ID || claims.Username != u.Username || claims.Email != u.Email || claims.Name != u.DisplayName {
					t.Fatalf("claims %+v", claims)
				}
				info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if info.Subject != u.ID || info.Email != u.Email || !info.EmailVerified {
					t.Fatalf("userinfo %+v", info)
				}

				// The code is single-use.
				if _, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
					t.Fatal("a code was accepted twice")
				}
				// Signed in now: a second authorize goes straight to the callback.
				_, _, state2, resp2 := r.authorize(b)
				codeFrom(t, resp2, state2)
			})
		}
	})
}
