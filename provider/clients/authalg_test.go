package clients

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
)

// testRSAKey is generated once: RSA key generation is slow.
var testRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func rsaPublicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	k, err := testRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

// rsaJWKS is a valid key set for private_key_jwt: one RSA signing key.
func rsaJWKS(t *testing.T) string {
	return jwksOf(t, jose.JSONWebKey{Key: rsaPublicKey(t), KeyID: "r1", Use: "sig"})
}

func TestNormalizeAuthSigningAlg(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := jose.JSONWebKey{Key: &ecKey(t).PublicKey, KeyID: "ec", Use: "sig"}
	rsaSig := jose.JSONWebKey{Key: rsaPublicKey(t), KeyID: "rsa", Use: "sig"}
	rsaEnc := jose.JSONWebKey{Key: rsaPublicKey(t), KeyID: "rsa-enc", Use: "enc"}
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"inline EC key", Spec{JWKS: jwksOf(t, ec)}, "ES256"},
		{"inline RSA key", Spec{JWKS: jwksOf(t, rsaSig)}, "RS256"},
		{"first signing key decides: RSA", Spec{JWKS: jwksOf(t, rsaSig, ec)}, "RS256"},
		{"first signing key decides: EC", Spec{JWKS: jwksOf(t, ec, rsaSig)}, "ES256"},
		{"encryption keys are skipped", Spec{JWKS: jwksOf(t, rsaEnc, ec)}, "ES256"},
		{"EC key on another curve", Spec{JWKS: jwksOf(t, jose.JSONWebKey{Key: &p384.PublicKey, Use: "sig"})}, "ES256"},
		{"jwks_uri only", Spec{JWKSURI: "https://svc.example/jwks.json"}, "RS256"},
		{"explicit method with jwks_uri", Spec{AuthMethod: "private_key_jwt", JWKSURI: "https://svc.example/jwks.json"}, "RS256"},
		{"explicit algorithm kept", Spec{JWKS: jwksOf(t, rsaSig), AuthSigningAlg: " PS256 "}, "PS256"},
		{"explicit mismatch kept for Validate", Spec{JWKS: jwksOf(t, ec), AuthSigningAlg: "RS256"}, "RS256"},
		{"unparsable key set", Spec{JWKS: "{"}, ""},
		{"no signing key", Spec{JWKS: jwksOf(t, rsaEnc)}, ""},
		{"secret client", Spec{}, ""},
		{"public client", Spec{Type: "public", RedirectURIs: []string{"com.example.app:/cb"}}, ""},
		{"secret client keeps a given value for Validate", Spec{AuthSigningAlg: "RS256"}, "RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Name = "Svc"
			s.Normalize()
			if s.AuthSigningAlg != tt.want {
				t.Fatalf("AuthSigningAlg = %q, want %q", s.AuthSigningAlg, tt.want)
			}
			again := s
			again.Normalize()
			if again.AuthSigningAlg != s.AuthSigningAlg {
				t.Fatalf("Normalize is not idempotent: %q then %q", s.AuthSigningAlg, again.AuthSigningAlg)
			}
		})
	}
}

func TestValidateAuthSigningAlg(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecJWKS := publicJWKS(t)
	rsaSet := rsaJWKS(t)
	both := jwksOf(t,
		jose.JSONWebKey{Key: &ecKey(t).PublicKey, KeyID: "ec", Use: "sig"},
		jose.JSONWebKey{Key: rsaPublicKey(t), KeyID: "rsa", Use: "sig"})
	const uri = "https://svc.example/jwks.json"
	web := []string{"https://app.example.com/cb"}
	tests := []struct {
		name   string
		spec   Spec
		field  string // "" = valid
		detail string
	}{
		{"EC key set, default", Spec{JWKS: ecJWKS}, "", ""},
		{"EC key set, ES256", Spec{JWKS: ecJWKS, AuthSigningAlg: "ES256"}, "", ""},
		{"RSA key set, default", Spec{JWKS: rsaSet}, "", ""},
		{"RSA key set, RS256", Spec{JWKS: rsaSet, AuthSigningAlg: "RS256"}, "", ""},
		{"RSA key set, PS256", Spec{JWKS: rsaSet, AuthSigningAlg: "PS256"}, "", ""},
		{"mixed key set, ES256", Spec{JWKS: both, AuthSigningAlg: "ES256"}, "", ""},
		{"mixed key set, PS256", Spec{JWKS: both, AuthSigningAlg: "PS256"}, "", ""},
		{"jwks_uri, default", Spec{JWKSURI: uri}, "", ""},
		{"jwks_uri, ES256", Spec{JWKSURI: uri, AuthSigningAlg: "ES256"}, "", ""},
		{"jwks_uri, PS256", Spec{JWKSURI: uri, AuthSigningAlg: "PS256"}, "", ""},

		{"EC key set, RS256", Spec{JWKS: ecJWKS, AuthSigningAlg: "RS256"}, authAlgField, "an RSA public key"},
		{"EC key set, PS256", Spec{JWKS: ecJWKS, AuthSigningAlg: "PS256"}, authAlgField, "an RSA public key"},
		{"RSA key set, ES256", Spec{JWKS: rsaSet, AuthSigningAlg: "ES256"}, authAlgField, "an EC P-256 public key"},
		{"P-384 key only", Spec{JWKS: jwksOf(t, jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "p384", Use: "sig"})},
			authAlgField, "an EC P-256 public key"},
		{"RSA key for encryption only", Spec{AuthSigningAlg: "RS256", JWKS: jwksOf(t,
			jose.JSONWebKey{Key: rsaPublicKey(t), KeyID: "enc", Use: "enc"},
			jose.JSONWebKey{Key: &ecKey(t).PublicKey, KeyID: "ec", Use: "sig"})}, authAlgField, `"use": "sig"`},
		{"HS256", Spec{JWKSURI: uri, AuthSigningAlg: "HS256"}, authAlgField, "must be ES256, RS256 or PS256"},
		{"ES384", Spec{JWKSURI: uri, AuthSigningAlg: "ES384"}, authAlgField, "must be ES256, RS256 or PS256"},
		{"none", Spec{JWKSURI: uri, AuthSigningAlg: "none"}, authAlgField, "must be ES256, RS256 or PS256"},
		{"lower case", Spec{JWKSURI: uri, AuthSigningAlg: "rs256"}, authAlgField, "must be ES256, RS256 or PS256"},
		{"bad key set is reported as such", Spec{AuthMethod: "private_key_jwt", JWKS: "{"}, "jwks", "not a valid JSON Web Key Set"},

		{"secret basic", Spec{AuthSigningAlg: "RS256"}, authAlgField, "only used with private_key_jwt"},
		{"secret post", Spec{AuthMethod: "client_secret_post", AuthSigningAlg: "ES256"}, authAlgField, "only used with private_key_jwt"},
		{"public", Spec{Type: "public", RedirectURIs: web, AuthSigningAlg: "ES256"}, authAlgField, "only used with private_key_jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Name = "Svc"
			s.Normalize()
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if s.AuthSigningAlg == "" {
					t.Fatal("a valid private_key_jwt spec has no token_endpoint_auth_signing_alg")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Error(), tt.detail) {
				t.Fatalf("Validate = %v (field %q), want field %q mentioning %q", err, ve.Field, tt.field, tt.detail)
			}
		})
	}

	// A spec that skipped Normalize has no default to fall back on.
	s := Spec{Name: "Svc", OrgID: "system", Type: TypeConfidential, GrantTypes: []string{"client_credentials"},
		AuthMethod: "private_key_jwt", JWKSURI: uri, IDTokenAlg: "ES256"}
	var ve *ValidationError
	if err := s.Validate(); !errors.As(err, &ve) || ve.Field != authAlgField || !strings.Contains(ve.Problem, "required") {
		t.Fatalf("Validate without algorithm = %v, want a required %s error", err, authAlgField)
	}
}

