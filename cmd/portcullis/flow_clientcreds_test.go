package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// endpointResponse is the decoded JSON answer of an OAuth endpoint called with plain HTTP.
type endpointResponse struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	basic  bool // the request carried HTTP Basic credentials
}

func (e endpointResponse) str(key string) string {
	v, _ := e.body[key].(string)
	return v
}

// postEndpoint POSTs form to endpoint, with HTTP Basic client credentials when basicID is set
// (form-encoded first, as RFC 6749 section 2.3.1 asks).
func postEndpoint(t *testing.T, endpoint string, form url.Values, basicID, basicSecret string) endpointResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := endpointResponse{status: resp.StatusCode, header: resp.Header, raw: string(raw), basic: basicID != ""}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s answered %d with a body that is not JSON: %q", endpoint, resp.StatusCode, raw)
	}
	return out
}

// wantEndpointError checks a plain-HTTP OAuth error response; invalid_client for a request with
// HTTP Basic credentials must come with a Basic challenge (RFC 6749 section 5.2).
func wantEndpointError(t *testing.T, got endpointResponse, status int, code string) {
	t.Helper()
	if got.status != status || got.str("error") != code {
		t.Fatalf("got %d %s, want %d %q", got.status, got.raw, status, code)
	}
	if _, ok := got.body["access_token"]; ok {
		t.Fatalf("an error response carries an access token: %s", got.raw)
	}
	if code == "invalid_client" && got.basic && !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("invalid_client without a Basic WWW-Authenticate challenge: %q", got.header.Get("WWW-Authenticate"))
	}
}

// introspectAs introspects token, authenticating as c with HTTP Basic (client_secret_basic) or
// in the body (client_secret_post).
func introspectAs(t *testing.T, s *testServer, c registered, style oauth2.AuthStyle, token string) endpointResponse {
	t.Helper()
	form := url.Values{"token": {token}}
	if style == oauth2.AuthStyleInParams {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
		return postEndpoint(t, s.URL+"/oauth2/introspect", form, "", "")
	}
	return postEndpoint(t, s.URL+"/oauth2/introspect", form, c.ID, c.Secret)
}

// fetchJWKS reads the server's published signing keys.
func fetchJWKS(t *testing.T, s *testServer) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	return set
}

// jwsHeader decodes the protected header of a compact JWS without verifying it.
func jwsHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	return h
}

