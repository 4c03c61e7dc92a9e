package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Hash is an argon2id hash in the PHC string format
// ($argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>, salt and tag in unpadded standard
// base64), as written by the reference implementation, libsodium, argon2-cffi and passlib.
type argon2Hash struct {
	memory, iterations uint32
	parallelism        uint8
	salt, key          []byte
}

// phcB64 is the PHC string format's "B64": standard alphabet, no padding. Strict refuses
// non-zero trailing bits, so each hash has exactly one encoding.
var phcB64 = base64.RawStdEncoding.Strict()

func (a *argon2Hash) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		a.memory, a.iterations, a.parallelism, phcB64.EncodeToString(a.salt), phcB64.EncodeToString(a.key))
}

func (a *argon2Hash) params() Params {
	return Params{
		Memory: a.memory, Iterations: a.iterations, Parallelism: a.parallelism,
		SaltLen: uint32(len(a.salt)), KeyLen: uint32(len(a.key)),
	}
}

func (a *argon2Hash) matches(pw string) bool {
	got := argon2.IDKey([]byte(pw), a.salt, a.iterations, a.memory, a.parallelism, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

func parseArgon2(encoded string) (*argon2Hash, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, tag
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, malformed("argon2id: want $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	// x/crypto/argon2 implements version 0x13 (19) only; PHC strings without v= are the older 0x10.
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, malformed("argon2id: only version v=%d is supported", argon2.Version)
	}
	a := &argon2Hash{}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found || seen[k] {
			return nil, malformed("argon2id: parameters must be m=...,t=...,p=... each once")
		}
		seen[k] = true
		var ok bool
		var n uint64
		switch k {
		case "m":
			n, ok = parseDecimal(v, maxMemory)
			a.memory = uint32(n)
			if !ok {
				return nil, malformed("argon2id: memory m must be a number of KiB up to %d (1 GiB)", maxMemory)
			}
		case "t":
			n, ok = parseDecimal(v, maxIterations)
			a.iterations = uint32(n)
			if !ok || n < 1 {
				return nil, malformed("argon2id: iterations t must be between 1 and %d", maxIterations)
			}
		case "p":
			n, ok = parseDecimal(v, maxLanes)
			a.parallelism = uint8(n)
			if !ok || n < 1 {
				return nil, malformed("argon2id: parallelism p must be between 1 and %d", maxLanes)
			}
		default:
			// keyid and data (secret and associated data) are not supported by x/crypto/argon2.
			return nil, malformed("argon2id: unsupported parameter %q; only m, t and p are accepted", k)
		}
	}
	if len(seen) != 3 {
		return nil, malformed("argon2id: parameters must be m=...,t=...,p=... each once")
	}
	if a.memory < 8*uint32(a.parallelism) { // RFC 9106 §3.1
		return nil, malformed("argon2id: memory m must be at least 8 KiB per lane")
	}
	if uint64(a.memory)*uint64(a.iterations) > maxMemoryWork {
		return nil, malformed("argon2id: memory × iterations must be at most %d", maxMemoryWork)
	}
	var err error
	if a.salt, err = phcB64.DecodeString(parts[4]); err != nil || len(a.salt) < 8 || len(a.salt) > 64 {
		// RFC 9106 §3.1: the salt is at least 8 bytes.
		return nil, malformed("argon2id: salt must be 8 to 64 bytes in unpadded base64")
	}
	if a.key, err = phcB64.DecodeString(parts[5]); err != nil || len(a.key) < 16 || len(a.key) > 64 {
		return nil, malformed("argon2id: hash must be 16 to 64 bytes in unpadded base64")
	}
	return a, nil
}
