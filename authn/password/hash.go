package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters for new hashes (RFC 9106 §3.1).
type Params struct {
	Memory      uint32 // m, in KiB
	Iterations  uint32 // t, passes over memory
	Parallelism uint8  // p, lanes
	SaltLen     uint32 // bytes of random salt
	KeyLen      uint32 // bytes of tag (hash output)
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet's argon2id configuration
// (m=19 MiB, t=2, p=1) with RFC 9106's recommended 16-byte salt and 32-byte tag.
func DefaultParams() Params {
	return Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Config keys, named in Validate's errors so an operator knows what to change.
const (
	KeyMemory      = "password-argon2-memory"
	KeyIterations  = "password-argon2-iterations"
	KeyParallelism = "password-argon2-parallelism"
	KeySaltLen     = "password-argon2-salt-length"
	KeyKeyLen      = "password-argon2-key-length"
)

const (
	// OWASP's weakest equivalent configuration is m=7 MiB with t=5; its table trades memory for
	// passes at roughly constant m×t, so we require both that floor and m×t ≥ 7168×5.
	minMemory     = 7168
	minMemoryWork = 7168 * 5
	// Ceilings shared with imported hashes, so that one sign-in cannot take seconds or gigabytes.
	maxMemory     = 1 << 20 // 1 GiB in KiB
	maxIterations = 16
	maxMemoryWork = 4 << 20 // m×t in KiB·passes: 4 GiB worth of memory passes
	maxLanes      = 16
)

// Validate checks p against sane bounds; its error names the config key to change.
func (p Params) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	switch {
	case p.Memory < minMemory:
		bad(KeyMemory, "must be at least %d KiB (OWASP minimum for argon2id), got %d", minMemory, p.Memory)
	case p.Memory > maxMemory:
		bad(KeyMemory, "must be at most %d KiB (1 GiB), got %d", maxMemory, p.Memory)
	}
	// RFC 9106 §3.1 also wants m ≥ 8×p KiB, which the floors above already imply.
	if p.Iterations < 1 || p.Iterations > maxIterations {
		bad(KeyIterations, "must be between 1 and %d, got %d", maxIterations, p.Iterations)
	}
	if p.Memory >= minMemory && p.Memory <= maxMemory && p.Iterations >= 1 && p.Iterations <= maxIterations {
		work := uint64(p.Memory) * uint64(p.Iterations)
		if work < minMemoryWork {
			bad(KeyIterations, "is too low for %s=%d: memory × iterations must be at least %d (OWASP), got %d",
				KeyMemory, p.Memory, minMemoryWork, work)
		} else if work > maxMemoryWork {
			bad(KeyIterations, "is too high for %s=%d: memory × iterations must be at most %d, got %d",
				KeyMemory, p.Memory, maxMemoryWork, work)
		}
	}
	if p.Parallelism < 1 || p.Parallelism > maxLanes {
		bad(KeyParallelism, "must be between 1 and %d, got %d", maxLanes, p.Parallelism)
	}
	if p.SaltLen < 16 || p.SaltLen > 64 {
		// RFC 9106 §3.1 recommends 16 bytes of salt.
		bad(KeySaltLen, "must be between 16 and 64 bytes, got %d", p.SaltLen)
	}
	if p.KeyLen < 16 || p.KeyLen > 64 {
		bad(KeyKeyLen, "must be between 16 and 64 bytes, got %d", p.KeyLen)
	}
	return errors.Join(errs...)
}

// MaxInputBytes bounds the password Verify and Dummy will hash; longer input is refused
// without hashing (CheckNew allows 256 characters, at most 1024 bytes of UTF-8).
const MaxInputBytes = 4096

// Hasher hashes new passwords with one set of argon2id parameters and verifies any supported
// stored hash. It is safe for concurrent use.
type Hasher struct {
	p Params
	// dummySalt and dummyKey give Dummy the same work as verifying a current-params hash.
	dummySalt, dummyKey []byte
}

// NewHasher validates p and returns a Hasher for it.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newHasher(p), nil
}

// newHasher skips validation; tests use it with parameters too small for production.
func newHasher(p Params) *Hasher {
	return &Hasher{
		p:         p,
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
	}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.p }

// Hash returns pw hashed with argon2id and a fresh random salt, as a PHC string.
// It does not apply CheckNew's rules; call that first for a password the user is choosing.
func (h *Hasher) Hash(pw string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	a := argon2Hash{
		memory: h.p.Memory, iterations: h.p.Iterations, parallelism: h.p.Parallelism,
		salt: salt,
		key:  argon2.IDKey([]byte(pw), salt, h.p.Iterations, h.p.Memory, h.p.Parallelism, h.p.KeyLen),
	}
	return a.encode(), nil
}

// Verify checks pw against any supported encoded hash, comparing in constant time.
// upgrade is true when ok and the hash is not argon2id with exactly h's parameters, so the
// caller should store h.Hash(pw) in its place. err is set only when encoded is malformed, of an
// unsupported format, or has out-of-bounds parameters; a wrong password is ok == false, err == nil.
// An empty password, or one longer than MaxInputBytes, never matches.
func (h *Hasher) Verify(encoded, pw string) (ok, upgrade bool, err error) {
	s, err := parseStored(encoded)
	if err != nil {
		return false, false, err
	}
	if !acceptableInput(pw) || !s.matches(pw) {
		return false, false, nil
	}
	a, isArgon := s.(*argon2Hash)
	return true, !isArgon || a.params() != h.p, nil
}

// Dummy does the work of verifying a password against a hash with h's parameters and discards
// the result. Call it when the username is unknown, so that the response time does not tell
// whether the account exists. (Accounts still on imported bcrypt or PBKDF2 hashes take that
// algorithm's time until their next sign-in upgrades them.)
func (h *Hasher) Dummy(pw string) {
	if !acceptableInput(pw) {
		return
	}
	key := argon2.IDKey([]byte(pw), h.dummySalt, h.p.Iterations, h.p.Memory, h.p.Parallelism, h.p.KeyLen)
	subtle.ConstantTimeCompare(key, h.dummyKey)
}

func acceptableInput(pw string) bool {
	return len(pw) > 0 && len(pw) <= MaxInputBytes
}
