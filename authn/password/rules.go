package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length bounds for new passwords, in characters (Unicode code points). NIST SP 800-63B §5.1.1.2
// asks for at least 8 and allowing at least 64; the issue sets 12, and 256 bounds the work.
const (
	MinLength = 12
	MaxLength = 256
	// MaxRequiredLength is the most an organisation may require (CheckNewMin): NIST SP 800-63B
	// §5.1.1.2 asks that passwords of at least 64 characters be allowed, so no rule may demand
	// more.
	MaxRequiredLength = 64
)

// RuleError says, in a sentence for the person choosing it, why a new password was refused.
type RuleError struct{ Msg string }

func (e *RuleError) Error() string { return e.Msg }

// CheckNew applies the rules for a new password (NIST SP 800-63B §5.1.1.2): length, not a
// common password, not the username. There are no composition rules (no "one digit, one
// symbol"), as §5.1.1.2 advises. Any error is a *RuleError.
func CheckNew(pw, username string) error { return CheckNewMin(pw, username, MinLength) }

// CheckNewMin is CheckNew with an organisation's minimum length (its password rules). The
// minimum is never below MinLength, whatever is asked, nor above MaxRequiredLength.
func CheckNewMin(pw, username string, minLength int) error {
	minLength = min(max(minLength, MinLength), MaxRequiredLength)
	if !utf8.ValidString(pw) {
		return &RuleError{Msg: "This password contains characters that can't be read. Please type it again."}
	}
	switch n := utf8.RuneCountInString(pw); {
	case n < minLength && minLength > MinLength:
		return &RuleError{Msg: fmt.Sprintf("Use at least %d characters: your organisation asks for passwords that long.", minLength)}
	case n < minLength:
		return &RuleError{Msg: fmt.Sprintf("Use at least %d characters.", minLength)}
	case n > MaxLength:
		return &RuleError{Msg: fmt.Sprintf("Use at most %d characters.", MaxLength)}
	}
	if IsCommon(pw) {
		return &RuleError{Msg: "This password is one of the most commonly used, so it is easy to guess. Choose another."}
	}
	if isUsername(pw, username) {
		return &RuleError{Msg: "Your password can't be your username. Choose another."}
	}
	return nil
}

// isUsername reports whether pw is the username (or, for an e-mail address, its local part),
// ignoring case and any digits, punctuation or spaces around it ("Alice2024!" for "alice").
func isUsername(pw, username string) bool {
	core := strings.TrimFunc(pw, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	names := []string{strings.TrimSpace(username)}
	if local, _, found := strings.Cut(names[0], "@"); found {
		names = append(names, local)
	}
	for _, name := range names {
		if name != "" && (strings.EqualFold(pw, name) || (core != "" && strings.EqualFold(core, name))) {
			return true
		}
	}
	return false
}
