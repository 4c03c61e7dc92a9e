package directory

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SessionLifetimes are how long an organisation's sign-in sessions last: Idle without use, and
// Absolute at most from the sign-in. Zero keeps the server's default (the session-idle and
// session-absolute settings); package session applies them when a session starts.
type SessionLifetimes struct {
	Idle, Absolute time.Duration
}

// IsZero reports whether both lifetimes are the server's defaults.
func (l SessionLifetimes) IsZero() bool { return l == SessionLifetimes{} }

// The bounds of an organisation's session lifetimes. Below 5 minutes idle people are signed
// out while they read a page; above 24 hours an unattended browser stays signed in overnight.
// An absolute lifetime under an hour asks for a passkey more often than sign-in is worth, and
// over 90 days a stolen cookie works for a season (compare NIST SP 800-63B-4 §2.2.3 and §2.3.3,
// reauthentication at most every 12 hours to 30 days by assurance level).
const (
	MinSessionIdle     = 5 * time.Minute
	MaxSessionIdle     = 24 * time.Hour
	MinSessionAbsolute = time.Hour
	MaxSessionAbsolute = 90 * 24 * time.Hour
)

// ValidateSessionLifetimes checks session lifetimes; errors are *FieldError naming idle or
// absolute. Both are whole seconds (so they are stored exactly).
func ValidateSessionLifetimes(l SessionLifetimes) (SessionLifetimes, error) {
	if l.Idle != 0 && (l.Idle < MinSessionIdle || l.Idle > MaxSessionIdle || l.Idle%time.Second != 0) {
		return l, &FieldError{"idle", fmt.Sprintf("use whole seconds from %s to %s, or 0 for the server's default",
			ShortDuration(MinSessionIdle), ShortDuration(MaxSessionIdle))}
	}
	if l.Absolute != 0 && (l.Absolute < MinSessionAbsolute || l.Absolute > MaxSessionAbsolute || l.Absolute%time.Second != 0) {
		return l, &FieldError{"absolute", fmt.Sprintf("use whole seconds from %s to %s (90 days), or 0 for the server's default",
			ShortDuration(MinSessionAbsolute), ShortDuration(MaxSessionAbsolute))}
	}
	if l.Idle != 0 && l.Absolute != 0 && l.Idle > l.Absolute {
		return l, &FieldError{"idle", fmt.Sprintf("a session ends after %s at most, so it cannot be idle for %s: "+
			"make the idle lifetime no longer than the absolute one", ShortDuration(l.Absolute), ShortDuration(l.Idle))}
	}
	return l, nil
}

// ShortDuration writes a duration without zero minutes or seconds: 5m, 24h, 2160h, 1h30m.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// SetSessionLifetimes replaces an organisation's session lifetimes after validating them. They
// apply to sessions started from now on; a live session keeps the lifetimes it started with.
func (s *Store) SetSessionLifetimes(ctx context.Context, orgID string, l SessionLifetimes) error {
	l, err := ValidateSessionLifetimes(l)
	if err != nil {
		return err
	}
	return s.updateOrg(ctx, `UPDATE organisations SET session_idle_seconds = ?, session_absolute_seconds = ? WHERE id = ?`,
		int64(l.Idle/time.Second), int64(l.Absolute/time.Second), orgID)
}

// SessionLifetimesFor returns an organisation's session lifetimes (zero for the server's
// defaults); it has the shape session.Manager.Lifetimes wants.
func (s *Store) SessionLifetimesFor(ctx context.Context, orgID string) (idle, absolute time.Duration, err error) {
	o, err := s.GetOrg(ctx, orgID) // the sign-in that starts the session has read it already
	if IsNotFound(err) {
		// An unknown organisation (none is unknown in practice: sessions belong to users of one)
		// gets the defaults rather than failing the sign-in.
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return o.Sessions.Idle, o.Sessions.Absolute, nil
}
