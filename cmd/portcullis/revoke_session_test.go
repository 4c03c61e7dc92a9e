package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Ending a sign-in session (another device's, from the account page) revokes the tokens issued in
// it: the refresh token stops working and the access token is inactive at userinfo.
func TestEndedSessionRevokesItsTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		r := newRP(t, s, c)
		u := s.createUser("lost-phone")

		// The "phone" signs in to the app and gets tokens.
		phone := newBrowser(t)
		phoneSession := s.signIn(phone, u, "passkey", []string{"swk", "user", "mfa"}, "phr", time.Now().Add(-time.Second))
		verifier, _, state, resp := r.authorize(phone)
		tok, err := r.config.Exchange(ctx, codeFrom(t, resp, state), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}

		// A second session of the same user (the laptop) ends the phone's session.
		laptop := newBrowser(t)
		s.signIn(laptop, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		page, body := laptop.get(s.URL + "/account")
		if page.StatusCode != http.StatusOK {
			t.Fatalf("account page: %d", page.StatusCode)
		}
		csrf := between(body, `name="csrf_token" value="`, `"`)
		res, _ := laptop.postForm(s.URL+"/account/sessions/"+phoneSession.ID+"/end", url.Values{"csrf_token": {csrf}})
		if loc := location(t, res); loc.Query().Get("done") != "ended" {
			t.Fatalf("end session redirected to %s", loc)
		}

		if _, err := r.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil ||
			!strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("refresh after the session ended: %v, want invalid_grant", err)
		}
		if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("the ended session's access token still works at userinfo")
		}
	})
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return ""
}
