package password

import (
	"errors"
	"fmt"
	"strings"
)

// Errors for stored hashes. Messages describe the problem without repeating the hash, so they
// can be logged and shown to an administrator importing users.
var (
	// ErrUnsupportedHash: the string is not in any format this package accepts.
	ErrUnsupportedHash = errors.New("password: unsupported hash format; " + acceptedFormats)
	// ErrMalformedHash: the string looks like an accepted format but does not parse, or its
	// parameters are out of bounds. Wrapped with the reason.
	ErrMalformedHash = errors.New("password: malformed hash")
)

const acceptedFormats = "accepted formats are bcrypt ($2a$, $2b$, $2y$), " +
	"argon2id PHC ($argon2id$v=19$m=...,t=...,p=...$salt$hash), " +
	"PBKDF2-SHA256 in Django's form (pbkdf2_sha256$iterations$salt$hash) " +
	"and passlib's form ($pbkdf2-sha256$iterations$salt$hash)"

// stored is a parsed hash of any supported format.
type stored interface {
	// matches hashes pw with the stored parameters and compares in constant time.
	matches(pw string) bool
}

// CheckImported validates an imported hash's format and parameters, as Verify will read it.
// Use it when importing users (CSV import) so that a bad row is refused at import, not at sign-in.
func CheckImported(encoded string) error {
	_, err := parseStored(encoded)
	return err
}

func parseStored(encoded string) (stored, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return parseBcrypt(encoded)
	case strings.HasPrefix(encoded, djangoPrefix):
		return parseDjango(encoded)
	case strings.HasPrefix(encoded, passlibPrefix):
		return parsePasslib(encoded)
	}
	return nil, ErrUnsupportedHash
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
}

// parseDecimal reads a canonical unsigned decimal (digits only, no sign, no leading zero, as the
// PHC string format requires) no greater than limit.
func parseDecimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	return n, true
}
