package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v3"

	"github.com/portcullis-id/portcullis/internal/secret"
)

// rsaBits is the RSA modulus size: RFC 7518 section 3.3 requires at least 2048 bits for RS256.
const rsaBits = 2048

// generate makes a new key pair for alg in state, sealed and ready to insert.
func (m *Manager) generate(alg, state string, now time.Time) (*keyRow, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		// RFC 7518 section 3.4: ES256 is ECDSA using P-256 and SHA-256.
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal %s key: %w", alg, err)
	}
	// The kid only has to be unique among our keys (RFC 7517 section 4.5); random rather than
	// a thumbprint so that it reveals nothing and never collides across regenerated keys.
	kid := secret.Token(16)
	pub, err := json.Marshal(publicJWK(kid, alg, priv.Public()))
	if err != nil {
		return nil, fmt.Errorf("marshal %s public key: %w", alg, err)
	}
	row := &keyRow{
		KID:        kid,
		Alg:        alg,
		State:      state,
		PrivateKey: m.sealer.Seal(der),
		PublicJWK:  string(pub),
		CreatedAt:  now,
	}
	if state == StateActive {
		row.ActivatedAt = &now
	}
	return row, nil
}

// publicJWK describes a public key as RFC 7517 section 4 asks: "use" sig (4.2) and the "alg" it
// is used with (4.4), so relying parties pick the right key without guessing.
func publicJWK(kid, alg string, pub crypto.PublicKey) *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// decodePublic parses the stored public JWK of a row and checks it belongs to that row.
func decodePublic(r *keyRow) (*jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	if err := json.Unmarshal([]byte(r.PublicJWK), &k); err != nil {
		return nil, fmt.Errorf("signing key %s: bad public_jwk: %w", r.KID, err)
	}
	if k.KeyID != r.KID || k.Algorithm != r.Alg || !k.IsPublic() {
		return nil, fmt.Errorf("signing key %s: public_jwk does not match its row", r.KID)
	}
	if err := checkKeyType(r.Alg, k.Key); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	return &k, nil
}

// decodePrivate unseals the private key of a row and checks that it matches the published one,
// so a row whose sealed blob was swapped for another cannot sign under the wrong kid.
func (m *Manager) decodePrivate(r *keyRow, pub *jose.JSONWebKey) (*jose.JSONWebKey, error) {
	der, err := m.sealer.Open(r.PrivateKey)
	if err != nil {
		return nil, &undecryptableError{kid: r.KID}
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: bad private key: %w", r.KID, err)
	}
	priv, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T cannot sign", r.KID, key)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := priv.Public().(equaler); !ok || !e.Equal(pub.Key) {
		return nil, fmt.Errorf("signing key %s: private key does not match public_jwk", r.KID)
	}
	if err := checkKeyType(r.Alg, priv.Public()); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	return &jose.JSONWebKey{Key: priv, KeyID: r.KID, Algorithm: r.Alg, Use: "sig"}, nil
}

// checkKeyType insists that a public key fits alg: P-256 for ES256, RSA of at least 2048 bits
// for RS256 (RFC 7518 sections 3.3 and 3.4).
func checkKeyType(alg string, pub crypto.PublicKey) error {
	switch alg {
	case ES256:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
			return nil
		}
	case RS256:
		if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() >= rsaBits {
			return nil
		}
	default:
		return fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	return fmt.Errorf("%T is not a %s key", pub, alg)
}
