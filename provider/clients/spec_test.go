package clients

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeDefaults(t *testing.T) {
	ecJWKS := publicJWKS(t)
	tests := []struct {
		name string
		spec Spec
		want Spec
	}{
		{
			name: "web app",
			spec: Spec{Name: " Web ", RedirectURIs: []string{" https://a.example/cb ", "", "https://a.example/cb"}},
			want: Spec{Name: "Web", OrgID: "system", Type: TypeConfidential,
				RedirectURIs: []string{"https://a.example/cb"},
				GrantTypes:   []string{"authorization_code", "refresh_token"},
				Scopes:       []string{"openid", "profile", "email", "offline_access", "org", "roles"},
				AuthMethod:   "client_secret_basic", IDTokenAlg: "ES256"},
		},
		{
			name: "service",
			spec: Spec{Name: "Svc", OrgID: "acme"},
			want: Spec{Name: "Svc", OrgID: "acme", Type: TypeConfidential,
				GrantTypes: []string{"client_credentials"},
				Scopes:     []string{"openid", "profile", "email", "offline_access", "org", "roles"},
				AuthMethod: "client_secret_basic", IDTokenAlg: "ES256"},
		},
		{
			name: "public app",
			spec: Spec{Name: "App", Type: "public", RedirectURIs: []string{"com.example.app:/cb"}, Scopes: []string{"openid"}},
			want: Spec{Name: "App", OrgID: "system", Type: TypePublic,
				RedirectURIs: []string{"com.example.app:/cb"},
				GrantTypes:   []string{"authorization_code", "refresh_token"},
				Scopes:       []string{"openid"},
				AuthMethod:   "none", IDTokenAlg: "ES256"},
		},
		{
			name: "key set given",
			spec: Spec{Name: "Svc", JWKSURI: "https://svc.example/jwks.json", IDTokenAlg: "RS256"},
			want: Spec{Name: "Svc", OrgID: "system", Type: TypeConfidential,
				GrantTypes: []string{"client_credentials"},
				Scopes:     []string{"openid", "profile", "email", "offline_access", "org", "roles"},
				AuthMethod: "private_key_jwt", JWKSURI: "https://svc.example/jwks.json", AuthSigningAlg: "RS256",
				IDTokenAlg: "RS256"},
		},
		{
			name: "inline EC key set",
			spec: Spec{Name: "Svc", JWKS: ecJWKS},
			want: Spec{Name: "Svc", OrgID: "system", Type: TypeConfidential,
				GrantTypes: []string{"client_credentials"},
				Scopes:     []string{"openid", "profile", "email", "offline_access", "org", "roles"},
				AuthMethod: "private_key_jwt", JWKS: ecJWKS, AuthSigningAlg: "ES256", IDTokenAlg: "ES256"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec
			got.Normalize()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Normalize:\n got %+v\nwant %+v", got, tt.want)
			}
			again := got
			again.Normalize()
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("Normalize is not idempotent: %+v", again)
			}
		})
	}
}

func TestNormalizeDoesNotTouchCallerLists(t *testing.T) {
	uris := []string{" https://a.example/cb "}
	s := Spec{Name: "x", RedirectURIs: uris}
	s.Normalize()
	if uris[0] != " https://a.example/cb " {
		t.Fatalf("caller's slice changed: %q", uris[0])
	}
}

