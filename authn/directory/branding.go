package directory

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/internal/database"
)

// Branding is how an organisation's sign-in pages look: its name, logo and primary colour. The
// zero value is no branding: the pages look as they do for every organisation.
type Branding struct {
	DisplayName string // shown above the sign-in form; "" shows none
	LogoURI     string // an https URL; "" shows no logo
	// PrimaryColour is "#rrggbb" (lower case) or "". It replaces the accent colour, used both as
	// the background of white button text and as text on white, so it must contrast with white.
	PrimaryColour string
}

// IsZero reports whether there is no branding.
func (b Branding) IsZero() bool { return b == Branding{} }

// PasswordRules are an organisation's rules for new passwords.
type PasswordRules struct {
	// MinLength is the fewest characters a new password may have: password.MinLength (12) to
	// password.MaxRequiredLength (64).
	MinLength int
}

// DefaultPasswordRules are the rules of a new organisation.
func DefaultPasswordRules() PasswordRules { return PasswordRules{MinLength: password.MinLength} }

// FieldError is a refused branding or password rule, naming the field at fault as the admin API
// names it.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// MinContrast is the contrast the primary colour must reach against white: WCAG 2.2 success
// criterion 1.4.3 (text contrast, level AA).
const MinContrast = 4.5

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// hostRE is what a logo's host may be: it ends up in a Content-Security-Policy header, so
// nothing that could end or widen a source expression (spaces, semicolons, quotes, wildcards).
var hostRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$`)

// ValidateBranding checks branding field by field and returns it in canonical form (trimmed, the
// colour in lower case). Errors are *FieldError naming name, logo_uri or primary_colour.
func ValidateBranding(b Branding) (Branding, error) {
	b.DisplayName = strings.TrimSpace(b.DisplayName)
	b.LogoURI = strings.TrimSpace(b.LogoURI)
	b.PrimaryColour = strings.ToLower(strings.TrimSpace(b.PrimaryColour))
	if !utf8.ValidString(b.DisplayName) || utf8.RuneCountInString(b.DisplayName) > 100 ||
		strings.ContainsFunc(b.DisplayName, unicode.IsControl) {
		return b, &FieldError{"name", "use at most 100 characters, without line breaks"}
	}
	if b.LogoURI != "" && LogoOrigin(b.LogoURI) == "" {
		return b, &FieldError{"logo_uri", "use an https URL of at most 2000 characters, such as https://example.com/logo.svg"}
	}
	if b.PrimaryColour != "" {
		if !colourRE.MatchString(b.PrimaryColour) {
			return b, &FieldError{"primary_colour", "use a colour as #rrggbb, such as #1a2b3c, or leave it empty"}
		}
		if c := ContrastWithWhite(b.PrimaryColour); c < MinContrast {
			return b, &FieldError{"primary_colour", fmt.Sprintf("%s is too light: buttons show white text on it and links "+
				"show it on white, so it needs a contrast of at least 4.5:1 with white (it has %.1f:1); choose a darker colour",
				b.PrimaryColour, c)}
		}
	}
	return b, nil
}

// LogoOrigin returns the origin (https://host[:port]) of a valid logo URL, or "" when the URL is
// not one: https only (no mixed content, and a CSP source of one origin), no user information,
// at most 2000 characters.
func LogoOrigin(raw string) string {
	if raw == "" || len(raw) > 2000 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" || !hostRE.MatchString(u.Host) {
		return ""
	}
	return "https://" + strings.ToLower(u.Host)
}

// ContrastWithWhite is the WCAG 2.2 contrast ratio of a "#rrggbb" colour against white, or 0 for
// anything else.
func ContrastWithWhite(colour string) float64 {
	if !colourRE.MatchString(colour) {
		return 0
	}
	var l float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(colour[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		// sRGB to linear light (WCAG 2.2, definition of relative luminance).
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += weight * c
	}
	return 1.05 / (l + 0.05)
}

// ValidatePasswordRules checks password rules; errors are *FieldError naming min_length.
func ValidatePasswordRules(r PasswordRules) (PasswordRules, error) {
	if r.MinLength < password.MinLength || r.MinLength > password.MaxRequiredLength {
		return r, &FieldError{"min_length", fmt.Sprintf("use a number from %d to %d: never below %d (NIST SP 800-63B), "+
			"and people must be able to use passwords of %d characters", password.MinLength, password.MaxRequiredLength,
			password.MinLength, password.MaxRequiredLength)}
	}
	return r, nil
}

// SetBranding replaces an organisation's branding after validating it.
func (s *Store) SetBranding(ctx context.Context, orgID string, b Branding) error {
	b, err := ValidateBranding(b)
	if err != nil {
		return err
	}
	return s.updateOrg(ctx, `UPDATE organisations SET brand_name = ?, brand_logo_uri = ?, brand_colour = ? WHERE id = ?`,
		b.DisplayName, b.LogoURI, b.PrimaryColour, orgID)
}

// SetPasswordRules replaces an organisation's password rules after validating them. They apply
// to passwords set from now on; existing passwords keep working.
func (s *Store) SetPasswordRules(ctx context.Context, orgID string, r PasswordRules) error {
	r, err := ValidatePasswordRules(r)
	if err != nil {
		return err
	}
	return s.updateOrg(ctx, `UPDATE organisations SET password_min_length = ? WHERE id = ?`, r.MinLength, orgID)
}

func (s *Store) updateOrg(ctx context.Context, q string, args ...any) error {
	forget(ctx)
	res := s.db.Conn(ctx).Exec(q, args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}
