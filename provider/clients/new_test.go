package clients

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/secret"
)

func testHasher() *secret.Hasher {
	return secret.FromBytes([]byte("clients test secret")).Hasher("client-secret")
}

var testNow = time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600))

func TestNewConfidential(t *testing.T) {
	h := testHasher()
	c, plain, err := New(Spec{Name: "Web", RedirectURIs: []string{"https://app.example.com/cb"}}, h, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 43 {
		t.Fatalf("secret %q has %d characters, want 43 (32 bytes base64url)", plain, len(plain))
	}
	if len(c.ID) != 22 || strings.ContainsAny(c.ID+plain, "+/=") {
		t.Fatalf("ID %q / secret %q are not unpadded base64url of the expected size", c.ID, plain)
	}
	if !c.CheckSecret(h, plain) {
		t.Fatal("CheckSecret rejects the issued secret")
	}
	if c.CheckSecret(h, plain+"x") || c.CheckSecret(h, "") {
		t.Fatal("CheckSecret accepts a wrong secret")
	}
	other := secret.FromBytes([]byte("another instance")).Hasher("client-secret")
	if c.CheckSecret(other, plain) {
		t.Fatal("CheckSecret accepts the secret under another system secret")
	}
	if bytes.Contains(c.SecretHash, []byte(plain)) || strings.Contains(fmt.Sprintf("%#v", c), plain) {
		t.Fatal("the plaintext secret is in the client")
	}
	if c.Public || c.TokenEndpointAuthMethod != AuthSecretBasic || c.OrgID != "system" {
		t.Fatalf("unexpected client %+v", c)
	}
	if !reflect.DeepEqual(c.ResponseTypes, []string{"code"}) ||
		!reflect.DeepEqual(c.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Fatalf("grants %v, response types %v", c.GrantTypes, c.ResponseTypes)
	}
	want := testNow.UTC().Truncate(time.Microsecond)
	if !c.CreatedAt.Equal(want) || c.CreatedAt.Location() != time.UTC || c.UpdatedAt != c.CreatedAt {
		t.Fatalf("times %v %v, want %v UTC", c.CreatedAt, c.UpdatedAt, want)
	}

	c2, plain2, err := New(Spec{Name: "Web"}, h, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID == c.ID || plain2 == plain {
		t.Fatal("IDs or secrets repeat")
	}
	if c2.ResponseTypes != nil {
		t.Fatalf("client_credentials client has response types %v", c2.ResponseTypes)
	}
}

func TestNewWithoutSecret(t *testing.T) {
	h := testHasher()
	tests := []struct {
		name string
		spec Spec
	}{
		{"public", Spec{Name: "App", Type: "public", RedirectURIs: []string{"com.example.app:/cb"}}},
		{"private_key_jwt", Spec{Name: "Svc", JWKSURI: "https://svc.example/jwks.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, plain, err := New(tt.spec, h, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if plain != "" || c.SecretHash != nil {
				t.Fatalf("got secret %q, hash %x; want none", plain, c.SecretHash)
			}
			if c.CheckSecret(h, "") || c.UsesSecret() {
				t.Fatal("a client without a secret accepts one")
			}
		})
	}
}

func TestCheckSecretIgnoresHashOfSecretlessClients(t *testing.T) {
	h := testHasher()
	c := Client{Public: true, TokenEndpointAuthMethod: AuthNone, SecretHash: h.Sum([]byte("s"))}
	if c.CheckSecret(h, "s") {
		t.Fatal("public client accepted a secret")
	}
	c = Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT, SecretHash: h.Sum([]byte("s"))}
	if c.CheckSecret(h, "s") {
		t.Fatal("private_key_jwt client accepted a secret")
	}
}

func TestNewInvalid(t *testing.T) {
	_, plain, err := New(Spec{Name: "Web", RedirectURIs: []string{"http://example.com/cb"}}, testHasher(), testNow)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "redirect_uri" || plain != "" {
		t.Fatalf("New = %q, %v; want a redirect_uri validation error", plain, err)
	}
}

func TestRevise(t *testing.T) {
	h := testHasher()
	c, _, err := New(Spec{Name: "Web", OrgID: "system", RedirectURIs: []string{"https://a.example/cb"}}, h, testNow)
	if err != nil {
		t.Fatal(err)
	}
	later := testNow.Add(time.Hour)

	spec := c.Spec()
	spec.Name = "Web 2"
	spec.RedirectURIs = append(spec.RedirectURIs, "https://b.example/cb")
	spec.FirstParty = true
	got, err := Revise(c, spec, later)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || !bytes.Equal(got.SecretHash, c.SecretHash) || !got.CreatedAt.Equal(c.CreatedAt) ||
		!got.UpdatedAt.Equal(dbTime(later)) || got.Name != "Web 2" || !got.FirstParty || len(got.RedirectURIs) != 2 {
		t.Fatalf("Revise = %+v", got)
	}
	if len(c.RedirectURIs) != 1 {
		t.Fatal("Revise changed the original client")
	}

	// Round trip: the spec of a client revises to the same client.
	same, err := Revise(c, c.Spec(), c.UpdatedAt)
	if err != nil || !reflect.DeepEqual(same, c) {
		t.Fatalf("Revise(c, c.Spec()) = %+v, %v; want %+v", same, err, c)
	}

	for _, tt := range []struct {
		name, field string
		edit        func(s *Spec)
	}{
		{"type", "type", func(s *Spec) { s.Type = "public"; s.AuthMethod = "none" }},
		{"org", "org_id", func(s *Spec) { s.OrgID = "acme" }},
		{"invalid", "redirect_uri", func(s *Spec) { s.RedirectURIs = []string{"myapp:/cb"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Spec()
			tt.edit(&s)
			_, err := Revise(c, s, later)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("Revise = %v, want a %s error", err, tt.field)
			}
		})
	}
}

func TestNewIDNeverLooksLikeAFlag(t *testing.T) {
	for range 2000 {
		if id := newID(); id[0] == '-' || id[0] == '_' || len(id) < 20 {
			t.Fatalf("client id %q", id)
		}
	}
}
