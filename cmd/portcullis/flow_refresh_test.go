package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
)

// signedInFlow is the outcome of a code flow run for a user who is already signed in.
type signedInFlow struct {
	tok      *oauth2.Token
	idToken  *oidc.IDToken
	rawID    string
	nonce    string
	authTime time.Time
	sess     session.Session
}

// signedInCodeFlow signs u in (passkey, acr phr), runs a code flow with PKCE through r and
// exchanges the code with x/oauth2. extra adds authorize parameters.
func signedInCodeFlow(t *testing.T, s *testServer, r *rp, u directory.User, extra ...oauth2.AuthCodeOption) signedInFlow {
	t.Helper()
	b := newBrowser(t)
	authTime := time.Now().Add(-time.Minute).Truncate(time.Second)
	sess := s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", authTime)
	verifier, nonce, state, resp := r.authorize(b, extra...)
	code := codeFrom(t, resp, state)
	if code == "" {
		t.Fatal("no code in the callback")
	}
	tok, err := r.config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idt.Subject != u.ID || idt.Nonce != nonce {
		t.Fatalf("id token sub %q nonce %q, want %q %q", idt.Subject, idt.Nonce, u.ID, nonce)
	}
	return signedInFlow{tok: tok, idToken: idt, rawID: raw, nonce: nonce, authTime: authTime, sess: sess}
}

// refresh uses refreshToken through x/oauth2's token source of r.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// wantRetrieveError checks that err is an OAuth error response with this status and error code.
func wantRetrieveError(t *testing.T, err error, status int, code string) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want an OAuth error response %d %s", err, status, code)
	}
	if re.Response.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %q (%s), want %d %q", re.Response.StatusCode, re.ErrorCode, re.Body, status, code)
	}
	return re
}

// userinfoStatus calls the UserInfo endpoint with a bearer token and returns the status.
func userinfoStatus(t *testing.T, s *testServer, accessToken string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type refreshedClaims struct {
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	SID      string   `json:"sid"`
}

func TestRefreshTokenRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		for i, tc := range []struct {
			name string
			args []string
		}{
			{"confidential", []string{"--name", "Web", "--redirect-uri", callback}},
			{"public", []string{"--name", "Native", "--type", "public", "--redirect-uri", callback}},
			{"JWT access tokens", []string{"--name", "Web JWT", "--redirect-uri", callback, "--jwt-access-tokens"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(tc.args...)
				r := newRP(t, s, c)
				u := s.createUser(fmt.Sprintf("rotation-%d", i))
				f := signedInCodeFlow(t, s, r, u)
				rt0, at0 := f.tok.RefreshToken, f.tok.AccessToken
				if rt0 == "" {
					t.Fatal("no refresh token for offline_access")
				}
				if got := userinfoStatus(t, s, at0); got != http.StatusOK {
					t.Fatalf("userinfo with the first access token: %d", got)
				}

				// Rotation: a new access token, a new refresh token and a new ID token.
				tok1, err := r.refresh(rt0)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if tok1.AccessToken == "" || tok1.AccessToken == at0 {
					t.Fatalf("refresh gave access token %q (first was %q)", tok1.AccessToken, at0)
				}
				rt1 := tok1.RefreshToken
				if rt1 == "" || rt1 == rt0 {
					t.Fatalf("refresh token not rotated: %q (first was %q)", rt1, rt0)
				}
				raw, _ := tok1.Extra("id_token").(string)
				if raw == "" {
					t.Fatal("no id_token in the refresh response")
				}
				if raw == f.rawID {
					t.Fatal("the refresh response repeats the first ID token")
				}
				idt, err := r.verifier.Verify(ctx, raw)
				if err != nil {
					t.Fatalf("verify refreshed id token: %v", err)
				}
				if idt.Subject != u.ID || idt.Issuer != s.URL || !slices.Equal(idt.Audience, []string{c.ID}) {
					t.Fatalf("refreshed id token sub %q iss %q aud %v", idt.Subject, idt.Issuer, idt.Audience)
				}
				if err := idt.VerifyAccessToken(tok1.AccessToken); err != nil {
					t.Fatalf("refreshed id token at_hash: %v", err)
				}
				var cl refreshedClaims
				if err := idt.Claims(&cl); err != nil {
					t.Fatal(err)
				}
				if cl.AuthTime != f.authTime.Unix() {
					t.Fatalf("refreshed auth_time %d, want the sign-in time %d", cl.AuthTime, f.authTime.Unix())
				}
				if cl.ACR != "phr" || cl.SID != f.sess.ID {
					t.Fatalf("refreshed acr %q sid %q, want phr %q", cl.ACR, cl.SID, f.sess.ID)
				}
				if got := userinfoStatus(t, s, tok1.AccessToken); got != http.StatusOK {
					t.Fatalf("userinfo with the rotated access token: %d", got)
				}
				// Rotation revokes the access tokens issued with the used refresh token.
				if got := userinfoStatus(t, s, at0); got != http.StatusUnauthorized {
					t.Fatalf("userinfo with the pre-rotation access token: %d, want 401", got)
				}

				// Both grants are audited, for the user, with their grant type.
				wantTokenAudit(t, s, c.ID, "token.issued", "authorization_code", u.ID, 1)
				wantTokenAudit(t, s, c.ID, "token.issued", "refresh_token", u.ID, 1)

				// Reuse of the old refresh token: refused, and the whole family is revoked.
				_, err = r.refresh(rt0)
				wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
				_, err = r.refresh(rt1)
				wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
				if got := userinfoStatus(t, s, tok1.AccessToken); got != http.StatusUnauthorized {
					t.Fatalf("userinfo with the rotated access token after reuse: %d, want 401", got)
				}
				wantTokenAudit(t, s, c.ID, "token.issued", "refresh_token", u.ID, 1)
				wantTokenAudit(t, s, c.ID, "token.refused", "", "", 2)
			})
		}
	})
}

