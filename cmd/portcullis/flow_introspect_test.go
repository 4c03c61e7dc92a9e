package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
)

// bcReply is a back-channel response (token, introspection, revocation, userinfo).
type bcReply struct {
	Status int
	Header http.Header
	Body   string
	JSON   map[string]any // nil when the body is not a JSON object
}

// mediaType is the Content-Type without parameters.
func (e bcReply) mediaType() string {
	mt, _, _ := mime.ParseMediaType(e.Header.Get("Content-Type"))
	return mt
}

func (e bcReply) str(key string) string {
	v, _ := e.JSON[key].(string)
	return v
}

// bcPost POSTs a form to path, with HTTP Basic client credentials when user is not empty
// (form-encoded first, RFC 6749 section 2.3.1).
func bcPost(t *testing.T, s *testServer, path string, form url.Values, user, pass string) bcReply {
	t.Helper()
	return bcPostRaw(t, s, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), user, pass)
}

func bcPostRaw(t *testing.T, s *testServer, path, contentType string, body io.Reader, user, pass string) bcReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return bcDo(t, req)
}

func bcDo(t *testing.T, req *http.Request) bcReply {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := bcReply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	_ = json.Unmarshal(b, &out.JSON)
	return out
}

// bcUserinfo calls the UserInfo endpoint with a bearer token.
func bcUserinfo(t *testing.T, s *testServer, accessToken string) bcReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return bcDo(t, req)
}

// bcAuth authenticates c the way it is registered: HTTP Basic for a secret, client_id in
// the body for a public client.
func bcAuth(c registered, form url.Values) (url.Values, string, string) {
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	if c.Secret == "" {
		out.Set("client_id", c.ID)
		return out, "", ""
	}
	return out, c.ID, c.Secret
}

// bcIntrospect calls the introspection endpoint as c.
func bcIntrospect(t *testing.T, s *testServer, c registered, token string) bcReply {
	t.Helper()
	form, user, pass := bcAuth(c, url.Values{"token": {token}})
	return bcPost(t, s, "/oauth2/introspect", form, user, pass)
}

// bcActive asks introspector whether token is active, failing on anything but a 200.
func bcActive(t *testing.T, s *testServer, introspector registered, token string) bool {
	t.Helper()
	r := bcIntrospect(t, s, introspector, token)
	if r.Status != http.StatusOK {
		t.Fatalf("introspection: %d %s", r.Status, r.Body)
	}
	active, ok := r.JSON["active"].(bool)
	if !ok {
		t.Fatalf("introspection without a boolean active: %s", r.Body)
	}
	return active
}

// bcRefresh runs the refresh_token grant as c.
func bcRefresh(t *testing.T, s *testServer, c registered, refreshToken string) bcReply {
	t.Helper()
	form, user, pass := bcAuth(c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
	return bcPost(t, s, "/oauth2/token", form, user, pass)
}

// codeFlowTokens runs a complete code flow with PKCE for c and an already signed-in u and returns the
// token response. style selects how x/oauth2 authenticates at the token endpoint.
func codeFlowTokens(t *testing.T, s *testServer, c registered, u directory.User, style oauth2.AuthStyle) *oauth2.Token {
	t.Helper()
	r := newRP(t, s, c)
	r.config.Endpoint.AuthStyle = style
	b := newBrowser(t)
	s.signIn(b, u, "passkey", []string{"hwk", "user"}, "phr", time.Now().Add(-time.Minute))
	verifier, _, state, resp := r.authorize(b)
	code := codeFrom(t, resp, state)
	tok, err := r.config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("want an access and a refresh token, got %+v", tok)
	}
	return tok
}

// nearUnix reports whether the JSON number v is within slack of want (a Unix time).
func nearUnix(v any, want time.Time, slack time.Duration) bool {
	f, ok := v.(float64)
	return ok && math.Abs(f-float64(want.Unix())) <= slack.Seconds()
}

