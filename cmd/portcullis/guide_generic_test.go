package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// guideIssuer is the issuer the guides write; the tests put the test server's URL in its place.
const guideIssuer = "https://id.example.com"

// TestGuideGenericOIDC follows docs/integrations/generic-oidc.md: the registration command, the
// discovery table, a code flow with PKCE through go-oidc and x/oauth2, the claims of each scope
// as the guide's table says, acr_values=phr against a password session, and the troubleshooting
// table's errors.
func TestGuideGenericOIDC(t *testing.T) {
	g := readGuide(t, "generic-oidc.md")
	s := startServer(t, testdb.SQLiteDSN(t), "")
	ctx := context.Background()
	c, words := runGuideCLI(t, s, g, nil)
	if c.Secret == "" {
		t.Fatal("the guide's command registered a client without a secret")
	}
	redirect := flagValues(words, "redirect-uri")[0]

	t.Run("discovery", func(t *testing.T) {
		resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var meta map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
			t.Fatal(err)
		}
		rows := g.tableRows(t, "Discovery")
		for _, row := range rows {
			field := codeSpans(row[0])[0]
			want := codeSpans(row[1])
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], guideIssuer, s.URL)
			}
			switch got := meta[field].(type) {
			case string:
				if len(want) != 1 || got != want[0] {
					t.Errorf("discovery %s = %q, the guide says %q", field, got, want)
				}
			case []any:
				var list []string
				for _, v := range got {
					list = append(list, v.(string))
				}
				for _, w := range want {
					if !slices.Contains(list, w) {
						t.Errorf("discovery %s = %v lacks %q, which the guide lists", field, list, w)
					}
				}
			default:
				t.Errorf("discovery has no %s (the guide names it): %v", field, meta[field])
			}
		}
		if len(rows) < 10 {
			t.Fatalf("the discovery table has %d rows", len(rows))
		}
		// The settings table names the same issuer and discovery URL.
		g.mustMention(t, "| Issuer | `"+guideIssuer+"` |", "`"+guideIssuer+"/.well-known/openid-configuration`")
	})

	t.Run("claims per scope", func(t *testing.T) {
		signIn := []string{"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "sid"}
		g.mustMention(t, "`"+strings.Join(signIn[:len(signIn)-1], "`, `")+"` and `sid`")
		u := s.createUser("gina", func(u *directory.User) { u.Roles = []string{"editor"} })
		for _, row := range g.tableRows(t, "Scopes and claims") {
			scope, claims := codeSpans(row[0])[0], codeSpans(row[1])
			t.Run(scope, func(t *testing.T) {
				scopes := []string{oidc.ScopeOpenID}
				if scope != oidc.ScopeOpenID {
					scopes = append(scopes, scope)
				}
				var released []string // the claims the guide says this scope releases
				for _, cl := range claims {
					if cl != "true" && cl != "sub" {
						released = append(released, cl)
					}
				}
				r := newRP(t, s, c, scopes...)
				r.config.RedirectURL = redirect
				f := guideCodeFlow(t, s, r, u, redirect)
				if scope == "offline_access" {
					if f.tok.RefreshToken == "" {
						t.Fatal("no refresh token for offline_access")
					}
				} else if f.tok.RefreshToken != "" {
					t.Fatal("a refresh token without offline_access")
				}
				var idClaims map[string]any
				if err := f.idToken.Claims(&idClaims); err != nil {
					t.Fatal(err)
				}
				wantID := append(append([]string{"sub"}, signIn...), released...)
				if missing, extra := keyDiff(idClaims, wantID, "jti", "rat"); len(missing)+len(extra) > 0 {
					t.Errorf("ID token claims for %s: missing %v, not in the guide %v", scope, missing, extra)
				}
				info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(f.tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				var infoClaims map[string]any
				if err := info.Claims(&infoClaims); err != nil {
					t.Fatal(err)
				}
				if missing, extra := keyDiff(infoClaims, append([]string{"sub"}, released...)); len(missing)+len(extra) > 0 {
					t.Errorf("userinfo claims for %s: missing %v, not in the guide %v", scope, missing, extra)
				}
				if infoClaims["sub"] != u.ID {
					t.Errorf("sub %v, want the user id %s", infoClaims["sub"], u.ID)
				}
				if scope == "email" && (infoClaims["email"] != u.Email || infoClaims["email_verified"] != true) {
					t.Errorf("email claims %v", infoClaims)
				}
				if scope == "roles" && !slices.Equal(guideStrings(infoClaims["roles"]), []string{"editor"}) {
					t.Errorf("roles %v", infoClaims["roles"])
				}
			})
		}
	})

	t.Run("acr_values=phr asks a password session for a passkey", func(t *testing.T) {
		for _, row := range g.tableRows(t, "Passkey or password") {
			if !strings.Contains(row[0], "password") {
				continue
			}
			acr, amr := codeSpans(row[1])[0], codeSpans(row[2])[0]
			u := s.createUser("pat")
			b := newBrowser(t)
			var amrList []string
			if err := json.Unmarshal([]byte(amr), &amrList); err != nil {
				t.Fatalf("the guide's amr %s: %v", amr, err)
			}
			s.signIn(b, u, "password", amrList, acr, time.Now().Add(-time.Minute))
			r := newRP(t, s, c, oidc.ScopeOpenID)
			r.config.RedirectURL = redirect
			_, _, _, resp := r.authorize(b, oauth2.SetAuthURLParam("acr_values", "phr"))
			if to := location(t, resp); to.Path != "/login" {
				t.Fatalf("acr_values=phr with a password session went to %s, want the sign-in page", to)
			}
			// Without acr_values the password session is enough, and the ID token says so.
			verifier, _, state, resp := r.authorize(b)
			code := guideCode(t, resp, redirect, state)
			tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var cl passkeyClaims
			if err := idt.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if cl.ACR != acr || !slices.Equal(cl.AMR, amrList) {
				t.Fatalf("password sign-in: acr %q amr %v, the guide says %s %s", cl.ACR, cl.AMR, acr, amr)
			}
			return
		}
		t.Fatal("the amr/acr table has no password row")
	})

	t.Run("troubleshooting", func(t *testing.T) {
		u := s.createUser("tess")
		b := newBrowser(t)
		s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		r := newRP(t, s, c, oidc.ScopeOpenID)
		// redirect_uri mismatch: a page at Portcullis, saying what the guide quotes.
		r.config.RedirectURL = redirect + "/"
		resp, body := b.get(r.config.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The app asked to send you back to an address it has not registered") {
			t.Fatalf("redirect_uri mismatch: %d %s", resp.StatusCode, body)
		}
		g.mustMention(t, "The app asked to send you back to an address it has not registered", "The app that sent you here is not registered")
		// invalid_client: a wrong secret at the token endpoint.
		r.config.RedirectURL = redirect
		verifier, _, state, resp := r.authorize(b)
		code := guideCode(t, resp, redirect, state)
		bad := r.config
		bad.ClientSecret = c.Secret + "x"
		_, err := bad.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	})
}

// guideFlow is the outcome of a code flow with PKCE run against a redirect URI the browser does
// not follow (only the Location header is read).
type guideFlow struct {
	tok     *oauth2.Token
	idToken *oidc.IDToken
	rawID   string
	nonce   string
}

// guideCodeFlow signs u in with a passkey session, authorizes with PKCE (S256) and a nonce,
// reads the code from the redirect to redirect and exchanges it.
func guideCodeFlow(t *testing.T, s *testServer, r *rp, u directory.User, redirect string) guideFlow {
	t.Helper()
	b := newBrowser(t)
	s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now().Add(-time.Minute))
	verifier, nonce, state, resp := r.authorize(b)
	code := guideCode(t, resp, redirect, state)
	tok, err := r.config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idt.Nonce != nonce || idt.Subject != u.ID {
		t.Fatalf("id token nonce %q sub %q, want %q %q", idt.Nonce, idt.Subject, nonce, u.ID)
	}
	return guideFlow{tok: tok, idToken: idt, rawID: raw, nonce: nonce}
}

// guideCode reads the code from a redirect to exactly redirect (query ignored) and checks the
// state: the check every relying party must make (RFC 6749 section 10.12).
func guideCode(t *testing.T, resp *http.Response, redirect, state string) string {
	t.Helper()
	u := location(t, resp)
	q := u.Query()
	u.RawQuery = ""
	if u.String() != redirect {
		t.Fatalf("redirected to %s, want %s", u, redirect)
	}
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorize error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Fatalf("state %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		t.Fatal("no code")
	}
	return q.Get("code")
}

// keyDiff compares the keys of m with want; names in ignore may be present or not.
func keyDiff(m map[string]any, want []string, ignore ...string) (missing, extra []string) {
	for _, k := range want {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(want, k) && !slices.Contains(ignore, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	return missing, extra
}

func guideStrings(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
