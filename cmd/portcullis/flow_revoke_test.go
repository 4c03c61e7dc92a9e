package main

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// revokeCase is one RFC 7009 request: revoker revokes the owner's access or refresh token.
type revokeCase struct {
	name    string
	owner   string // "confidential" or "public"
	revoker string // "owner", "other", "public" or "wrong secret"
	which   string // "access_token" or "refresh_token"
	hint    string // token_type_hint
	rotate  bool   // refresh once first, and revoke the rotated tokens
	status  int
	wantErr string // error code of a non-200 answer
	revoked bool
}

func TestRevocation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		clients := map[string]registered{
			"confidential": s.createClient("--name", "Owner", "--redirect-uri", callback),
			"other":        s.createClient("--name", "Other", "--redirect-uri", callback),
			"public":       s.createClient("--name", "Native", "--type", "public", "--redirect-uri", callback),
		}
		// A resource server that may introspect every token observes the outcome.
		observer := s.createClient("--name", "Resource server", "--redirect-uri", callback, "--introspect")
		u := s.createUser("rex")

		for _, tc := range []revokeCase{
			{name: "access token", owner: "confidential", revoker: "owner", which: "access_token", hint: "access_token", status: 200, revoked: true},
			{name: "access token without hint", owner: "confidential", revoker: "owner", which: "access_token", status: 200, revoked: true},
			{name: "access token with the wrong hint", owner: "confidential", revoker: "owner", which: "access_token", hint: "refresh_token", status: 200, revoked: true},
			{name: "refresh token", owner: "confidential", revoker: "owner", which: "refresh_token", hint: "refresh_token", status: 200, revoked: true},
			{name: "refresh token without hint", owner: "confidential", revoker: "owner", which: "refresh_token", status: 200, revoked: true},
			{name: "refresh token after rotation", owner: "confidential", revoker: "owner", which: "refresh_token", rotate: true, status: 200, revoked: true},
			// RFC 7009 section 2.1: the server verifies the token was issued to the revoking
			// client. fosite refuses with unauthorized_client internally and answers 200 (section
			// 2.2: the client cannot do anything useful with an error); the token must stay valid.
			{name: "another client's access token", owner: "confidential", revoker: "other", which: "access_token", status: 200, revoked: false},
			{name: "another client's refresh token", owner: "confidential", revoker: "other", which: "refresh_token", status: 200, revoked: false},
			{name: "public client, own access token, client_id only", owner: "public", revoker: "public", which: "access_token", status: 200, revoked: true},
			{name: "public client, own refresh token, client_id only", owner: "public", revoker: "public", which: "refresh_token", status: 200, revoked: true},
			{name: "public client, another client's token", owner: "confidential", revoker: "public", which: "refresh_token", status: 200, revoked: false},
			{name: "wrong secret", owner: "confidential", revoker: "wrong secret", which: "refresh_token", status: 401, wantErr: "invalid_client", revoked: false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				owner := clients[tc.owner]
				tok := codeFlowTokens(t, s, owner, u, oauth2.AuthStyleInHeader)
				before := tok
				if tc.rotate {
					r := bcRefresh(t, s, owner, tok.RefreshToken)
					if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("refresh_token") == "" {
						t.Fatalf("refresh: %d %s", r.Status, r.Body)
					}
					tok = &oauth2.Token{AccessToken: r.str("access_token"), RefreshToken: r.str("refresh_token")}
				}
				token := tok.AccessToken
				if tc.which == "refresh_token" {
					token = tok.RefreshToken
				}
				form := url.Values{"token": {token}}
				if tc.hint != "" {
					form.Set("token_type_hint", tc.hint)
				}
				var user, pass string
				switch tc.revoker {
				case "owner":
					form, user, pass = bcAuth(owner, form)
				case "other":
					form, user, pass = bcAuth(clients["other"], form)
				case "public":
					form, user, pass = bcAuth(clients["public"], form)
				case "wrong secret":
					user, pass = owner.ID, owner.Secret+"x"
				}
				r := bcPost(t, s, "/oauth2/revoke", form, user, pass)
				if r.Status != tc.status {
					t.Fatalf("revoke: status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				if tc.wantErr != "" && r.str("error") != tc.wantErr {
					t.Fatalf("revoke: error %q, want %q: %s", r.str("error"), tc.wantErr, r.Body)
				}
				if tc.status == http.StatusOK && r.Body != "" {
					t.Fatalf("revoke: 200 with body %q", r.Body)
				}

				atActive := bcActive(t, s, observer, tok.AccessToken)
				ui := bcUserinfo(t, s, tok.AccessToken)
				if !tc.revoked {
					if !atActive || ui.Status != http.StatusOK || !bcActive(t, s, observer, tok.RefreshToken) {
						t.Fatalf("token revoked although it should not be: access active %t, userinfo %d", atActive, ui.Status)
					}
					// The refresh token still works.
					if rr := bcRefresh(t, s, owner, tok.RefreshToken); rr.Status != http.StatusOK {
						t.Fatalf("refresh after a refused revocation: %d %s", rr.Status, rr.Body)
					}
					return
				}
				if atActive {
					t.Fatal("access token still active after revocation")
				}
				if ui.Status != http.StatusUnauthorized || ui.str("error") != "invalid_token" || ui.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("userinfo after revocation: %d %s (WWW-Authenticate %q)", ui.Status, ui.Body, ui.Header.Get("WWW-Authenticate"))
				}
				if tc.which == "refresh_token" {
					if bcActive(t, s, observer, tok.RefreshToken) {
						t.Fatal("refresh token still active after revocation")
					}
					rr := bcRefresh(t, s, owner, tok.RefreshToken)
					if rr.Status != http.StatusBadRequest || rr.str("error") != "invalid_grant" {
						t.Fatalf("refresh with a revoked token: %d %s, want 400 invalid_grant", rr.Status, rr.Body)
					}
					// Every access token of the grant is gone, the one from before a rotation too.
					for _, at := range []string{tok.AccessToken, before.AccessToken} {
						if bcActive(t, s, observer, at) {
							t.Fatal("an access token of the revoked grant is still active")
						}
					}
				}
			})
		}

		t.Run("unknown token", func(t *testing.T) {
			// RFC 7009 section 2.2: an invalid token is not an error.
			c := clients["confidential"]
			r := bcPost(t, s, "/oauth2/revoke", url.Values{"token": {"no-such-token"}}, c.ID, c.Secret)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
		t.Run("missing token", func(t *testing.T) {
			c := clients["confidential"]
			r := bcPost(t, s, "/oauth2/revoke", url.Values{"token_type_hint": {"access_token"}}, c.ID, c.Secret)
			if r.Status != http.StatusBadRequest || r.str("error") != "invalid_request" {
				t.Fatalf("status %d: %s, want 400 invalid_request", r.Status, r.Body)
			}
		})
	})
}