func TestRefreshTokenBoundToClient(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for i, tc := range []struct {
			name  string
			other []string
			style oauth2.AuthStyle
		}{
			{"confidential client", []string{"--name", "Other web", "--redirect-uri", callback}, oauth2.AuthStyleInHeader},
			{"public client", []string{"--name", "Other native", "--type", "public", "--redirect-uri", callback}, oauth2.AuthStyleInParams},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := s.createClient("--name", "Owner", "--redirect-uri", callback)
				ra := newRP(t, s, a)
				rb := newRP(t, s, s.createClient(tc.other...))
				// Each client authenticates its own way; x/oauth2's auto-detection would retry a
				// refused request in the other style and report that error instead.
				rb.config.Endpoint.AuthStyle = tc.style
				f := signedInCodeFlow(t, s, ra, s.createUser(fmt.Sprintf("bound-%d", i)))
				if f.tok.RefreshToken == "" {
					t.Fatal("no refresh token")
				}
				_, err := rb.refresh(f.tok.RefreshToken)
				wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
				// The refused attempt did not consume the owner's token.
				tok, err := ra.refresh(f.tok.RefreshToken)
				if err != nil {
					t.Fatalf("owner's refresh after the foreign attempt: %v", err)
				}
				if tok.RefreshToken == "" {
					t.Fatal("owner's refresh gave no refresh token")
				}
			})
		}
	})
}

func TestRefreshTokenNotIssuedWithoutOfflineAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for i, tc := range []struct {
			name   string
			args   []string
			scopes []string
		}{
			{"offline_access not requested", []string{"--name", "Web", "--redirect-uri", callback},
				[]string{oidc.ScopeOpenID, "profile", "email"}},
			{"client without the refresh_token grant", []string{"--name", "Web", "--redirect-uri", callback,
				"--grant-type", "authorization_code"}, []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(tc.args...)
				r := newRP(t, s, c, tc.scopes...)
				f := signedInCodeFlow(t, s, r, s.createUser(fmt.Sprintf("no-offline-%d", i)))
				if f.tok.AccessToken == "" {
					t.Fatal("no access token")
				}
				if f.tok.RefreshToken != "" {
					t.Fatalf("refresh token issued: %q", f.tok.RefreshToken)
				}
				if _, ok := f.tok.Extra("refresh_token").(string); ok {
					t.Fatal("the token response has a refresh_token member")
				}
			})
		}
	})
}

// wantTokenAudit checks how many audit rows of action the token endpoint wrote for client c (with
// grantType in their details and for userID, when those are given).
func wantTokenAudit(t *testing.T, s *testServer, clientID, action, grantType, userID string, want int) {
	t.Helper()
	var rows []struct {
		UserID, Actor, Details string
	}
	if err := s.env.db.Raw(`SELECT user_id, actor, details FROM audit_events WHERE action = ? AND client_id = ?`,
		action, clientID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if grantType != "" && !strings.Contains(r.Details, `"grant_type":"`+grantType+`"`) {
			continue
		}
		if userID != "" && r.UserID != userID {
			t.Errorf("%s for user %q, want %q", action, r.UserID, userID)
		}
		n++
	}
	if n != want {
		t.Errorf("%d %s audit rows (grant %q) for client %s, want %d: %+v", n, action, grantType, clientID, want, rows)
	}
}
