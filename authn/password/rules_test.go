package password

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestCommonList(t *testing.T) {
	set := commonPasswords()
	if len(set) != CommonListSize {
		t.Fatalf("common list has %d entries, want %d", len(set), CommonListSize)
	}
	for pw := range set {
		if pw != strings.ToLower(pw) {
			t.Fatalf("entry %q is not lower-case, so case-insensitive lookup would miss it", pw)
		}
	}
	for _, pw := range []string{"123456", "password", "qwerty", "PassWord", "1qaz2wsx3edc", "qwerty123456"} {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false, want true", pw)
		}
	}
	for _, pw := range []string{"", "correct horse battery staple", "vT9#kq2!xLm4pZr8"} {
		if IsCommon(pw) {
			t.Errorf("IsCommon(%q) = true, want false", pw)
		}
	}
}

func TestCheckNew(t *testing.T) {
	cases := []struct {
		name, pw, username string
		wantRefusal        string // a word the RuleError must contain; "" for accepted
	}{
		{"11 characters", "abcdefghijk", "alice", "at least 12"},
		{"12 characters", "abcdefghijkl", "alice", ""},
		{"12 multi-byte characters", "ñandú🙂ñandú🙂", "alice", ""},
		{"11 multi-byte characters (22+ bytes)", "ññññññññññ🙂", "alice", "at least 12"},
		{"256 characters", strings.Repeat("ab", 128), "alice", ""},
		{"257 characters", strings.Repeat("ab", 128) + "c", "alice", "at most 256"},
		{"spaces allowed", "four words with spaces", "alice", ""},
		{"no composition rules: lower-case only", "plainlowercasewords", "alice", ""},
		{"common 12+ password", "1qaz2wsx3edc", "alice", "commonly used"},
		{"common password, other case", "QWERTY123456", "alice", "commonly used"},
		{"common password 123456789123", "123456789123", "alice", "commonly used"},
		{"username", "alice.wonderland", "alice.wonderland", "username"},
		{"username, other case", "Alice.Wonderland", "alice.wonderland", "username"},
		{"username with digits and punctuation around", "alice.wonderland2024!", "alice.wonderland", "username"},
		{"e-mail username's local part", "margaret.hamilton1969", "margaret.hamilton@example.org", "username"},
		{"whole e-mail address", "Margaret.Hamilton@example.org", "margaret.hamilton@example.org", "username"},
		{"digit-only username", "123456789777", "123456789777", "username"},
		{"username inside other words is fine", "alice.wonderland likes tea", "alice.wonderland", ""},
		{"no username given", "alice.wonderland", "", ""},
		{"invalid UTF-8", "abcdefghijkl\xff", "alice", "can't be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckNew(c.pw, c.username)
			if c.wantRefusal == "" {
				if err != nil {
					t.Fatalf("CheckNew(%q, %q) = %v, want nil", c.pw, c.username, err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("CheckNew(%q, %q) = %v (%T), want a *RuleError", c.pw, c.username, err, err)
			}
			if !strings.Contains(re.Msg, c.wantRefusal) {
				t.Fatalf("CheckNew(%q, %q) = %q, want it to say %q", c.pw, c.username, re.Msg, c.wantRefusal)
			}
		})
	}
}

func TestCheckNewAcceptsRandomPasswords(t *testing.T) {
	for range 20 {
		pw := rand.Text()[:16] // 16 random base32 characters
		if err := CheckNew(pw, "alice"); err != nil {
			t.Fatalf("CheckNew(random %d-char password) = %v", len(pw), err)
		}
	}
}

// An organisation may ask for longer passwords, never for shorter ones, and never for more than
// NIST's 64.
func TestCheckNewMin(t *testing.T) {
	pw15 := "correct horse b"
	for _, c := range []struct {
		min  int
		pw   string
		want string // "" accepts
	}{
		{12, pw15, ""},
		{20, pw15, "Use at least 20 characters: your organisation"},
		{8, "short horse", "Use at least 12 characters."}, // never below the floor
		{200, strings.Repeat("w", 64) + " x", ""},         // capped at 64
		{200, strings.Repeat("w", 63), "Use at least 64 characters"},
	} {
		err := CheckNewMin(c.pw, "alice", c.min)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("min %d, %d characters: refused: %v", c.min, len(c.pw), err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("min %d, %d characters: %v, want %q", c.min, len(c.pw), err, c.want)
		}
	}
}
