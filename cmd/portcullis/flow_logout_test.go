package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
)

const postLogout = "http://127.0.0.1:9/bye"

// logoutRig is a signed-in browser with an ID token from a real code flow for that session.
type logoutRig struct {
	s       *testServer
	c       registered
	u       directory.User
	b       *browser
	cookie  string // the session cookie value, to replay after the browser has dropped it
	idToken string
	sid     string
}

func newLogoutRig(t *testing.T, s *testServer, c registered, name string) *logoutRig {
	t.Helper()
	u := s.createUser(name)
	b := newBrowser(t)
	sess := s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", time.Now().Add(-time.Minute))
	rig := &logoutRig{s: s, c: c, u: u, b: b, sid: sess.ID, cookie: sessionCookie(t, s, b)}
	r := newRP(t, s, c)
	verifier, _, state, resp := r.authorize(b)
	tok, err := r.config.Exchange(context.Background(), codeFrom(t, resp, state), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rig.idToken, _ = tok.Extra("id_token").(string)
	if rig.idToken == "" {
		t.Fatal("no id_token")
	}
	return rig
}

// sessionCookie is the browser's portcullis_session cookie value.
func sessionCookie(t *testing.T, s *testServer, b *browser) string {
	t.Helper()
	base, _ := url.Parse(s.URL)
	for _, c := range b.Jar.Cookies(base) {
		if c.Name == "portcullis_session" {
			return c.Value
		}
	}
	return ""
}

// signedInAt reports whether an authorize request from b is answered with a code (signed in) or
// sent to /login (signed out); anything else fails the test.
func signedInAt(t *testing.T, s *testServer, c registered, b *browser) bool {
	t.Helper()
	_, _, state, resp := newRP(t, s, c).authorize(b)
	u := location(t, resp)
	switch {
	case u.Path == "/login":
		return false
	case strings.HasPrefix(u.String(), callback):
		codeFrom(t, resp, state)
		return true
	}
	t.Fatalf("authorize redirected to %s", u)
	return false
}

// alive reports whether the rig's session is still live: in its own browser, and in a fresh
// browser replaying the old cookie (so that clearing the cookie alone does not count as ending
// the session on the server).
func (g *logoutRig) alive(t *testing.T) bool {
	t.Helper()
	inBrowser := signedInAt(t, g.s, g.c, g.b)
	replay := newBrowser(t)
	base, _ := url.Parse(g.s.URL)
	replay.Jar.SetCookies(base, []*http.Cookie{{Name: "portcullis_session", Value: g.cookie, Path: "/"}})
	onServer := signedInAt(t, g.s, g.c, replay)
	if onServer && !inBrowser {
		t.Fatal("the browser lost its session cookie but the session was not ended on the server")
	}
	return onServer
}

func logoutURL(s *testServer, q url.Values) string {
	return s.URL + "/oauth2/logout?" + q.Encode()
}

var csrfField = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]*)">`)

// confirmationForm checks a 200 sign-out confirmation page and returns its form fields.
func confirmationForm(t *testing.T, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("want the confirmation page, got %d (Location %q): %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if !strings.Contains(body, "Sign out?") || !strings.Contains(body, `action="/oauth2/logout"`) {
		t.Fatalf("not the confirmation page: %s", body)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		t.Fatalf("confirmation page without a csrf_token: %s", body)
	}
	form := url.Values{"csrf_token": {html.UnescapeString(m[1])}}
	for _, name := range []string{"client_id", "post_logout_redirect_uri", "state"} {
		re := regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]*)">`)
		if m := re.FindStringSubmatch(body); m != nil && m[1] != "" {
			form.Set(name, html.UnescapeString(m[1]))
		}
	}
	return form
}

// wantRedirectTo checks a 303 to exactly want.
func wantRedirectTo(t *testing.T, resp *http.Response, body, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to %s: %s", resp.StatusCode, want, body)
	}
	got := location(t, resp)
	w, _ := url.Parse(want)
	if got.Scheme != w.Scheme || got.Host != w.Host || got.Path != w.Path || got.Query().Encode() != w.Query().Encode() {
		t.Fatalf("redirected to %s, want %s", got, want)
	}
}

// wantPage checks an HTML page with status and no redirect.
func wantPage(t *testing.T, resp *http.Response, body string, status int, contains string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if l := resp.Header.Get("Location"); l != "" {
		t.Fatalf("page with a Location header %q", l)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want HTML", ct)
	}
	if !strings.Contains(body, contains) {
		t.Fatalf("page does not say %q: %s", contains, body)
	}
}

