package handoff

import (
	"math"
	"strings"
	"testing"
)

func TestCodeAlphabetHasNoLookAlikes(t *testing.T) {
	for _, c := range "0O1IL" {
		if strings.ContainsRune(Alphabet, c) {
			t.Errorf("alphabet contains the look-alike %q", c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if seen[c] {
			t.Errorf("alphabet repeats %q", c)
		}
		seen[c] = true
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '9') {
			t.Errorf("alphabet has %q, want upper-case letters and digits only", c)
		}
	}
	// 8 symbols of 31: comfortably more than 39 bits.
	if bits := float64(CodeLen) * math.Log2(float64(len(Alphabet))); bits < 39 {
		t.Fatalf("codes carry %.1f bits, want at least 39", bits)
	}
}

func TestNewCodeShape(t *testing.T) {
	for range 1000 {
		c := NewCode()
		if len(c) != 9 || c[4] != '-' {
			t.Fatalf("code %q: want two groups of four, like KDW7-3QPM", c)
		}
		for i, r := range c {
			if i != 4 && !strings.ContainsRune(Alphabet, r) {
				t.Fatalf("code %q has %q, outside the alphabet", c, r)
			}
		}
		if NormalizeCode(c) != c[:4]+c[5:] {
			t.Fatalf("NormalizeCode(%q) = %q", c, NormalizeCode(c))
		}
	}
}

// TestNewCodeEntropy samples codes: no repeats, and every symbol at every position about
// equally often (a biased generator, e.g. modulo without rejection, fails the bound).
func TestNewCodeEntropy(t *testing.T) {
	const n = 20000
	seen := make(map[string]bool, n)
	var counts [CodeLen][len(Alphabet)]int
	for range n {
		c := NormalizeCode(NewCode())
		if seen[c] {
			t.Fatalf("code %s repeated within %d samples", c, n)
		}
		seen[c] = true
		for i := range CodeLen {
			counts[i][strings.IndexByte(Alphabet, c[i])]++
		}
	}
	want := float64(n) / float64(len(Alphabet))
	for i := range CodeLen {
		chi := 0.0
		for _, got := range counts[i] {
			chi += (float64(got) - want) * (float64(got) - want) / want
		}
		// 30 degrees of freedom: chi-square above 70 has a probability far below one in a million.
		if chi > 70 {
			t.Errorf("position %d: chi-square %.1f, the symbols are not uniform: %v", i, chi, counts[i])
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, tc := range []struct{ name, typed, want string }{
		{"display form", "KDW7-3QPM", "KDW73QPM"},
		{"lower case and spaces", " kdw7 3qpm ", "KDW73QPM"},
		{"no separator", "KDW73QPM", "KDW73QPM"},
		{"too short", "KDW7-3QP", ""},
		{"too long", "KDW7-3QPMA", ""},
		{"look-alike zero", "KDW7-3QP0", ""},
		{"look-alike one", "KDW7-3QP1", ""},
		{"letter O", "KDW7-3QPO", ""},
		{"non-ASCII", "KDW7-3QPÄ", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeCode(tc.typed); got != tc.want {
				t.Fatalf("NormalizeCode(%q) = %q, want %q", tc.typed, got, tc.want)
			}
		})
	}
}
