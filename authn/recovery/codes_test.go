package recovery

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestCodeAlphabetHasNoLookAlikes(t *testing.T) {
	for _, c := range "01OILU" {
		if strings.ContainsRune(CodeAlphabet, c) {
			t.Errorf("alphabet contains the look-alike %q", c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range CodeAlphabet {
		if seen[c] {
			t.Errorf("alphabet repeats %q", c)
		}
		seen[c] = true
	}
	if bits := codeLen * math.Log2(float64(len(CodeAlphabet))); bits < 50 {
		t.Fatalf("a code carries %.1f bits, want at least 50", bits)
	}
}

func TestNewCodeShapeUniquenessAndSpread(t *testing.T) {
	shape := regexp.MustCompile(`^[` + CodeAlphabet + `]{4}-[` + CodeAlphabet + `]{4}-[` + CodeAlphabet + `]{4}$`)
	const n = 5000
	seen := make(map[string]bool, n)
	counts := map[rune]int{}
	for range n {
		c := NewCode()
		if !shape.MatchString(c) {
			t.Fatalf("code %q is not three groups of four symbols of the alphabet", c)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice in %d", c, n)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			counts[r]++
		}
	}
	// Every symbol is used, none far from its share (n·12/30 = 2000; a biased draw, e.g. a plain
	// modulo of random bytes, or a stuck symbol, shows up well outside ±25 %).
	want := float64(n*codeLen) / float64(len(CodeAlphabet))
	for _, r := range CodeAlphabet {
		if got := float64(counts[r]); got < want*0.75 || got > want*1.25 {
			t.Errorf("symbol %q drawn %v times, want about %v", r, got, want)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"K7QM-3XPD-WN9R":        "K7QM3XPDWN9R",
		" k7qm 3xpd wn9r ":      "K7QM3XPDWN9R",
		"k7qm-3xpd-wn9r\t":      "K7QM3XPDWN9R",
		"K7QM3XPDWN9R":          "K7QM3XPDWN9R",
		"K7QM-3XPD-WN9":         "",
		"K7QM-3XPD-WN9RR":       "",
		"K0QM-3XPD-WN9R":        "", // 0 is not in the alphabet
		"K7QM-3XPD-WN9Ŕ":        "",
		strings.Repeat("A", 70): "",
	} {
		got, ok := NormalizeCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func newUser(t *testing.T, db *database.DB, name string) directory.User {
	t.Helper()
	u, err := directory.NewStore(db).CreateUser(context.Background(), directory.User{OrgID: directory.SystemOrgID, Username: name,
		Email: name + "@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCodesStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := &Codes{DB: db, Hasher: secret.FromBytes([]byte("test")).Hasher("recovery-code")}
		ann, bob := newUser(t, db, "ann"), newUser(t, db, "bob")
		if n, err := c.Remaining(ctx, ann.ID); err != nil || n != 0 {
			t.Fatalf("before any: %d, %v", n, err)
		}
		codes, err := c.Generate(ctx, ann.ID)
		if err != nil || len(codes) != CodeCount {
			t.Fatalf("Generate: %d codes, %v", len(codes), err)
		}
		bobCodes, err := c.Generate(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Only keyed hashes are stored.
		var stored []string
		if err := db.Raw(`SELECT code_hash FROM recovery_codes WHERE user_id = ?`, ann.ID).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		for _, h := range stored {
			for _, code := range codes {
				norm, _ := NormalizeCode(code)
				if strings.Contains(h, norm) || strings.Contains(h, code) {
					t.Fatalf("stored %q contains the code %q", h, code)
				}
			}
		}
		for _, bad := range []string{"", "nonsense", NewCode(), bobCodes[0]} {
			if _, err := c.Use(ctx, ann.ID, bad); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("Use(%q) = %v, want ErrInvalidCode", bad, err)
			}
		}
		// As a person types it: lower case, spaces.
		typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))
		if id, err := c.Use(ctx, ann.ID, typed); err != nil || id == "" {
			t.Fatalf("Use(right code) = %q, %v", id, err)
		}
		if _, err := c.Use(ctx, ann.ID, codes[3]); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("second use of a code = %v, want ErrInvalidCode", err)
		}
		if n, _ := c.Remaining(ctx, ann.ID); n != CodeCount-1 {
			t.Fatalf("remaining %d, want %d", n, CodeCount-1)
		}
		if n, _ := c.Remaining(ctx, bob.ID); n != CodeCount {
			t.Fatalf("bob's codes changed: %d left", n)
		}

		// Two browsers race with the same code: exactly one gets it.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Use(ctx, ann.ID, codes[5]); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, ErrInvalidCode) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent uses of one code succeeded, want 1", wins)
		}

		// Regenerating cancels every earlier code.
		fresh, err := c.Generate(ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Use(ctx, ann.ID, codes[0]); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("an old code after regenerating = %v", err)
		}
		if n, _ := c.Remaining(ctx, ann.ID); n != CodeCount {
			t.Fatalf("after regenerating %d left, want %d", n, CodeCount)
		}
		if _, err := c.Use(ctx, ann.ID, fresh[9]); err != nil {
			t.Fatalf("a new code: %v", err)
		}
		// Another purpose's hasher (another deployment's secret) recognises nothing.
		other := &Codes{DB: db, Hasher: secret.FromBytes([]byte("test")).Hasher("link")}
		if _, err := other.Use(ctx, ann.ID, fresh[0]); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("a code checked with another hasher = %v", err)
		}
	})
}