func TestValidate(t *testing.T) {
	web := func(s *Spec) { s.RedirectURIs = []string{"https://app.example.com/cb"} }
	tests := []struct {
		name   string
		edit   func(s *Spec)
		field  string // "" = valid
		detail string // part of the message
	}{
		// Valid specs.
		{"confidential web app", web, "", ""},
		{"service", func(s *Spec) {}, "", ""},
		{"service with audience and introspection", func(s *Spec) {
			s.Audience = []string{"https://api.example.com"}
			s.CanIntrospect = true
			s.Scopes = []string{"admin:read", "admin:write"}
		}, "", ""},
		{"public native app", func(s *Spec) {
			s.Type = "public"
			s.RedirectURIs = []string{"com.example.app:/cb", "http://127.0.0.1:5000/cb", "http://[::1]/cb"}
		}, "", ""},
		{"post logout uris", func(s *Spec) {
			web(s)
			s.PostLogoutRedirectURIs = []string{"https://app.example.com/bye"}
		}, "", ""},
		{"client_secret_post", func(s *Spec) { s.AuthMethod = "client_secret_post" }, "", ""},
		{"all scopes", func(s *Spec) {
			web(s)
			s.Scopes = []string{"openid", "profile", "email", "offline_access", "org", "roles", "admin:read", "admin:write"}
		}, "", ""},
		{"code without refresh", func(s *Spec) { web(s); s.GrantTypes = []string{"authorization_code"} }, "", ""},
		{"code and client credentials", func(s *Spec) {
			web(s)
			s.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
		}, "", ""},
		{"private_key_jwt with jwks_uri", func(s *Spec) {
			s.AuthMethod = "private_key_jwt"
			s.JWKSURI = "https://svc.example/jwks.json"
		}, "", ""},
		{"private_key_jwt with PS256", func(s *Spec) {
			s.JWKSURI = "https://svc.example/jwks.json"
			s.AuthSigningAlg = "PS256"
		}, "", ""},
		{"RS256 id tokens", func(s *Spec) { web(s); s.IDTokenAlg = "RS256" }, "", ""},
		{"all flags", func(s *Spec) {
			web(s)
			s.JWTAccessTokens, s.RequirePAR, s.FirstParty, s.CanIntrospect = true, true, true, true
		}, "", ""},

		// Name and organisation.
		{"no name", func(s *Spec) { s.Name = "  " }, "name", "required"},
		{"long name", func(s *Spec) { s.Name = strings.Repeat("é", 101) }, "name", "longer than 100"},
		{"name of 100 characters", func(s *Spec) { s.Name = strings.Repeat("é", 100) }, "", ""},
		{"name with control character", func(s *Spec) { s.Name = "a\x00b" }, "name", "control"},
		{"unknown type", func(s *Spec) { s.Type = "trusted" }, "type", "confidential"},

		// Grant types.
		{"unknown grant", func(s *Spec) { s.GrantTypes = []string{"password"} }, "grant_types", "not supported"},
		{"implicit grant", func(s *Spec) { web(s); s.GrantTypes = []string{"implicit"} }, "grant_types", "not supported"},
		{"public client credentials", func(s *Spec) {
			s.Type = "public"
			s.GrantTypes = []string{"client_credentials"}
		}, "grant_types", "only for confidential"},
		{"refresh without code", func(s *Spec) { s.GrantTypes = []string{"client_credentials", "refresh_token"} }, "grant_types", "requires authorization_code"},

		// Redirect URIs.
		{"code without redirect uris", func(s *Spec) { s.GrantTypes = []string{"authorization_code"} }, "redirect_uris", "required"},
		{"public without redirect uris", func(s *Spec) { s.Type = "public" }, "redirect_uris", "required"},
		{"redirect uris without code", func(s *Spec) { web(s); s.GrantTypes = []string{"client_credentials"} }, "redirect_uris", "only used"},
		{"post logout without code", func(s *Spec) { s.PostLogoutRedirectURIs = []string{"https://a.example/bye"} }, "post_logout_redirect_uris", "only used"},
		{"http redirect", func(s *Spec) { s.RedirectURIs = []string{"http://example.com"} }, "redirect_uri", "http is only allowed"},
		{"fragment redirect", func(s *Spec) { s.RedirectURIs = []string{"https://x/cb#frag"} }, "redirect_uri", "fragment"},
		{"scheme without dot", func(s *Spec) { s.RedirectURIs = []string{"myapp:/cb"} }, "redirect_uri", "reverse domain"},
		{"javascript redirect", func(s *Spec) { s.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uri", "not allowed"},
		{"one bad uri of two", func(s *Spec) {
			s.RedirectURIs = []string{"https://ok.example/cb", "https://*.example/cb"}
		}, "redirect_uri", "wildcard"},
		{"bad post logout uri", func(s *Spec) {
			web(s)
			s.PostLogoutRedirectURIs = []string{"http://example.com/bye"}
		}, "post_logout_redirect_uri", "http is only allowed"},

		// Scopes and audience.
		{"unknown scope", func(s *Spec) { s.Scopes = []string{"openid", "phone"} }, "scopes", "not a scope"},
		{"admin scope typo", func(s *Spec) { s.Scopes = []string{"admin:all"} }, "scopes", "not a scope"},
		{"audience with space", func(s *Spec) { s.Audience = []string{"a b"} }, "audience", "spaces"},

		// Authentication.
		{"public with secret method", func(s *Spec) {
			web(s)
			s.Type = "public"
			s.AuthMethod = "client_secret_basic"
		}, "token_endpoint_auth_method", "must be \"none\""},
		{"confidential with none", func(s *Spec) { s.AuthMethod = "none" }, "token_endpoint_auth_method", "must authenticate"},
		{"unknown method", func(s *Spec) { s.AuthMethod = "client_secret_jwt" }, "token_endpoint_auth_method", "must be client_secret_basic"},
		{"private_key_jwt without keys", func(s *Spec) { s.AuthMethod = "private_key_jwt" }, "jwks", "give jwks or jwks_uri"},
		{"private_key_jwt with both", func(s *Spec) {
			s.AuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[]}`
			s.JWKSURI = "https://svc.example/jwks.json"
		}, "jwks", "not both"},
		{"private_key_jwt with bad jwks", func(s *Spec) {
			s.AuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}]}`
		}, "jwks", "private or symmetric"},
		{"private_key_jwt with http jwks_uri", func(s *Spec) {
			s.AuthMethod = "private_key_jwt"
			s.JWKSURI = "http://svc.example/jwks.json"
		}, "jwks_uri", "https"},
		{"jwks with secret method", func(s *Spec) {
			s.AuthMethod = "client_secret_basic"
			s.JWKSURI = "https://svc.example/jwks.json"
		}, "jwks_uri", "only used with private_key_jwt"},
		{"signing alg with secret method", func(s *Spec) { s.AuthSigningAlg = "RS256" }, "token_endpoint_auth_signing_alg", "only used with private_key_jwt"},
		{"unsupported signing alg", func(s *Spec) {
			s.JWKSURI = "https://svc.example/jwks.json"
			s.AuthSigningAlg = "HS256"
		}, "token_endpoint_auth_signing_alg", "ES256, RS256 or PS256"},
		{"signing alg without a matching key", func(s *Spec) {
			s.JWKS = `{"keys":[{"kty":"EC","use":"sig","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
			s.AuthSigningAlg = "RS256"
		}, "token_endpoint_auth_signing_alg", "RSA public key"},

		// Options.
		{"unknown id token alg", func(s *Spec) { web(s); s.IDTokenAlg = "HS256" }, "id_token_signed_response_alg", "ES256 or RS256"},
		{"public introspection", func(s *Spec) {
			s.Type = "public"
			s.RedirectURIs = []string{"com.example.app:/cb"}
			s.CanIntrospect = true
		}, "can_introspect", "only confidential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{Name: "Test client"}
			tt.edit(&s)
			s.Normalize()
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", s, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate(%+v) = %v, want a *ValidationError", s, err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Error(), tt.detail) {
				t.Fatalf("Validate = %v (field %q), want field %q mentioning %q", err, ve.Field, tt.field, tt.detail)
			}
		})
	}
}

func TestValidateInlineJWKS(t *testing.T) {
	s := Spec{Name: "Svc", JWKS: publicJWKS(t)}
	s.Normalize()
	if s.AuthMethod != AuthPrivateKeyJWT || s.AuthSigningAlg != AlgES256 {
		t.Fatalf("auth method = %q, signing alg %q; want private_key_jwt with ES256", s.AuthMethod, s.AuthSigningAlg)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
