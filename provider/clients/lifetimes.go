package clients

import (
	"fmt"
	"time"
)

// Bounds of a client's own token lifetimes (Spec.Lifetimes; 0 keeps the server's default). Short
// access and ID tokens limit what a leaked one is worth. A token we sign (ID tokens, JWT access
// tokens) lives at most MaxJWTLifetime, so that it never outlives the publication of the key
// that verifies it (provider.RetiredKeyPublish, 2 hours); an opaque access token is checked
// against its stored row and may live longer. A refresh grant should not outlive any sensible
// review of who still uses the app.
const (
	MinAccessTokenLifetime  = time.Minute
	MaxAccessTokenLifetime  = 24 * time.Hour
	MinRefreshTokenLifetime = time.Hour
	MaxRefreshTokenLifetime = 90 * 24 * time.Hour
	MinIDTokenLifetime      = time.Minute
	MaxIDTokenLifetime      = MaxJWTLifetime
	MaxJWTLifetime          = time.Hour
)

// Lifetimes are a client's token lifetimes; a zero one is the server's default.
type Lifetimes struct {
	AccessToken, RefreshToken, IDToken time.Duration
}

// validateLifetimes checks each lifetime against its bounds, naming the field.
func (s Spec) validateLifetimes() error {
	for _, l := range []struct {
		field    string
		d        time.Duration
		min, max time.Duration
	}{
		{"access_token_lifetime", s.Lifetimes.AccessToken, MinAccessTokenLifetime, MaxAccessTokenLifetime},
		{"refresh_token_lifetime", s.Lifetimes.RefreshToken, MinRefreshTokenLifetime, MaxRefreshTokenLifetime},
		{"id_token_lifetime", s.Lifetimes.IDToken, MinIDTokenLifetime, MaxIDTokenLifetime},
	} {
		switch {
		case l.d == 0:
		case l.d < l.min || l.d > l.max:
			return invalidValue(l.field, l.d.String(), fmt.Sprintf("must be between %s and %s (or 0 for the server's default)",
				short(l.min), short(l.max)))
		case l.d%time.Second != 0:
			return invalidValue(l.field, l.d.String(), "must be a whole number of seconds")
		}
	}
	if s.JWTAccessTokens && s.Lifetimes.AccessToken > MaxJWTLifetime {
		return invalidValue("access_token_lifetime", s.Lifetimes.AccessToken.String(), fmt.Sprintf(
			"must be between %s and %s for JWT access tokens: a longer one could outlive the key that signed it",
			short(MinAccessTokenLifetime), short(MaxJWTLifetime)))
	}
	if s.Lifetimes.RefreshToken != 0 && !s.allows(GrantRefreshToken) {
		return invalid("refresh_token_lifetime", "is only used with the refresh_token grant")
	}
	return nil
}

// short writes a bound the way an admin would: 24h, 90 days, 1m.
func short(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
