package handoff

import (
	"crypto/rand"
	"strings"
)

// Alphabet is what codes are made of: upper-case letters and digits without the ones people
// confuse when reading a screen or typing (0/O, 1/I/L). 31 symbols, 8 of them: about 39.6 bits,
// far beyond what the attempt limits let anyone guess within a code's five minutes.
const Alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLen is the number of symbols in a code (shown as two groups of four).
const CodeLen = 8

// NewCode returns a fresh random code from crypto/rand, uniform over Alphabet^CodeLen, in its
// display form "KDW7-3QPM".
func NewCode() string {
	out := make([]byte, 0, CodeLen+1)
	var buf [16]byte
	// Rejection sampling: bytes at or above the largest multiple of len(Alphabet) would favour
	// the first symbols.
	limit := byte(256 - 256%len(Alphabet))
	for len(out) < CodeLen+1 {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if b >= limit {
				continue
			}
			if len(out) == CodeLen/2 {
				out = append(out, '-')
			}
			out = append(out, Alphabet[int(b)%len(Alphabet)])
			if len(out) == CodeLen+1 {
				break
			}
		}
	}
	return string(out)
}

// NormalizeCode turns what a person typed into the canonical code (no separators, upper case),
// or "" when it cannot be a code: spaces and dashes are ignored, lower case is accepted, and
// anything outside the alphabet (including the look-alikes it leaves out) makes it no code.
func NormalizeCode(typed string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(Alphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != CodeLen {
		return ""
	}
	return b.String()
}
