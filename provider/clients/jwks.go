package clients

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v3"
)

// maxJWKSLength bounds an inline key set; a handful of public keys is a few kilobytes.
const maxJWKSLength = 64 << 10

// ParseJWKS parses and checks a client's inline JSON Web Key Set (RFC 7517 section 5) for
// private_key_jwt client authentication (RFC 7523). Every key must be a public key: a client
// never hands its private key to the server, and symmetric ("oct") keys are secrets that would
// then sit in the database unhashed. At least one key must be an RSA or EC key marked
// "use": "sig", because fosite only verifies client assertions with such keys.
// A failure is a *ValidationError for field "jwks".
func ParseJWKS(raw string) (*jose.JSONWebKeySet, error) {
	if len(raw) > maxJWKSLength {
		return nil, invalid("jwks", fmt.Sprintf("is larger than %d bytes", maxJWKSLength))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		msg := strings.TrimPrefix(err.Error(), "go-jose/go-jose: ")
		return nil, invalid("jwks", "is not a valid JSON Web Key Set: "+msg)
	}
	if len(set.Keys) == 0 {
		return nil, invalid("jwks", `has no keys (want {"keys": [...]})`)
	}
	signing := false
	for i, k := range set.Keys {
		name := fmt.Sprintf("key %d", i+1)
		if k.KeyID != "" {
			name = fmt.Sprintf("key %q", k.KeyID)
		}
		if !k.IsPublic() {
			return nil, invalid("jwks", name+" is a private or symmetric key: register public keys only")
		}
		if !k.Valid() {
			return nil, invalid("jwks", name+" is incomplete")
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			signing = signing || k.Use == "sig"
		}
	}
	if !signing {
		return nil, invalid("jwks", `needs at least one RSA or EC public key with "use": "sig"`)
	}
	return &set, nil
}

// validateJWKSURI checks where a client publishes its key set: the server fetches it to verify
// client assertions, so it must be https (RFC 7591 section 2, jwks_uri).
func validateJWKSURI(raw string) error {
	bad := func(problem string) error { return invalidValue("jwks_uri", raw, problem) }
	if len(raw) > maxURILength {
		return bad(fmt.Sprintf("is longer than %d characters", maxURILength))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a valid URL")
	case u.Scheme != "https" || u.Opaque != "" || u.Hostname() == "":
		return bad("must be an https URL")
	case u.User != nil:
		return bad("must not contain user credentials")
	case strings.Contains(raw, "#"):
		return bad("must not contain a fragment")
	}
	return nil
}

// defaultAuthSigningAlg is the private_key_jwt assertion algorithm for a client that names none:
// with an inline key set, ES256 when its first signing key is an EC key and RS256 when it is an
// RSA key; with a jwks_uri, whose keys are not known at registration, RS256. It is "" for an
// inline key set that does not parse or has no signing key, which Validate reports.
func defaultAuthSigningAlg(jwks string) string {
	if jwks == "" {
		return AlgRS256
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return ""
	}
	for _, k := range set.Keys {
		if k.Use != "sig" {
			continue
		}
		switch k.Key.(type) {
		case *ecdsa.PublicKey:
			return AlgES256
		case *rsa.PublicKey:
			return AlgRS256
		}
	}
	return ""
}

// usableWith reports whether fosite can verify an assertion signed with alg using public key k:
// a signing ("use": "sig") key, EC on P-256 for ES256, RSA for RS256 and PS256.
func usableWith(k jose.JSONWebKey, alg string) bool {
	if k.Use != "sig" {
		return false
	}
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		return alg == AlgES256 && key.Curve == elliptic.P256()
	case *rsa.PublicKey:
		return alg == AlgRS256 || alg == AlgPS256
	}
	return false
}

// keyFor names the key type alg needs, for messages.
func keyFor(alg string) string {
	if alg == AlgES256 {
		return "an EC P-256 public key"
	}
	return "an RSA public key"
}
