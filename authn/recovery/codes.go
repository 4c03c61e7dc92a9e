package recovery

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// CodeCount is how many recovery codes a user gets at a time.
const CodeCount = 10

// CodeAlphabet has no look-alikes: no 0/O, 1/I/L, and no U (U and V blur in handwriting). 30
// symbols, so a 12-character code carries 12·log2(30) ≈ 58.9 bits: far beyond guessing under the
// attempt limits, so a fast keyed hash is enough to store it.
const CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeLen is the number of symbols in a code, written as three groups of four.
const codeLen = 12

// ErrInvalidCode is returned for a wrong, used or unknown code alike.
var ErrInvalidCode = errors.New("recovery: the recovery code is not valid")

// NewCode returns a fresh random code, e.g. "K7QM-3XPD-WN9R". Symbols are drawn from crypto/rand
// by rejection sampling, so each is uniform over CodeAlphabet.
func NewCode() string {
	n := len(CodeAlphabet)
	limit := 256 - 256%n // bytes at or above limit would bias the draw
	var b strings.Builder
	buf := make([]byte, 32)
	for b.Len() < codeLen+2 {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		for _, x := range buf {
			if int(x) >= limit || b.Len() >= codeLen+2 {
				continue
			}
			if b.Len() == 4 || b.Len() == 9 {
				b.WriteByte('-')
			}
			b.WriteByte(CodeAlphabet[int(x)%n])
		}
	}
	return b.String()
}

// NormalizeCode reads a code as a person types it: case, spaces and hyphens do not matter. It
// returns the 12 symbols, or false when the input cannot be a code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(CodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != codeLen {
		return "", false
	}
	return b.String(), true
}

// Codes stores users' recovery codes: only a keyed hash of each (give the Hasher a purpose of its
// own), never the code.
type Codes struct {
	DB     *database.DB
	Hasher *secret.Hasher
	Now    func() time.Time
}

func (c *Codes) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// Generate replaces a user's codes with CodeCount new ones and returns them, to be shown once.
// Earlier codes, used or not, stop working.
func (c *Codes) Generate(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, CodeCount)
	for i := range codes {
		codes[i] = NewCode()
	}
	now := c.now()
	err := c.DB.InTx(ctx, func(ctx context.Context) error {
		conn := c.DB.Conn(ctx)
		if err := conn.Exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		for _, code := range codes {
			norm, _ := NormalizeCode(code)
			if err := conn.Exec(`INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
				secret.Token(12), userID, c.Hasher.String(norm), now).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Remaining returns how many unused codes a user has.
func (c *Codes) Remaining(ctx context.Context, userID string) (int, error) {
	var n int64
	err := c.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n).Error
	return int(n), err
}

// Use uses up one of a user's codes and returns its id; a wrong, used or malformed code is
// ErrInvalidCode. The hash of the typed code is compared with every unused code of the user in
// constant time (no early exit), and of two concurrent uses of one code only one succeeds.
func (c *Codes) Use(ctx context.Context, userID, code string) (string, error) {
	norm, ok := NormalizeCode(code)
	if !ok {
		// Hash anyway, so that a malformed code costs what a wrong one does.
		_ = c.Hasher.String(code)
		return "", ErrInvalidCode
	}
	typed := []byte(c.Hasher.String(norm))
	var rows []struct{ ID, CodeHash string }
	if err := c.DB.Conn(ctx).Raw(`SELECT id, code_hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`,
		userID).Scan(&rows).Error; err != nil {
		return "", err
	}
	match := ""
	for _, r := range rows {
		if subtle.ConstantTimeCompare([]byte(r.CodeHash), typed) == 1 {
			match = r.ID
		}
	}
	if match == "" {
		return "", ErrInvalidCode
	}
	res := c.DB.Conn(ctx).Exec(`UPDATE recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL`, c.now(), match)
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected == 0 {
		return "", ErrInvalidCode
	}
	return match, nil
}
