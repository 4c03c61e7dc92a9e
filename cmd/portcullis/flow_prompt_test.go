package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
)

// signInClaims are the sign-in claims of an ID token.
type signInClaims struct {
	AuthTime int64  `json:"auth_time"`
	ACR      string `json:"acr"`
	SID      string `json:"sid"`
}

// exchangeForClaims redeems code and returns the verified ID token's sign-in claims.
func exchangeForClaims(t *testing.T, r *rp, code, verifier string) signInClaims {
	t.Helper()
	ctx := context.Background()
	tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	var c signInClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// wantLoginRedirect checks that resp parks the request and sends the browser to /login.
func wantLoginRedirect(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	u := location(t, resp)
	if u.Path != "/login" || u.Query().Get("request") == "" || u.Query().Get("error") != "" {
		t.Fatalf("want a redirect to /login?request=…, got %s", u)
	}
	return u
}

func TestPromptNone(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		for _, tc := range []struct {
			name     string
			signedIn bool
			wantCode bool
		}{
			{"without a session", false, false},
			{"with a session", true, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := newRP(t, s, c)
				b := newBrowser(t)
				u := s.createUser("nina-" + map[bool]string{true: "in", false: "out"}[tc.signedIn])
				authTime := time.Now().Add(-time.Minute).Truncate(time.Second)
				if tc.signedIn {
					s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", authTime)
				}
				verifier, _, state, resp := r.authorize(b, oauth2.SetAuthURLParam("prompt", "none"))
				if !tc.wantCode {
					wantAuthorizeErrorRedirect(t, resp, "", callback, "login_required", state)
					return
				}
				claims := exchangeForClaims(t, r, codeFrom(t, resp, state), verifier)
				if claims.AuthTime != authTime.Unix() {
					t.Fatalf("auth_time %d, want %d", claims.AuthTime, authTime.Unix())
				}
			})
		}
	})
}

func TestPromptLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		u := s.createUser("paul")
		r := newRP(t, s, c)
		b := newBrowser(t)
		old := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
		s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", old)

		verifier, _, state, resp := r.authorize(b, oauth2.SetAuthURLParam("prompt", "login"))
		login := wantLoginRedirect(t, resp)

		// Resuming without signing in again is not enough: back to /login.
		again, _ := b.get(s.URL + "/oauth2/auth/resume?request=" + url.QueryEscape(login.Query().Get("request")))
		if u2 := wantLoginRedirect(t, again); u2.Query().Get("request") != login.Query().Get("request") {
			t.Fatalf("resume parked the request again under another id: %s, first %s", u2, login)
		}

		fresh := time.Now().Truncate(time.Second)
		sess := s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", fresh)
		claims := exchangeForClaims(t, r, codeFrom(t, resumeAfterLogin(t, s, b, resp), state), verifier)
		if claims.AuthTime != fresh.Unix() || claims.SID != sess.ID {
			t.Fatalf("auth_time %d sid %q, want %d %q (the old sign-in was at %d)", claims.AuthTime, claims.SID, fresh.Unix(), sess.ID, old.Unix())
		}
	})
}

func TestMaxAge(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		for i, tc := range []struct {
			name     string
			maxAge   string
			age      time.Duration
			wantCode bool
		}{
			{"max_age=60, signed in 2 minutes ago", "60", 2 * time.Minute, false},
			{"max_age=600, signed in 2 minutes ago", "600", 2 * time.Minute, true},
			{"max_age=0, signed in 2 minutes ago", "0", 2 * time.Minute, false},
			{"max_age=3600, signed in 2 hours ago", "3600", 2 * time.Hour, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := s.createUser("max" + string(rune('a'+i)))
				r := newRP(t, s, c)
				b := newBrowser(t)
				authTime := time.Now().Add(-tc.age).Truncate(time.Second)
				s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", authTime)
				verifier, _, state, resp := r.authorize(b, oauth2.SetAuthURLParam("max_age", tc.maxAge))
				want := authTime
				if !tc.wantCode {
					wantLoginRedirect(t, resp)
					want = time.Now().Truncate(time.Second)
					s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", want)
					resp = resumeAfterLogin(t, s, b, resp)
					// The sign-in just made satisfies max_age: the request must not loop to /login.
					if l := location(t, resp); l.Path == "/login" {
						t.Fatalf("after a fresh sign-in (auth_time %d) the resumed request went to /login again: %s", want.Unix(), l)
					}
				}
				// OIDC Core 3.1.2.1: with max_age the ID token must carry auth_time.
				claims := exchangeForClaims(t, r, codeFrom(t, resp, state), verifier)
				if claims.AuthTime != want.Unix() {
					t.Fatalf("auth_time %d, want %d", claims.AuthTime, want.Unix())
				}
			})
		}
	})
}

func TestACRValues(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		for i, tc := range []struct {
			name     string
			method   string
			amr      []string
			acr      string
			wantCode bool
		}{
			{"password session (acr 0)", "password", []string{"pwd"}, "0", false},
			{"passkey session (acr phr)", "passkey", []string{"hwk", "user"}, "phr", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := s.createUser("acr" + string(rune('a'+i)))
				r := newRP(t, s, c)
				b := newBrowser(t)
				s.signIn(b, u, tc.method, tc.amr, tc.acr, time.Now().Add(-time.Minute))
				verifier, _, state, resp := r.authorize(b, oauth2.SetAuthURLParam("acr_values", "phr"))
				if !tc.wantCode {
					wantLoginRedirect(t, resp)
					// Signing in with a passkey satisfies the request.
					s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", time.Now())
					resp = resumeAfterLogin(t, s, b, resp)
				}
				if claims := exchangeForClaims(t, r, codeFrom(t, resp, state), verifier); claims.ACR != "phr" {
					t.Fatalf("acr %q, want phr", claims.ACR)
				}
			})
		}
	})
}

func TestPromptDisabledUserSession(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		for i, tc := range []struct {
			name   string
			prompt string
		}{
			{"no prompt: sent to sign in", ""},
			{"prompt=none: login_required", "none"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := s.createUser("dora" + string(rune('a'+i)))
				r := newRP(t, s, c)
				b := newBrowser(t)
				s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", time.Now().Add(-time.Minute))
				// Signed in and working...
				_, _, state, resp := r.authorize(b)
				codeFrom(t, resp, state)
				// ...until the user is disabled.
				if err := directory.NewStore(s.env.db).SetStatus(context.Background(), u.ID, directory.StatusDisabled); err != nil {
					t.Fatal(err)
				}
				var opts []oauth2.AuthCodeOption
				if tc.prompt != "" {
					opts = append(opts, oauth2.SetAuthURLParam("prompt", tc.prompt))
				}
				_, _, state, resp = r.authorize(b, opts...)
				if tc.prompt == "none" {
					wantAuthorizeErrorRedirect(t, resp, "", callback, "login_required", state)
					return
				}
				wantLoginRedirect(t, resp)
			})
		}
	})
}