func TestIntrospection(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		owner := s.createClient("--name", "Owner", "--redirect-uri", callback)
		other := s.createClient("--name", "Other", "--redirect-uri", callback)
		introspector := s.createClient("--name", "Resource server", "--redirect-uri", callback, "--introspect")
		public := s.createClient("--name", "Native", "--type", "public", "--redirect-uri", callback)
		poster := s.createClient("--name", "Poster", "--redirect-uri", callback, "--auth-method", "client_secret_post")
		u := s.createUser("ivy")

		own := codeFlowTokens(t, s, owner, u, oauth2.AuthStyleInHeader)
		theirs := codeFlowTokens(t, s, other, u, oauth2.AuthStyleInHeader)
		publicTok := codeFlowTokens(t, s, public, u, oauth2.AuthStyleInParams)
		posted := codeFlowTokens(t, s, poster, u, oauth2.AuthStyleInParams)
		issued := time.Now()
		const scope = "openid profile email offline_access"

		// activeFor checks the RFC 7662 section 2.2 members of an active token of client c.
		activeFor := func(c registered, tokenType string, lifetime time.Duration) func(t *testing.T, r bcReply) {
			return func(t *testing.T, r bcReply) {
				t.Helper()
				if r.JSON["active"] != true || r.str("scope") != scope || r.str("client_id") != c.ID || r.str("sub") != u.ID ||
					r.str("iss") != s.URL || r.str("username") != u.Username {
					t.Fatalf("introspection %s", r.Body)
				}
				if tokenType != "" && r.str("token_type") != tokenType {
					t.Fatalf("token_type %q, want %q", r.str("token_type"), tokenType)
				}
				if !nearUnix(r.JSON["exp"], issued.Add(lifetime), time.Minute) {
					t.Fatalf("exp %v, want about %d", r.JSON["exp"], issued.Add(lifetime).Unix())
				}
				if !nearUnix(r.JSON["iat"], issued, time.Minute) {
					t.Fatalf("iat %v, want about %d", r.JSON["iat"], issued.Unix())
				}
			}
		}
		// inactive is exactly {"active": false}: nothing about the token leaks (RFC 7662 section 2.2).
		inactive := func(t *testing.T, r bcReply) {
			t.Helper()
			if len(r.JSON) != 1 || r.JSON["active"] != false {
				t.Fatalf(`want exactly {"active":false}, got %s`, r.Body)
			}
		}
		const hour, month = time.Hour, 30 * 24 * time.Hour

		for _, tc := range []struct {
			name       string
			form       url.Values
			user, pass string // HTTP Basic
			status     int
			wantErr    string // RFC 6749 section 5.2 error code, for non-200 answers
			check      func(t *testing.T, r bcReply)
		}{
			{name: "own access token", form: url.Values{"token": {own.AccessToken}}, user: owner.ID, pass: owner.Secret,
				status: 200, check: activeFor(owner, "Bearer", hour)},
			{name: "own access token with hint", form: url.Values{"token": {own.AccessToken}, "token_type_hint": {"access_token"}},
				user: owner.ID, pass: owner.Secret, status: 200, check: activeFor(owner, "Bearer", hour)},
			{name: "own access token with the wrong hint", form: url.Values{"token": {own.AccessToken}, "token_type_hint": {"refresh_token"}},
				user: owner.ID, pass: owner.Secret, status: 200, check: activeFor(owner, "Bearer", hour)},
			{name: "own refresh token", form: url.Values{"token": {own.RefreshToken}}, user: owner.ID, pass: owner.Secret,
				status: 200, check: activeFor(owner, "", month)},
			{name: "own refresh token with hint", form: url.Values{"token": {own.RefreshToken}, "token_type_hint": {"refresh_token"}},
				user: owner.ID, pass: owner.Secret, status: 200, check: activeFor(owner, "", month)},
			{name: "another client's access token", form: url.Values{"token": {theirs.AccessToken}}, user: owner.ID, pass: owner.Secret,
				status: 200, check: inactive},
			{name: "another client's refresh token", form: url.Values{"token": {theirs.RefreshToken}}, user: owner.ID, pass: owner.Secret,
				status: 200, check: inactive},
			{name: "introspect permission: another client's access token", form: url.Values{"token": {theirs.AccessToken}},
				user: introspector.ID, pass: introspector.Secret, status: 200, check: activeFor(other, "Bearer", hour)},
			{name: "introspect permission: another client's refresh token", form: url.Values{"token": {own.RefreshToken}},
				user: introspector.ID, pass: introspector.Secret, status: 200, check: activeFor(owner, "", month)},
			{name: "introspect permission: a public client's token", form: url.Values{"token": {publicTok.AccessToken}},
				user: introspector.ID, pass: introspector.Secret, status: 200, check: activeFor(public, "Bearer", hour)},
			{name: "public client", form: url.Values{"token": {publicTok.AccessToken}, "client_id": {public.ID}},
				status: 401, wantErr: "invalid_client"},
			{name: "public client with Basic and no secret", form: url.Values{"token": {publicTok.AccessToken}}, user: public.ID,
				status: 401, wantErr: "invalid_client"},
			{name: "wrong secret", form: url.Values{"token": {own.AccessToken}}, user: owner.ID, pass: owner.Secret + "x",
				status: 401, wantErr: "invalid_client"},
			{name: "unknown client", form: url.Values{"token": {own.AccessToken}}, user: "no-such-client", pass: "secret",
				status: 401, wantErr: "invalid_client"},
			{name: "no client authentication", form: url.Values{"token": {own.AccessToken}}, status: 401, wantErr: "invalid_client"},
			{name: "garbage token", form: url.Values{"token": {"not-a-token.at-all"}}, user: owner.ID, pass: owner.Secret,
				status: 200, check: inactive},
			{name: "garbage JWT-shaped token", form: url.Values{"token": {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"}},
				user: owner.ID, pass: owner.Secret, status: 200, check: inactive},
			{name: "missing token", form: url.Values{"token_type_hint": {"access_token"}}, user: owner.ID, pass: owner.Secret,
				status: 400, wantErr: "invalid_request"},
			{name: "client_secret_post", form: url.Values{"token": {posted.AccessToken}, "client_id": {poster.ID}, "client_secret": {poster.Secret}},
				status: 200, check: activeFor(poster, "Bearer", hour)},
			{name: "client_secret_post with the wrong secret", form: url.Values{"token": {posted.AccessToken}, "client_id": {poster.ID},
				"client_secret": {"wrong"}}, status: 401, wantErr: "invalid_client"},
			{name: "client_secret_post client using Basic", form: url.Values{"token": {posted.AccessToken}}, user: poster.ID, pass: poster.Secret,
				status: 401, wantErr: "invalid_client"},
			{name: "client_secret_basic client using the body", form: url.Values{"token": {own.AccessToken}, "client_id": {owner.ID},
				"client_secret": {owner.Secret}}, status: 401, wantErr: "invalid_client"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := bcPost(t, s, "/oauth2/introspect", tc.form, tc.user, tc.pass)
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				if r.mediaType() != "application/json" || !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
					t.Fatalf("Content-Type %q, Cache-Control %q", r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
				}
				if tc.wantErr != "" {
					if r.str("error") != tc.wantErr {
						t.Fatalf("error %q, want %q: %s", r.str("error"), tc.wantErr, r.Body)
					}
					if _, leaked := r.JSON["active"]; leaked {
						t.Fatalf("an error answer carries active: %s", r.Body)
					}
					if tc.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
						t.Fatal("401 without WWW-Authenticate (RFC 6749 section 5.2)")
					}
					return
				}
				tc.check(t, r)
			})
		}
	})
}
