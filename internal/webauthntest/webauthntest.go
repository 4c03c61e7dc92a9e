// Package webauthntest holds what tests share to play a software authenticator
// (github.com/descope/virtualwebauthn) against our passkey ceremonies. Only tests import it.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"

	"github.com/descope/virtualwebauthn"
)

// P256Credential returns a fresh P-256 passkey. virtualwebauthn encodes the public key's
// coordinates without their leading zero bytes, which go-webauthn rightly refuses (one key in
// 64), so keys with a leading zero in either coordinate are skipped.
func P256Credential() virtualwebauthn.Credential {
	for {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		point, err := key.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		if point[1] == 0 || point[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			panic(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}