func TestNewAuthSigningAlg(t *testing.T) {
	c, _, err := New(Spec{Name: "Keys", JWKS: rsaJWKS(t), AuthSigningAlg: "PS256"}, testHasher(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenEndpointAuthSigningAlg != AlgPS256 || c.Spec().AuthSigningAlg != AlgPS256 {
		t.Fatalf("client alg %q, spec alg %q; want PS256", c.TokenEndpointAuthSigningAlg, c.Spec().AuthSigningAlg)
	}
	c, _, err = New(Spec{Name: "Keys", JWKS: publicJWKS(t)}, testHasher(), testNow)
	if err != nil || c.TokenEndpointAuthSigningAlg != AlgES256 {
		t.Fatalf("New with EC keys = %q, %v; want ES256", c.TokenEndpointAuthSigningAlg, err)
	}
	c, _, err = New(Spec{Name: "Web"}, testHasher(), testNow)
	if err != nil || c.TokenEndpointAuthSigningAlg != "" {
		t.Fatalf("New secret client = %q, %v; want no algorithm", c.TokenEndpointAuthSigningAlg, err)
	}
}

func TestReviseAuthSigningAlg(t *testing.T) {
	c, _, err := New(Spec{Name: "Keys", JWKSURI: "https://svc.example/jwks.json"}, testHasher(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	later := testNow.Add(time.Hour)
	if c.TokenEndpointAuthSigningAlg != AlgRS256 {
		t.Fatalf("alg = %q, want RS256", c.TokenEndpointAuthSigningAlg)
	}

	spec := c.Spec()
	spec.AuthSigningAlg = "PS256"
	got, err := Revise(c, spec, later)
	if err != nil || got.TokenEndpointAuthSigningAlg != AlgPS256 {
		t.Fatalf("Revise to PS256 = %q, %v", got.TokenEndpointAuthSigningAlg, err)
	}

	// Moving to an inline EC key set keeps the registered algorithm, which those keys cannot verify.
	spec = got.Spec()
	spec.JWKSURI, spec.JWKS = "", publicJWKS(t)
	var ve *ValidationError
	if _, err := Revise(got, spec, later); !errors.As(err, &ve) || ve.Field != authAlgField {
		t.Fatalf("Revise to EC keys with PS256 = %v, want a %s error", err, authAlgField)
	}
	// Clearing it picks the default for the new keys.
	spec.AuthSigningAlg = ""
	if got, err = Revise(got, spec, later); err != nil || got.TokenEndpointAuthSigningAlg != AlgES256 {
		t.Fatalf("Revise to EC keys = %q, %v; want ES256", got.TokenEndpointAuthSigningAlg, err)
	}

	// Switching to a secret means dropping the keys and their algorithm.
	spec = got.Spec()
	spec.AuthMethod, spec.JWKS = "client_secret_basic", ""
	if _, err := Revise(got, spec, later); !errors.As(err, &ve) || ve.Field != authAlgField {
		t.Fatalf("Revise to a secret keeping the algorithm = %v, want a %s error", err, authAlgField)
	}
	spec.AuthSigningAlg = ""
	if got, err = Revise(got, spec, later); err != nil || got.TokenEndpointAuthSigningAlg != "" || !got.UsesSecret() {
		t.Fatalf("Revise to a secret = %+v, %v", got, err)
	}
}
