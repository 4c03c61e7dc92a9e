package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Size is the length of the system secret in bytes.
const Size = 32

// Secret is the loaded system secret. Its zero value is unusable.
type Secret struct {
	root [Size]byte
}

// Load reads the secret file. When the file does not exist and generate is true, it writes a new
// random secret with mode 0600 and reports created=true.
func Load(path string, generate bool) (s *Secret, created bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && generate {
		var b [Size]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, false, err
		}
		enc := base64.RawURLEncoding.EncodeToString(b[:]) + "\n"
		// Write a temporary file, then hard-link it into place: the link either creates the
		// complete file or fails because another process got there first, so no process ever
		// reads a half-written secret and none overwrites another's.
		tmp, err := os.CreateTemp(filepath.Dir(path), ".portcullis-secret-*")
		if err != nil {
			return nil, false, fmt.Errorf("create secret file: %w", err)
		}
		defer os.Remove(tmp.Name())
		if err := tmp.Chmod(0o600); err != nil {
			tmp.Close()
			return nil, false, err
		}
		if _, err := tmp.WriteString(enc); err != nil {
			tmp.Close()
			return nil, false, fmt.Errorf("write secret file: %w", err)
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return nil, false, err
		}
		if err := tmp.Close(); err != nil {
			return nil, false, err
		}
		if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
			return Load(path, false)
		} else if err != nil {
			return nil, false, fmt.Errorf("create secret file: %w", err)
		}
		// Derive exactly as Parse does, so this run and later runs agree.
		return &Secret{root: sha256.Sum256(b[:])}, true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("secret file %s does not exist (generate one with: head -c 32 /dev/urandom | base64 > %s; chmod 600 %s)", path, path, path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read secret file: %w", err)
	}
	s, err = Parse(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, false, fmt.Errorf("secret file %s: %w", path, err)
	}
	return s, false, nil
}

// Parse accepts a secret of at least 32 bytes, base64 (standard or URL, padded or not) or hex.
func Parse(text string) (*Secret, error) {
	var raw []byte
	for _, dec := range []func(string) ([]byte, error){
		base64.RawURLEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.StdEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(text); err == nil && len(b) >= Size {
			raw = b
			break
		}
	}
	if raw == nil {
		return nil, errors.New("must hold at least 32 random bytes, base64 or hex encoded")
	}
	// Longer secrets are condensed so that every byte counts.
	return &Secret{root: sha256.Sum256(raw)}, nil
}

// FromBytes builds a secret from raw bytes (tests and benchmarks).
func FromBytes(b []byte) *Secret {
	return &Secret{root: sha256.Sum256(b)}
}

// Key derives a 32-byte key for one purpose; different purposes give independent keys.
func (s *Secret) Key(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s.root[:], nil, "portcullis:"+purpose, 32)
	if err != nil {
		panic(err) // only fails for impossible lengths
	}
	return k
}

// Hasher returns a keyed hash (HMAC-SHA-256) for one purpose, for storing high-entropy secrets
// such as session ids, codes and client secrets: fast, and useless to whoever steals the database
// without the secret file.
func (s *Secret) Hasher(purpose string) *Hasher {
	return &Hasher{key: s.Key("hash:" + purpose)}
}

// Hasher computes keyed hashes for one purpose.
type Hasher struct{ key []byte }

// Sum returns HMAC-SHA-256(key, data).
func (h *Hasher) Sum(data []byte) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write(data)
	return m.Sum(nil)
}

// String returns the hex keyed hash of a string, for use as a lookup key.
func (h *Hasher) String(data string) string {
	return hex.EncodeToString(h.Sum([]byte(data)))
}

// Equal compares data against a stored hash in constant time.
func (h *Hasher) Equal(stored, data []byte) bool {
	return hmac.Equal(stored, h.Sum(data))
}

// Sealer returns authenticated encryption (AES-256-GCM) for one purpose.
func (s *Secret) Sealer(purpose string) *Sealer {
	block, err := aes.NewCipher(s.Key("seal:" + purpose))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead, ad: []byte(purpose)}
}

// Sealer encrypts and authenticates small blobs at rest.
type Sealer struct {
	aead cipher.AEAD
	ad   []byte
}

// Seal encrypts plaintext; the output carries its random nonce.
func (s *Sealer) Seal(plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, s.ad)
}

// Open decrypts what Seal produced; it fails if the data was altered or sealed with another secret.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed data too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], s.ad)
	if err != nil {
		return nil, errors.New("sealed data cannot be opened with this system secret")
	}
	return pt, nil
}

// Token returns n random bytes, base64url encoded without padding.
func Token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
