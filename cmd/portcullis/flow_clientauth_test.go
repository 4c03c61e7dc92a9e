package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// RSA key generation is slow: two keys (one registered, one not) serve every test.
var (
	assertionRSAKey      = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	assertionOtherRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

func assertionRSA(t *testing.T, f func() (*rsa.PrivateKey, error)) *rsa.PrivateKey {
	t.Helper()
	k, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newAssertionECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clientKey is a client's private key for private_key_jwt (RFC 7523) and the algorithm it signs with.
type clientKey struct {
	alg jose.SignatureAlgorithm
	kid string
	key any // *ecdsa.PrivateKey or *rsa.PrivateKey
}

// jwks is the public JWK Set to register for k.
func (k clientKey) jwks(t *testing.T) string {
	t.Helper()
	var pub any
	switch key := k.key.(type) {
	case *ecdsa.PrivateKey:
		pub = &key.PublicKey
	case *rsa.PrivateKey:
		pub = &key.PublicKey
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: k.kid, Use: "sig", Algorithm: string(k.alg)}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sign makes a compact JWS of claims with k (typ JWT, kid header).
func (k clientKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertionClaims are valid client assertion claims (RFC 7523 section 3) for clientID.
func assertionClaims(s *testServer, clientID string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": clientID, "sub": clientID, "aud": s.URL + "/oauth2/token",
		"jti": "jti-" + oauth2.GenerateVerifier()[:24], "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}
}

// assertionRequest calls endpoint (token or introspection) authenticating clientID with assertion.
func assertionRequest(t *testing.T, endpoint, clientID, assertion string, form url.Values) endpointResponse {
	t.Helper()
	f := url.Values{"client_id": {clientID}, "client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}
	for k, v := range form {
		f[k] = v
	}
	return postEndpoint(t, endpoint, f, "", "")
}

func TestClientAuthPrivateKeyJWT(t *testing.T) {
	rsaKey, otherRSA := assertionRSA(t, assertionRSAKey), assertionRSA(t, assertionOtherRSAKey)
	ecKey, otherEC := newAssertionECKey(t), newAssertionECKey(t)
	for _, v := range []struct {
		name string
		key  clientKey
		args []string
		// wrongKey has the registered kid and algorithm but is another key.
		wrongKey clientKey
		// otherAlg is a key the client holds, used with an algorithm it has not registered.
		otherAlg clientKey
	}{
		{name: "ES256", key: clientKey{jose.ES256, "ec-1", ecKey},
			wrongKey: clientKey{jose.ES256, "ec-1", otherEC}, otherAlg: clientKey{jose.RS256, "ec-1", rsaKey}},
		{name: "RS256", key: clientKey{jose.RS256, "rsa-1", rsaKey},
			wrongKey: clientKey{jose.RS256, "rsa-1", otherRSA}, otherAlg: clientKey{jose.PS256, "rsa-1", rsaKey}},
		{name: "PS256", key: clientKey{jose.PS256, "rsa-1", rsaKey}, args: []string{"--auth-signing-alg", "PS256"},
			wrongKey: clientKey{jose.PS256, "rsa-1", otherRSA}, otherAlg: clientKey{jose.RS256, "rsa-1", rsaKey}},
	} {
		t.Run(v.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, s *testServer) {
				ctx := context.Background()
				tokenURL := s.URL + "/oauth2/token"
				c := s.createClient(append([]string{"--name", "Keyed " + v.name, "--auth-method", "private_key_jwt",
					"--jwks", v.key.jwks(t), "--scope", "admin:read"}, v.args...)...)
				if c.Secret != "" {
					t.Fatal("a private_key_jwt client was given a secret")
				}
				show, err := s.cli("clients", "show", c.ID, "--output", "json")
				if err != nil {
					t.Fatal(err)
				}
				var reg struct {
					Method string `json:"token_endpoint_auth_method"`
					Alg    string `json:"token_endpoint_auth_signing_alg"`
				}
				if err := json.Unmarshal([]byte(show), &reg); err != nil || reg.Method != "private_key_jwt" || reg.Alg != v.name {
					t.Fatalf("registered %+v (%v), want private_key_jwt with %s", reg, err, v.name)
				}

				t.Run("token", func(t *testing.T) {
					cfg := clientcredentials.Config{ClientID: c.ID, TokenURL: tokenURL, Scopes: []string{"admin:read"},
						AuthStyle: oauth2.AuthStyleInParams, EndpointParams: url.Values{
							"client_assertion_type": {jwtBearerAssertion},
							"client_assertion":      {v.key.sign(t, assertionClaims(s, c.ID))},
						}}
					tok, err := cfg.Token(ctx)
					if err != nil {
						t.Fatalf("token: %v", err)
					}
					// Introspection authenticates the same way (the assertion's aud is the token endpoint).
					in := assertionRequest(t, s.URL+"/oauth2/introspect", c.ID, v.key.sign(t, assertionClaims(s, c.ID)),
						url.Values{"token": {tok.AccessToken}})
					if in.status != http.StatusOK || in.body["active"] != true || in.str("client_id") != c.ID || in.str("scope") != "admin:read" {
						t.Fatalf("introspection: %d %s", in.status, in.raw)
					}
				})

				for _, tc := range []struct {
					name   string
					key    clientKey
					mutate func(map[string]any)
					// replay sends the assertion once first, which must succeed.
					replay bool
				}{
					{name: "replayed jti", key: v.key, replay: true},
					{name: "another key with the registered kid", key: v.wrongKey},
					{name: "unregistered key and kid", key: clientKey{v.wrongKey.alg, "unknown-kid", v.wrongKey.key}},
					{name: "algorithm not registered", key: v.otherAlg},
					{name: "expired", key: v.key, mutate: func(c map[string]any) {
						c["iat"], c["exp"] = time.Now().Add(-5*time.Minute).Unix(), time.Now().Add(-time.Minute).Unix()
					}},
					{name: "no exp", key: v.key, mutate: func(c map[string]any) { delete(c, "exp") }},
					{name: "no jti", key: v.key, mutate: func(c map[string]any) { delete(c, "jti") }},
					{name: "audience is the issuer", key: v.key, mutate: func(c map[string]any) { c["aud"] = s.URL }},
					{name: "iss is another client", key: v.key, mutate: func(c map[string]any) { c["iss"] = "someone-else" }},
				} {
					t.Run(tc.name, func(t *testing.T) {
						claims := assertionClaims(s, c.ID)
						if tc.mutate != nil {
							tc.mutate(claims)
						}
						assertion := tc.key.sign(t, claims)
						form := url.Values{"grant_type": {"client_credentials"}}
						if tc.replay {
							first := assertionRequest(t, tokenURL, c.ID, assertion, form)
							if first.status != http.StatusOK || first.str("access_token") == "" {
								t.Fatalf("first use of the assertion: %d %s", first.status, first.raw)
							}
						}
						got := assertionRequest(t, tokenURL, c.ID, assertion, form)
						wantEndpointError(t, got, http.StatusUnauthorized, "invalid_client")
					})
				}
			})
		})
	}
}

func TestIDTokenRS256(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		for i, tc := range []struct {
			name  string
			args  []string
			alg   string
			other string
		}{
			{"RS256", []string{"--id-token-alg", "RS256"}, "RS256", "ES256"},
			{"default ES256", nil, "ES256", "RS256"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(append([]string{"--name", "Web " + tc.name, "--redirect-uri", callback}, tc.args...)...)
				r := newRP(t, s, c)
				f := signedInCodeFlow(t, s, r, s.createUser(fmt.Sprintf("alg-%d", i)))
				checkAlg := func(raw string) {
					t.Helper()
					if h := jwsHeader(t, raw); h["alg"] != tc.alg {
						t.Fatalf("ID token header %v, want alg %s", h, tc.alg)
					}
					verifyWithJWKS(t, s, raw, tc.alg)
					only := r.provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{tc.alg}})
					if _, err := only.Verify(ctx, raw); err != nil {
						t.Fatalf("go-oidc with only %s: %v", tc.alg, err)
					}
					not := r.provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{tc.other}})
					if _, err := not.Verify(ctx, raw); err == nil {
						t.Fatalf("go-oidc accepting only %s verified the ID token", tc.other)
					}
				}
				checkAlg(f.rawID)
				// A refreshed ID token is signed with the client's algorithm too.
				tok, err := r.refresh(f.tok.RefreshToken)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				if raw == "" {
					t.Fatal("no refreshed id_token")
				}
				checkAlg(raw)
			})
		}
	})
}