// tamper returns the JWT with its signature changed (part 2), its payload changed (part 1) or
// its header replaced by alg none.
func tamper(t *testing.T, jwt, how string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %s", jwt)
	}
	switch how {
	case "signature":
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)/2] ^= 0x01
		parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	case "payload":
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		claims["sub"] = "someone-else"
		raw, _ = json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	case "alg none":
		parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		parts[2] = ""
	}
	return strings.Join(parts, ".")
}

func TestLogout(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback, "--post-logout-redirect-uri", postLogout)
		other := s.createClient("--name", "Other app", "--redirect-uri", callback, "--post-logout-redirect-uri", "http://127.0.0.1:9/other-bye")
		n := 0
		rig := func(t *testing.T) *logoutRig {
			n++
			return newLogoutRig(t, s, c, fmt.Sprintf("lou%d", n))
		}
		const state = "logout-state-12345"

		t.Run("id_token_hint and registered redirect", func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(method, func(t *testing.T) {
					g := rig(t)
					q := url.Values{"id_token_hint": {g.idToken}, "post_logout_redirect_uri": {postLogout}, "state": {state}}
					var resp *http.Response
					var body string
					if method == http.MethodGet {
						resp, body = g.b.get(logoutURL(s, q))
					} else {
						resp, body = g.b.postForm(s.URL+"/oauth2/logout", q)
					}
					wantRedirectTo(t, resp, body, postLogout+"?state="+state)
					if g.alive(t) {
						t.Fatal("session still alive after logout")
					}
				})
			}
		})

		t.Run("id_token_hint without redirect", func(t *testing.T) {
			g := rig(t)
			resp, body := g.b.get(logoutURL(s, url.Values{"id_token_hint": {g.idToken}}))
			wantPage(t, resp, body, http.StatusOK, "You are signed out")
			if g.alive(t) {
				t.Fatal("session still alive after logout")
			}
		})

		t.Run("id_token_hint and client_id and redirect", func(t *testing.T) {
			g := rig(t)
			resp, body := g.b.get(logoutURL(s, url.Values{"id_token_hint": {g.idToken}, "client_id": {c.ID},
				"post_logout_redirect_uri": {postLogout}}))
			wantRedirectTo(t, resp, body, postLogout)
			if g.alive(t) {
				t.Fatal("session still alive after logout")
			}
		})

		t.Run("id_token_hint of an earlier session asks for confirmation", func(t *testing.T) {
			g := rig(t)
			// The same user signs in again in this browser: the hint names another session.
			s.signIn(g.b, g.u, "passkey", []string{"hwk", "user"}, "phr", time.Now())
			resp, body := g.b.get(logoutURL(s, url.Values{"id_token_hint": {g.idToken}, "post_logout_redirect_uri": {postLogout}}))
			confirmationForm(t, resp, body)
			if !signedInAt(t, s, c, g.b) {
				t.Fatal("the newer session was ended without confirmation")
			}
		})

		t.Run("confirmation without id_token_hint", func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				query    url.Values
				redirect string // "" for the signed-out page
			}{
				{"no parameters", url.Values{}, ""},
				{"client_id and registered redirect", url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {postLogout}, "state": {state}},
					postLogout + "?state=" + state},
			} {
				t.Run(tc.name, func(t *testing.T) {
					g := rig(t)
					resp, body := g.b.get(logoutURL(s, tc.query))
					form := confirmationForm(t, resp, body)
					if tc.query.Get("client_id") != "" && (form.Get("client_id") != c.ID || form.Get("post_logout_redirect_uri") != postLogout ||
						form.Get("state") != state || !strings.Contains(body, "Web app")) {
						t.Fatalf("confirmation form does not carry the request: %v", form)
					}
					if !g.alive(t) {
						t.Fatal("showing the confirmation page ended the session")
					}
					form.Set("confirm", "yes")
					resp, body = g.b.postForm(s.URL+"/oauth2/logout", form)
					if tc.redirect != "" {
						wantRedirectTo(t, resp, body, tc.redirect)
					} else {
						wantPage(t, resp, body, http.StatusOK, "You are signed out")
					}
					if g.alive(t) {
						t.Fatal("session still alive after a confirmed logout")
					}
				})
			}
		})

		t.Run("confirmation refused", func(t *testing.T) {
			g := rig(t)
			resp, body := g.b.get(logoutURL(s, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {postLogout}}))
			form := confirmationForm(t, resp, body)
			form.Set("confirm", "no")
			resp, body = g.b.postForm(s.URL+"/oauth2/logout", form)
			wantPage(t, resp, body, http.StatusOK, "You are still signed in")
			if !g.alive(t) {
				t.Fatal("stay signed in ended the session")
			}
		})

		t.Run("bad csrf_token", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				token func(t *testing.T, valid string) string
			}{
				{"missing", func(*testing.T, string) string { return "" }},
				{"wrong", func(_ *testing.T, valid string) string {
					last := "A"
					if strings.HasSuffix(valid, "A") {
						last = "B"
					}
					return valid[:len(valid)-1] + last
				}},
				{"garbage", func(*testing.T, string) string { return "not-a-token" }},
				{"another browser's token", func(t *testing.T, _ string) string {
					h := rig(t)
					resp, body := h.b.get(logoutURL(s, url.Values{}))
					return confirmationForm(t, resp, body).Get("csrf_token")
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					g := rig(t)
					resp, body := g.b.get(logoutURL(s, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {postLogout}}))
					form := confirmationForm(t, resp, body)
					if tok := tc.token(t, form.Get("csrf_token")); tok == "" {
						form.Del("csrf_token")
					} else {
						form.Set("csrf_token", tok)
					}
					form.Set("confirm", "yes")
					resp, body = g.b.postForm(s.URL+"/oauth2/logout", form)
					wantPage(t, resp, body, http.StatusForbidden, "Sign-out not confirmed")
					if !g.alive(t) {
						t.Fatal("a logout without a valid CSRF token ended the session")
					}
				})
			}
		})

		t.Run("unregistered post_logout_redirect_uri", func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				redirect string
				withHint bool
				clientID string
			}{
				{"foreign host, hint", "https://evil.example/bye", true, ""},
				{"extra path, hint", postLogout + "/more", true, ""},
				{"extra query, hint", postLogout + "?x=1", true, ""},
				{"trailing slash, hint", postLogout + "/", true, ""},
				{"other port, hint", "http://127.0.0.1:10/bye", true, ""},
				{"another client's URI, hint", "http://127.0.0.1:9/other-bye", true, ""},
				{"foreign host, client_id", "https://evil.example/bye", false, c.ID},
				{"redirect without client_id or hint", postLogout, false, ""},
				{"unknown client_id", postLogout, false, "no-such-client"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					g := rig(t)
					q := url.Values{"post_logout_redirect_uri": {tc.redirect}, "state": {state}}
					if tc.withHint {
						q.Set("id_token_hint", g.idToken)
					}
					if tc.clientID != "" {
						q.Set("client_id", tc.clientID)
					}
					resp, body := g.b.get(logoutURL(s, q))
					wantPage(t, resp, body, http.StatusBadRequest, "Sign-out request not valid")
					if !g.alive(t) {
						t.Fatal("a refused logout ended the session")
					}
				})
			}
		})

		t.Run("bad id_token_hint", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				hint  func(g *logoutRig) string
				extra url.Values
			}{
				{"signature altered", func(g *logoutRig) string { return tamper(t, g.idToken, "signature") }, nil},
				{"payload altered", func(g *logoutRig) string { return tamper(t, g.idToken, "payload") }, nil},
				{"alg none", func(g *logoutRig) string { return tamper(t, g.idToken, "alg none") }, nil},
				{"not a JWT", func(*logoutRig) string { return "not-a-jwt" }, nil},
				{"client_id the token was not issued to", func(g *logoutRig) string { return g.idToken }, url.Values{"client_id": {other.ID}}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					g := rig(t)
					q := url.Values{"id_token_hint": {tc.hint(g)}, "post_logout_redirect_uri": {postLogout}, "state": {state}}
					for k, v := range tc.extra {
						q[k] = v
					}
					resp, body := g.b.get(logoutURL(s, q))
					wantPage(t, resp, body, http.StatusBadRequest, "Sign-out request not valid")
					if !g.alive(t) {
						t.Fatal("a refused logout ended the session")
					}
				})
			}
		})

		t.Run("not signed in", func(t *testing.T) {
			g := rig(t) // provides a valid ID token; the requests below come from a fresh browser
			for _, tc := range []struct {
				name     string
				query    url.Values
				redirect string
			}{
				{"id_token_hint and redirect", url.Values{"id_token_hint": {g.idToken}, "post_logout_redirect_uri": {postLogout}, "state": {state}},
					postLogout + "?state=" + state},
				{"client_id and redirect", url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {postLogout}, "state": {state}},
					postLogout + "?state=" + state},
				{"client_id and redirect without state", url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {postLogout}}, postLogout},
				{"no parameters", url.Values{}, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := newBrowser(t).get(logoutURL(s, tc.query))
					if tc.redirect == "" {
						wantPage(t, resp, body, http.StatusOK, "You are signed out")
						return
					}
					wantRedirectTo(t, resp, body, tc.redirect)
				})
			}
			// The other browser's session was not touched.
			if !g.alive(t) {
				t.Fatal("a logout from another browser ended the session")
			}
		})
	})
}