// verifyWithJWKS verifies a JWS signed by the server against the key its kid names in the
// published JWKS, which must be of wantAlg, and returns the verified payload.
func verifyWithJWKS(t *testing.T, s *testServer, token, wantAlg string) []byte {
	t.Helper()
	jws, err := jose.ParseSigned(token)
	if err != nil {
		t.Fatalf("parse JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		t.Fatalf("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Header
	if h.Algorithm != wantAlg || h.KeyID == "" {
		t.Fatalf("JWS alg %q kid %q, want alg %s and a kid", h.Algorithm, h.KeyID, wantAlg)
	}
	set := fetchJWKS(t, s)
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in the JWKS, want 1", h.KeyID, len(keys))
	}
	if keys[0].Algorithm != wantAlg || keys[0].Use != "sig" || !keys[0].IsPublic() {
		t.Fatalf("published key %q: alg %q use %q public %t", h.KeyID, keys[0].Algorithm, keys[0].Use, keys[0].IsPublic())
	}
	payload, err := jws.Verify(&keys[0])
	if err != nil {
		t.Fatalf("signature does not verify against the published key %q: %v", h.KeyID, err)
	}
	return payload
}

// accessTokenClaims are the RFC 9068 claims of a JWT access token.
type accessTokenClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      []string `json:"aud"`
	ClientID string   `json:"client_id"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	JTI      string   `json:"jti"`
	Scope    string   `json:"scope"`
	AuthTime *int64   `json:"auth_time"`
}

// checkJWTAccessToken checks an RFC 9068 access token of the client credentials grant.
func checkJWTAccessToken(t *testing.T, s *testServer, token, clientID string, aud []string, scope string) accessTokenClaims {
	t.Helper()
	h := jwsHeader(t, token)
	if h["typ"] != "at+jwt" || h["alg"] != "ES256" {
		t.Fatalf("JWT access token header %v, want typ at+jwt and alg ES256", h)
	}
	payload := verifyWithJWKS(t, s, token, "ES256")
	var c accessTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("claims %s: %v", payload, err)
	}
	now := time.Now().Unix()
	switch {
	case c.Iss != s.URL:
		t.Fatalf("iss %q, want %q", c.Iss, s.URL)
	case c.Sub != clientID || c.ClientID != clientID:
		t.Fatalf("sub %q client_id %q, want both %q", c.Sub, c.ClientID, clientID)
	case !slices.Equal(c.Aud, aud):
		t.Fatalf("aud %v, want %v", c.Aud, aud)
	case c.Iat < now-60 || c.Iat > now+5:
		t.Fatalf("iat %d, now %d", c.Iat, now)
	case c.Exp <= c.Iat || c.Exp-c.Iat < 3599 || c.Exp-c.Iat > 3600:
		t.Fatalf("exp %d iat %d, want a one-hour token", c.Exp, c.Iat)
	case c.JTI == "":
		t.Fatal("no jti")
	case c.Scope != scope:
		t.Fatalf("scope %q, want %q", c.Scope, scope)
	case c.AuthTime != nil:
		t.Fatalf("a client's own token has auth_time %d", *c.AuthTime)
	}
	return c
}

func TestClientCredentials(t *testing.T) {
	const api = "https://api.example.com"
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		for _, tc := range []struct {
			name     string
			args     []string
			style    oauth2.AuthStyle
			scopes   []string
			audience string
			jwt      bool
			wantAud  []string
		}{
			{name: "opaque, client_secret_basic", args: []string{"--scope", "admin:read", "--scope", "org"},
				style: oauth2.AuthStyleInHeader, scopes: []string{"admin:read", "org"}},
			{name: "opaque, client_secret_post", args: []string{"--scope", "admin:read", "--auth-method", "client_secret_post"},
				style: oauth2.AuthStyleInParams, scopes: []string{"admin:read"}},
			{name: "opaque, audience", args: []string{"--scope", "admin:read", "--audience", api},
				style: oauth2.AuthStyleInHeader, scopes: []string{"admin:read"}, audience: api, wantAud: []string{api}},
			{name: "JWT", args: []string{"--scope", "admin:read", "--scope", "org", "--jwt-access-tokens"},
				style: oauth2.AuthStyleInHeader, scopes: []string{"admin:read", "org"}, jwt: true},
			{name: "JWT, audience", args: []string{"--scope", "admin:read", "--audience", api, "--jwt-access-tokens"},
				style: oauth2.AuthStyleInHeader, scopes: []string{"admin:read"}, audience: api, jwt: true, wantAud: []string{api}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(append([]string{"--name", "Service"}, tc.args...)...)
				if c.Secret == "" {
					t.Fatal("no secret for a confidential client")
				}
				cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.URL + "/oauth2/token",
					Scopes: tc.scopes, AuthStyle: tc.style}
				if tc.audience != "" {
					cfg.EndpointParams = url.Values{"audience": {tc.audience}}
				}
				tok, err := cfg.Token(ctx)
				if err != nil {
					t.Fatalf("token: %v", err)
				}
				if !strings.EqualFold(tok.TokenType, "bearer") || tok.RefreshToken != "" {
					t.Fatalf("token_type %q refresh_token %q", tok.TokenType, tok.RefreshToken)
				}
				if _, ok := tok.Extra("id_token").(string); ok {
					t.Fatal("an ID token for the client credentials grant")
				}
				if left := time.Until(tok.Expiry); left < 59*time.Minute || left > 61*time.Minute {
					t.Fatalf("expires in %s, want an hour", left)
				}
				if got := tok.Extra("scope"); got != strings.Join(tc.scopes, " ") {
					t.Fatalf("scope %v, want %q", got, strings.Join(tc.scopes, " "))
				}
				scope := strings.Join(tc.scopes, " ")
				if tc.jwt {
					aud := tc.wantAud
					if aud == nil {
						aud = []string{s.URL}
					}
					first := checkJWTAccessToken(t, s, tok.AccessToken, c.ID, aud, scope)
					again, err := cfg.Token(ctx)
					if err != nil {
						t.Fatalf("second token: %v", err)
					}
					if second := checkJWTAccessToken(t, s, again.AccessToken, c.ID, aud, scope); second.JTI == first.JTI {
						t.Fatalf("two tokens share jti %q", first.JTI)
					}
				} else if strings.Count(tok.AccessToken, ".") == 2 {
					t.Fatalf("opaque token expected, got a JWT-shaped %q", tok.AccessToken)
				}

				// The client can introspect its own token: it is active and is the client's.
				in := introspectAs(t, s, c, tc.style, tok.AccessToken)
				if in.status != http.StatusOK || in.body["active"] != true {
					t.Fatalf("introspection: %d %s", in.status, in.raw)
				}
				if in.str("client_id") != c.ID || in.str("sub") != c.ID || in.str("scope") != scope || in.str("token_type") != "Bearer" {
					t.Fatalf("introspection: %s", in.raw)
				}
				if tc.wantAud != nil {
					aud, _ := in.body["aud"].([]any)
					if len(aud) != 1 || aud[0] != tc.wantAud[0] {
						t.Fatalf("introspected aud %v, want %v", in.body["aud"], tc.wantAud)
					}
				}
			})
		}
	})
}

func TestClientCredentialsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		basic := s.createClient("--name", "Basic svc", "--scope", "admin:read")
		post := s.createClient("--name", "Post svc", "--scope", "admin:read", "--auth-method", "client_secret_post")
		web := s.createClient("--name", "Web", "--redirect-uri", callback)
		public := s.createClient("--name", "Native", "--type", "public", "--redirect-uri", callback)
		for _, tc := range []struct {
			name   string
			id     string
			secret string
			style  oauth2.AuthStyle
			scopes []string
			status int
			code   string
		}{
			{"scope not allowed for the client", basic.ID, basic.Secret, oauth2.AuthStyleInHeader, []string{"admin:write"}, 400, "invalid_scope"},
			{"one of the scopes not allowed", basic.ID, basic.Secret, oauth2.AuthStyleInHeader, []string{"admin:read", "admin:write"}, 400, "invalid_scope"},
			{"unknown scope", basic.ID, basic.Secret, oauth2.AuthStyleInHeader, []string{"files:delete"}, 400, "invalid_scope"},
			{"wrong secret", basic.ID, basic.Secret + "x", oauth2.AuthStyleInHeader, nil, 401, "invalid_client"},
			{"another client's secret", basic.ID, post.Secret, oauth2.AuthStyleInHeader, nil, 401, "invalid_client"},
			{"unknown client", "no-such-client", basic.Secret, oauth2.AuthStyleInHeader, nil, 401, "invalid_client"},
			{"client_secret_post client sends Basic", post.ID, post.Secret, oauth2.AuthStyleInHeader, nil, 401, "invalid_client"},
			{"client_secret_basic client sends the secret in the body", basic.ID, basic.Secret, oauth2.AuthStyleInParams, nil, 401, "invalid_client"},
			{"code-flow client without the grant", web.ID, web.Secret, oauth2.AuthStyleInHeader, nil, 400, "unauthorized_client"},
			// fosite refuses a public client this grant with invalid_grant.
			{"public client", public.ID, "", oauth2.AuthStyleInParams, nil, 400, "invalid_grant"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := clientcredentials.Config{ClientID: tc.id, ClientSecret: tc.secret, TokenURL: s.URL + "/oauth2/token",
					Scopes: tc.scopes, AuthStyle: tc.style}
				tok, err := cfg.Token(ctx)
				if err == nil {
					t.Fatalf("token issued: %+v", tok)
				}
				re := wantRetrieveError(t, err, tc.status, tc.code)
				challenge := re.Response.Header.Get("WWW-Authenticate")
				if tc.code == "invalid_client" && !strings.HasPrefix(challenge, "Basic ") {
					t.Fatalf("invalid_client without a Basic WWW-Authenticate challenge: %q", challenge)
				}
				if tc.code != "invalid_client" && challenge != "" {
					t.Fatalf("WWW-Authenticate %q on a %s error", challenge, tc.code)
				}
			})
		}
	})
}

func TestClientCredentialsPublicClientRefusedByCLI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"client_credentials only", []string{"--name", "Public svc", "--type", "public", "--grant-type", "client_credentials"}},
			{"with the code flow", []string{"--name", "Public mixed", "--type", "public", "--redirect-uri", callback,
				"--grant-type", "authorization_code", "--grant-type", "client_credentials"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, err := s.cli(append([]string{"clients", "create", "--output", "json"}, tc.args...)...)
				if err == nil {
					t.Fatalf("public client with client_credentials created: %s", out)
				}
				if !strings.Contains(err.Error(), "client_credentials") || !strings.Contains(err.Error(), "only for confidential clients") {
					t.Fatalf("error %q does not explain the refusal", err)
				}
				list, err := s.cli("clients", "list", "--output", "json")
				if err != nil {
					t.Fatal(err)
				}
				var all []struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal([]byte(list), &all); err != nil {
					t.Fatalf("list %q: %v", list, err)
				}
				for _, c := range all {
					if c.Name == tc.args[1] {
						t.Fatalf("the refused client %q was stored", c.Name)
					}
				}
			})
		}
	})
}
