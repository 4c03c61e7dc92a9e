package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

const (
	djangoPrefix  = "pbkdf2_sha256$"
	passlibPrefix = "$pbkdf2-sha256$"
	// Fewer than 1000 iterations is below RFC 8018 §4.2's minimum; more than 10 million would let
	// one imported row tie up sign-in (Django 5 uses ~1M, passlib 29,000).
	minPBKDF2Iter = 1000
	maxPBKDF2Iter = 10_000_000
)

// pbkdf2Hash is PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) of the UTF-8 password, as Django and
// passlib store it; they differ only in how salt and hash are written.
type pbkdf2Hash struct {
	iterations int
	salt, key  []byte
}

func (p *pbkdf2Hash) matches(pw string) bool {
	got, err := pbkdf2.Key(sha256.New, pw, p.salt, p.iterations, len(p.key))
	return err == nil && subtle.ConstantTimeCompare(got, p.key) == 1
}

// parseDjango reads Django's PBKDF2PasswordHasher format: pbkdf2_sha256$<iterations>$<salt>$<hash>,
// where the salt is used as text (its UTF-8 bytes) and the hash is padded standard base64.
func parseDjango(encoded string) (*pbkdf2Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		return nil, malformed("pbkdf2_sha256: want pbkdf2_sha256$iterations$salt$hash")
	}
	iter, err := parsePBKDF2Iter(parts[1])
	if err != nil {
		return nil, err
	}
	salt := parts[2]
	if salt == "" || len(salt) > 128 || strings.IndexFunc(salt, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return nil, malformed("pbkdf2_sha256: salt must be 1 to 128 printable ASCII characters")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return nil, malformed("pbkdf2_sha256: hash must be 16 to 64 bytes in padded base64")
	}
	return &pbkdf2Hash{iterations: iter, salt: []byte(salt), key: key}, nil
}

// parsePasslib reads passlib's pbkdf2_sha256 format: $pbkdf2-sha256$<rounds>$<salt>$<checksum>,
// salt and checksum in passlib's "adapted base64" (standard alphabet with '.' for '+', no
// padding); here the salt is the decoded bytes.
func parsePasslib(encoded string) (*pbkdf2Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed("$pbkdf2-sha256: want $pbkdf2-sha256$iterations$salt$hash")
	}
	iter, err := parsePBKDF2Iter(parts[2])
	if err != nil {
		return nil, err
	}
	salt, ok := decodeAB64(parts[3])
	if !ok || len(salt) < 1 || len(salt) > 128 {
		return nil, malformed("$pbkdf2-sha256: salt must be 1 to 128 bytes in adapted base64")
	}
	key, ok := decodeAB64(parts[4])
	if !ok || len(key) < 16 || len(key) > 64 {
		return nil, malformed("$pbkdf2-sha256: hash must be 16 to 64 bytes in adapted base64")
	}
	return &pbkdf2Hash{iterations: iter, salt: salt, key: key}, nil
}

func parsePBKDF2Iter(s string) (int, error) {
	n, ok := parseDecimal(s, maxPBKDF2Iter)
	if !ok || n < minPBKDF2Iter {
		return 0, malformed("pbkdf2-sha256: iterations must be between %d and %d", minPBKDF2Iter, maxPBKDF2Iter)
	}
	return int(n), nil
}

// decodeAB64 decodes passlib's adapted base64 (passlib.utils.binary.ab64_decode).
func decodeAB64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "+=") {
		return nil, false
	}
	b, err := phcB64.DecodeString(strings.ReplaceAll(s, ".", "+"))
	return b, err == nil
}