var (
	formPostTagRE    = regexp.MustCompile(`(?is)<(form|input|script)\b([^>]*)>`)
	formPostScriptRE = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	formPostAttrRE   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
)

func formPostAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range formPostAttrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// formPostPage is what a form_post response page submits.
type formPostPage struct {
	method, action, id string
	fields             url.Values
}

// parseFormPost reads the single form of a form_post page and checks that the page has no inline
// script: its one script is /static/formpost.js.
func parseFormPost(t *testing.T, body string) formPostPage {
	t.Helper()
	var p formPostPage
	p.fields = url.Values{}
	forms := 0
	for _, m := range formPostTagRE.FindAllStringSubmatch(body, -1) {
		a := formPostAttrs(m[2])
		switch strings.ToLower(m[1]) {
		case "form":
			forms++
			p.method, p.action, p.id = strings.ToLower(a["method"]), a["action"], a["id"]
		case "input":
			if a["type"] != "hidden" {
				t.Fatalf("form_post input of type %q", a["type"])
			}
			p.fields.Add(a["name"], a["value"])
		}
	}
	if forms != 1 {
		t.Fatalf("%d forms in the form_post page:\n%s", forms, body)
	}
	scripts := formPostScriptRE.FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || strings.Count(strings.ToLower(body), "<script") != 1 {
		t.Fatalf("want exactly one script element:\n%s", body)
	}
	if src := formPostAttrs(scripts[0][1])["src"]; src != "/static/formpost.js" || strings.TrimSpace(scripts[0][2]) != "" {
		t.Fatalf("script src %q with content %q, want the external /static/formpost.js only", src, scripts[0][2])
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=|javascript:`).FindString(body); m != "" {
		t.Fatalf("inline script %q in the form_post page", m)
	}
	return p
}

func TestFormPost(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		js, jsBody := newBrowser(t).get(s.URL + "/static/formpost.js")
		if js.StatusCode != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") ||
			!strings.Contains(jsBody, `getElementById("form_post")`) || !strings.Contains(jsBody, ".submit()") {
			t.Fatalf("/static/formpost.js: %d %q %s", js.StatusCode, js.Header.Get("Content-Type"), jsBody)
		}
		for i, tc := range []struct {
			name     string
			args     []string
			signedIn bool
			prompt   string
			want     map[string]string // expected fields besides state; "*" = any non-empty value
		}{
			{name: "code, confidential client", args: []string{"--name", "Web", "--redirect-uri", callback}, signedIn: true,
				want: map[string]string{"code": "*"}},
			{name: "code, public client", args: []string{"--name", "Native", "--type", "public", "--redirect-uri", callback}, signedIn: true,
				want: map[string]string{"code": "*"}},
			{name: "error, prompt=none without a session", args: []string{"--name", "Web", "--redirect-uri", callback},
				prompt: "none", want: map[string]string{"error": "login_required", "error_description": "*"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.createClient(tc.args...)
				r := newRP(t, s, c)
				b := newBrowser(t)
				if tc.signedIn {
					s.signIn(b, s.createUser(fmt.Sprintf("form-post-%d", i)), "passkey", []string{"hwk"}, "phr", time.Now().Add(-time.Minute))
				}
				// A state with markup characters must come back escaped in the page and intact in the form.
				state := `st<"&'>` + oauth2.GenerateVerifier()[:12]
				verifier := oauth2.GenerateVerifier()
				opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-" + oauth2.GenerateVerifier()[:16]),
					oauth2.SetAuthURLParam("response_mode", "form_post")}
				if tc.prompt != "" {
					opts = append(opts, oauth2.SetAuthURLParam("prompt", tc.prompt))
				}
				resp, body := b.get(r.config.AuthCodeURL(state, opts...))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("form_post response: %d (Location %q) %s", resp.StatusCode, resp.Header.Get("Location"), body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/html") {
					t.Fatalf("Content-Type %q", ct)
				}
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
					t.Fatalf("Content-Security-Policy %q", csp)
				}
				if strings.Contains(body, `st<"&'>`) {
					t.Fatal("the state is not escaped in the page")
				}
				p := parseFormPost(t, body)
				if p.method != "post" || p.action != callback || p.id != "form_post" {
					t.Fatalf("form method %q action %q id %q, want post to %s with id form_post", p.method, p.action, p.id, callback)
				}
				if got := p.fields["state"]; len(got) != 1 || got[0] != state {
					t.Fatalf("state fields %q, want %q", got, state)
				}
				for k, want := range tc.want {
					got := p.fields[k]
					if len(got) != 1 || got[0] == "" || (want != "*" && got[0] != want) {
						t.Fatalf("field %s = %q, want %q", k, got, want)
					}
				}
				for k := range p.fields {
					if _, ok := tc.want[k]; !ok && k != "state" && k != "scope" && k != "iss" {
						t.Fatalf("unexpected field %s in %v", k, p.fields)
					}
				}
				if _, ok := tc.want["code"]; !ok {
					if p.fields.Has("code") {
						t.Fatalf("a code in an error response: %v", p.fields)
					}
					return
				}
				tok, err := r.config.Exchange(ctx, p.fields.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("exchange the posted code: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				if _, err := r.verifier.Verify(ctx, raw); err != nil {
					t.Fatalf("verify id token: %v", err)
				}
			})
		}
	})
}
