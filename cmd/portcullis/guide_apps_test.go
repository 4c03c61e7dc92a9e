package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestGuideNativeApp follows docs/integrations/native-app.md: a public client with a private-use
// scheme redirect, authorize with PKCE (the redirect to the app's scheme is read from the Location
// header, as the operating system would hand it to the app), the code exchanged with client_id and
// verifier only, refresh rotation, and sign-out back to the app.
func TestGuideNativeApp(t *testing.T) {
	g := readGuide(t, "native-app.md")
	s := startServer(t, testdb.SQLiteDSN(t), "")
	ctx := context.Background()
	c, words := runGuideCLI(t, s, g, nil)
	if c.Secret != "" || !hasFlag(words, "type") || flagValues(words, "type")[0] != "public" {
		t.Fatalf("the guide's command %v registered a client with a secret", words)
	}
	redirect := flagValues(words, "redirect-uri")[0]
	if u, err := url.Parse(redirect); err != nil || u.Scheme != "com.example.app" {
		t.Fatalf("the guide's redirect %q is not a private-use scheme", redirect)
	}
	g.mustMention(t, "| Redirect URI | `"+redirect+"` |")
	scopes := strings.Fields(codeSpans(g.row(t, "2. Configure AppAuth", "Scopes")[1])[0])
	u := s.createUser("nadia")

	// AppAuth sends client_id in the form body and no secret.
	r := newRP(t, s, c, scopes...)
	r.config.RedirectURL = redirect
	r.config.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	t.Run("PKCE required", func(t *testing.T) {
		b := newBrowser(t)
		s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		resp, _ := b.get(r.config.AuthCodeURL("state-0123456789")) // no code_challenge
		to := location(t, resp)
		if to.Scheme != "com.example.app" || to.Query().Get("error") != "invalid_request" || to.Query().Has("code") {
			t.Fatalf("authorize without PKCE: redirected to %s, want invalid_request at the app", to)
		}
	})

	f := guideCodeFlow(t, s, r, u, redirect)
	if f.tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	t.Run("refresh rotation", func(t *testing.T) {
		rt0 := f.tok.RefreshToken
		tok1, err := r.refresh(rt0)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok1.RefreshToken == "" || tok1.RefreshToken == rt0 || tok1.AccessToken == f.tok.AccessToken {
			t.Fatal("the refresh did not rotate the tokens")
		}
		if got := userinfoStatus(t, s, tok1.AccessToken); got != http.StatusOK {
			t.Fatalf("userinfo with the refreshed access token: %d", got)
		}
		// The old refresh token again: refused, and the grant is revoked with it.
		_, err = r.refresh(rt0)
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		_, err = r.refresh(tok1.RefreshToken)
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		if got := userinfoStatus(t, s, tok1.AccessToken); got != http.StatusUnauthorized {
			t.Fatalf("userinfo after refresh token reuse: %d, want 401", got)
		}
	})

	t.Run("a secret sent for a public client", func(t *testing.T) {
		bad := *r
		bad.config.ClientSecret = "not-a-secret"
		bad.config.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		b := newBrowser(t)
		s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		verifier, _, state, resp := bad.authorize(b)
		_, err := bad.config.Exchange(ctx, guideCode(t, resp, redirect, state), oauth2.VerifierOption(verifier))
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	})

	t.Run("logout back to the app", func(t *testing.T) {
		b := newBrowser(t)
		s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		verifier, _, state, resp := r.authorize(b)
		tok, err := r.config.Exchange(ctx, guideCode(t, resp, redirect, state), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		signedOut := flagValues(words, "post-logout-redirect-uri")[0]
		resp, body := b.get(logoutURL(s, url.Values{"id_token_hint": {tok.Extra("id_token").(string)},
			"post_logout_redirect_uri": {signedOut}, "state": {"bye-0123456789"}}))
		wantRedirectTo(t, resp, body, signedOut+"?state=bye-0123456789")
		_, _, _, resp = r.authorize(b)
		if to := location(t, resp); to.Path != "/login" {
			t.Fatalf("after sign-out authorize went to %s, want the sign-in page", to)
		}
	})

	t.Run("registration refuses a scheme that is not reverse-DNS", func(t *testing.T) {
		_, err := s.cli(replaceWords(t, words, map[string]string{"com.example.app:/oauth2redirect": "myapp:/oauth2redirect"})[1:]...)
		if err == nil || !strings.Contains(err.Error(), "a private-use URI scheme must be a reverse domain name") {
			t.Fatalf("clients create with myapp: %v", err)
		}
		g.mustMention(t, "a private-use URI scheme must be a reverse domain name")
	})
}

// TestGuideWebApp follows docs/integrations/web-app.md: a confidential client authenticating
// with client_secret_basic, state and nonce checked, userinfo, and RP-initiated logout back to
// the registered post-logout URI.
func TestGuideWebApp(t *testing.T) {
	g := readGuide(t, "web-app.md")
	s := startServer(t, testdb.SQLiteDSN(t), "")
	ctx := context.Background()
	c, words := runGuideCLI(t, s, g, nil)
	if c.Secret == "" || flagValues(words, "auth-method")[0] != "client_secret_basic" {
		t.Fatalf("the guide's command %v: want a confidential client_secret_basic client", words)
	}
	redirect, signedOut := flagValues(words, "redirect-uri")[0], flagValues(words, "post-logout-redirect-uri")[0]
	g.mustMention(t, "| Redirect URI | `"+redirect+"` |", "| Post-logout redirect URI | `"+signedOut+"` |")
	u := s.createUser("wendy")
	r := newRP(t, s, c, "openid", "profile", "email", "offline_access")
	r.config.RedirectURL = redirect
	r.config.Endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic, as the guide says

	b := newBrowser(t)
	s.signIn(b, u, "passkey", []string{"swk", "user", "mfa"}, "phr", time.Now().Add(-time.Minute))
	verifier, nonce, state, resp := r.authorize(b)
	code := guideCode(t, resp, redirect, state) // the state check of step 2

	// client_secret_post is another method: refused for this client.
	post := r.config
	post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	_, err := post.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")

	tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange with client_secret_basic: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw) // signature, iss, aud, exp (step 3)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if idt.Nonce != nonce || idt.Subject != u.ID {
		t.Fatalf("nonce %q sub %q, want %q %q", idt.Nonce, idt.Subject, nonce, u.ID)
	}
	var cl passkeyClaims
	if err := idt.Claims(&cl); err != nil || cl.ACR != "phr" || strings.Join(cl.AMR, ",") != "swk,user,mfa" {
		t.Fatalf("acr %q amr %v (%v), the guide says phr and swk,user,mfa for a synced passkey", cl.ACR, cl.AMR, err)
	}
	info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)) // step 4
	if err != nil || info.Subject != u.ID || info.Email != u.Email {
		t.Fatalf("userinfo %+v: %v", info, err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	// A forged callback (another state) is what the application must refuse; the code of
	// another flow does not redeem with this flow's verifier either.
	_, _, state2, resp2 := r.authorize(b)
	code2 := guideCode(t, resp2, redirect, state2)
	_, err = r.config.Exchange(ctx, code2, oauth2.VerifierOption(verifier))
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")

	// Logout: end_session_endpoint with id_token_hint, the registered URI and a state.
	resp, body := b.get(logoutURL(s, url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"st-0123456789"}}))
	wantRedirectTo(t, resp, body, signedOut+"?state=st-0123456789")
	_, _, _, resp = r.authorize(b)
	if to := location(t, resp); to.Path != "/login" {
		t.Fatalf("after sign-out authorize went to %s, want the sign-in page", to)
	}
	// An unregistered post-logout URI is refused with the page the guide names.
	resp, body = newBrowser(t).get(logoutURL(s, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {signedOut + "/"}}))
	wantPage(t, resp, body, http.StatusBadRequest, "Sign-out request not valid")
	g.mustMention(t, "Sign-out request not valid", "The app asked to send you back to an address it has not registered")
}
