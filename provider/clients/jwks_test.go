package clients

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"
)

// jwksOf returns the JSON of a key set holding keys.
func jwksOf(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicJWKS is a valid key set for private_key_jwt: one EC signing key.
func publicJWKS(t *testing.T) string {
	return jwksOf(t, jose.JSONWebKey{Key: &ecKey(t).PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
}

func TestParseJWKS(t *testing.T) {
	ec := ecKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		jwks    string
		problem string // "" = valid
	}{
		{"ec signing key", jwksOf(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a", Use: "sig"}), ""},
		{"rsa signing key", jwksOf(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "r", Use: "sig"}), ""},
		{"signing key beside an encryption key", jwksOf(t,
			jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "enc", Use: "enc"},
			jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "sig", Use: "sig"}), ""},
		{"not json", "{", "not a valid JSON Web Key Set"},
		{"no keys", `{"keys":[]}`, "has no keys"},
		{"empty object", `{}`, "has no keys"},
		{"unknown key type", `{"keys":[{"kty":"XYZ"}]}`, "not a valid JSON Web Key Set"},
		{"private ec key", jwksOf(t, jose.JSONWebKey{Key: ec, KeyID: "p", Use: "sig"}), "private or symmetric"},
		{"private rsa key", jwksOf(t, jose.JSONWebKey{Key: rsaKey, Use: "sig"}), "private or symmetric"},
		{"symmetric key", jwksOf(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "s", Use: "sig"}), "private or symmetric"},
		{"no use", jwksOf(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a"}), `"use": "sig"`},
		{"only ed25519", jwksOf(t, jose.JSONWebKey{Key: edPub, KeyID: "e", Use: "sig"}), `"use": "sig"`},
		{"too large", `{"keys":[],"x":"` + strings.Repeat("a", maxJWKSLength) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseJWKS(tt.jwks)
			if tt.problem == "" {
				if err != nil || set == nil || len(set.Keys) == 0 {
					t.Fatalf("ParseJWKS = %v, %v; want a key set", set, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "jwks" || !strings.Contains(ve.Problem, tt.problem) {
				t.Fatalf("ParseJWKS = %v, want a jwks error containing %q", err, tt.problem)
			}
		})
	}
}
