package password

import "golang.org/x/crypto/bcrypt"

// maxBcryptCost caps imported bcrypt hashes: each step doubles the work, and cost 16 already
// takes seconds, so a higher cost would let one imported row tie up sign-in.
const maxBcryptCost = 16

// bcryptHash is a modular-crypt bcrypt hash: $2a$, $2b$ (OpenBSD) or $2y$ (PHP's name for the
// same fixed algorithm), a two-digit cost, then 22 characters of salt and 31 of hash in bcrypt's
// base64 alphabet: 60 characters in all.
type bcryptHash struct{ encoded []byte }

func parseBcrypt(encoded string) (*bcryptHash, error) {
	if len(encoded) != 60 || encoded[6] != '$' {
		return nil, malformed("bcrypt: want $2b$<cost>$ followed by 53 characters")
	}
	d1, d2 := encoded[4], encoded[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return nil, malformed("bcrypt: cost must be two digits")
	}
	// bcrypt always writes the cost as two digits ("04"), unlike PHC numbers.
	if cost := int(d1-'0')*10 + int(d2-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, malformed("bcrypt: cost must be between %d and %d", bcrypt.MinCost, maxBcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if !inAlphabet(encoded[i]) {
			return nil, malformed("bcrypt: salt and hash must use bcrypt's base64 alphabet")
		}
	}
	return &bcryptHash{encoded: []byte(encoded)}, nil
}

func inAlphabet(c byte) bool {
	return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}

// matches uses x/crypto/bcrypt, which compares in constant time. Like OpenBSD's $2b$, it uses
// only the first 72 bytes of the password.
func (b *bcryptHash) matches(pw string) bool {
	return bcrypt.CompareHashAndPassword(b.encoded, []byte(pw)) == nil
}
