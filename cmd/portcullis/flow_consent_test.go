package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// HTTP-level tests of the consent step of the authorize dispatcher: third-party clients ask,
// remember, ask again for more; prompt=consent always asks; prompt=none never shows a page;
// first-party clients skip; a deny is access_denied at the client's redirect URI.

var consentCSRFRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// wantConsentRedirect checks that resp parks the request and sends the browser to /consent.
func wantConsentRedirect(t *testing.T, resp *http.Response) string {
	t.Helper()
	u := location(t, resp)
	id := u.Query().Get("request")
	if u.Path != "/consent" || id == "" || u.Query().Get("client_id") != "" {
		t.Fatalf("want a redirect to /consent?request=…, got %s", u)
	}
	return id
}

// consentPageOf opens the consent page of a parked request and returns its body (unescaped)
// and CSRF token.
func consentPageOf(t *testing.T, s *testServer, b *browser, id string) (*http.Response, string, string) {
	t.Helper()
	resp, body := b.get(s.URL + "/consent?request=" + url.QueryEscape(id))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d: %s", resp.StatusCode, body)
	}
	m := consentCSRFRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("consent page has no CSRF token: %s", body)
	}
	return resp, html.UnescapeString(body), m[1]
}

// answerConsent presses Allow or Deny, checks the page that moves on by itself to the
// dispatcher (not a redirect: form-action 'self'), and follows it.
func answerConsent(t *testing.T, s *testServer, b *browser, id, decision string) *http.Response {
	t.Helper()
	_, _, csrf := consentPageOf(t, s, b, id)
	resp, body := b.postForm(s.URL+"/consent", url.Values{"csrf_token": {csrf}, "request": {id}, "decision": {decision}})
	resume := "/oauth2/auth/resume?request=" + url.QueryEscape(id)
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), `url=`+resume) {
		t.Fatalf("POST /consent: %d, want a page continuing to %s: %s", resp.StatusCode, resume, body)
	}
	resp, _ = b.get(s.URL + resume)
	return resp
}

func thirdParty(s *testServer, args ...string) registered {
	return s.createClient(append(args, "--first-party=false")...)
}

func TestConsentFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		app := thirdParty(s, "--name", "Timesheets", "--redirect-uri", callback,
			"--logo-uri", "https://cdn.timesheets.example/logo.png", "--policy-uri", "https://timesheets.example/privacy",
			"--tos-uri", "https://timesheets.example/terms")
		scopes := func(extra ...string) []string { return append([]string{"openid", "profile"}, extra...) }
		signedIn := func(name string) *browser {
			b := newBrowser(t)
			s.signIn(b, s.createUser(name), "passkey", []string{"hwk", "user"}, "phr", time.Now().Add(-time.Minute))
			return b
		}

		t.Run("prompt=none without a decision is consent_required", func(t *testing.T) {
			r := newRP(t, s, app, scopes()...)
			_, _, state, resp := r.authorize(signedIn("cara"), oauth2.SetAuthURLParam("prompt", "none"))
			wantAuthorizeErrorRedirect(t, resp, "", callback, "consent_required", state)
		})

		t.Run("asked, allowed, remembered for the same or fewer scopes, asked again for more", func(t *testing.T) {
			b := signedIn("dana")
			r := newRP(t, s, app, scopes("email")...)
			verifier, _, state, resp := r.authorize(b)
			id := wantConsentRedirect(t, resp)
			pageResp, page, _ := consentPageOf(t, s, b, id)
			for _, want := range []string{"Timesheets wants to access your account", "See your name and username",
				"See your email address", `src="https://cdn.timesheets.example/logo.png"`,
				`href="https://timesheets.example/privacy"`, `href="https://timesheets.example/terms"`} {
				if !strings.Contains(page, want) {
					t.Errorf("consent page lacks %q", want)
				}
			}
			if csp := pageResp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.timesheets.example;") {
				t.Errorf("CSP does not allow the logo's origin: %s", csp)
			}
			resp = answerConsent(t, s, b, id, "allow")
			tok, err := r.config.Exchange(context.Background(), codeFrom(t, resp, state), oauth2.VerifierOption(verifier))
			if err != nil || tok.Extra("scope") != "openid profile email" {
				t.Fatalf("exchange after consent: %v (scope %v)", err, tok.Extra("scope"))
			}

			for _, tc := range []struct {
				name   string
				scopes []string
				ask    bool
			}{
				{"same scopes", scopes("email"), false},
				{"fewer scopes", scopes(), false},
				{"one more scope", scopes("email", "roles"), true},
			} {
				r := newRP(t, s, app, tc.scopes...)
				_, _, state, resp := r.authorize(b)
				if !tc.ask {
					codeFrom(t, resp, state)
					continue
				}
				id := wantConsentRedirect(t, resp)
				_, page, _ := consentPageOf(t, s, b, id)
				if !strings.Contains(page, "See your roles in your organisation") {
					t.Errorf("%s: the page does not name the new scope", tc.name)
				}
				codeFrom(t, answerConsent(t, s, b, id, "allow"), state)
			}
			// prompt=none is answered from the remembered decision.
			_, _, state, resp = newRP(t, s, app, scopes("roles")...).authorize(b, oauth2.SetAuthURLParam("prompt", "none"))
			codeFrom(t, resp, state)
		})

		t.Run("prompt=consent always asks, and allowing it does not ask again", func(t *testing.T) {
			b := signedIn("erin")
			r := newRP(t, s, app, scopes()...)
			for range 2 {
				_, _, state, resp := r.authorize(b, oauth2.SetAuthURLParam("prompt", "consent"))
				id := wantConsentRedirect(t, resp)
				codeFrom(t, answerConsent(t, s, b, id, "allow"), state)
			}
		})

		t.Run("deny is access_denied at the redirect URI, with the state", func(t *testing.T) {
			b := signedIn("finn")
			r := newRP(t, s, app, scopes()...)
			_, _, state, resp := r.authorize(b)
			id := wantConsentRedirect(t, resp)
			resp = answerConsent(t, s, b, id, "deny")
			wantAuthorizeErrorRedirect(t, resp, "", callback, "access_denied", state)
			// The denied request is over, and nothing was remembered.
			if resp, _ := b.get(s.URL + "/oauth2/auth/resume?request=" + url.QueryEscape(id)); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("resume after deny: %d, want 400", resp.StatusCode)
			}
			_, _, _, resp = r.authorize(b)
			wantConsentRedirect(t, resp)
		})

		t.Run("first-party clients skip consent", func(t *testing.T) {
			own := s.createClient("--name", "Our web app", "--redirect-uri", callback)
			_, _, state, resp := newRP(t, s, own, scopes()...).authorize(signedIn("gus"), oauth2.SetAuthURLParam("prompt", "consent"))
			codeFrom(t, resp, state)
		})

		t.Run("the page refuses a forged form and sends the signed-out to sign in", func(t *testing.T) {
			b := signedIn("hana")
			_, _, _, resp := newRP(t, s, app, scopes()...).authorize(b)
			id := wantConsentRedirect(t, resp)
			resp, _ = b.postForm(s.URL+"/consent", url.Values{"csrf_token": {"forged"}, "request": {id}, "decision": {"allow"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("forged consent: %d, want 403", resp.StatusCode)
			}
			resp, _ = newBrowser(t).get(s.URL + "/consent?request=" + url.QueryEscape(id))
			if u := location(t, resp); u.Path != "/oauth2/auth/resume" {
				t.Fatalf("signed out: sent to %s, want the dispatcher", u)
			}
		})

		t.Run("audited", func(t *testing.T) {
			var n int64
			if err := s.env.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE action IN (?, ?) AND client_id = ?`,
				"consent.granted", "consent.denied", app.ID).Scan(&n).Error; err != nil || n < 5 {
				t.Fatalf("consent audit events: %d, %v", n, err)
			}
		})
	})
}
