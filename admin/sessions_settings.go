package admin

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/audit"
)

// The Policy page's session lifetimes (issue 6): how long the organisation's sign-in sessions
// last unused (idle) and at most (absolute); zero keeps the server's default. Like branding and
// password rules (settings.go) they are applied at once; a longer lifetime weakens sign-in, so
// the admin pages ask for a fresh passkey check.

// ChangeSessionLifetimes changes the session lifetimes of the actor's organisation, as
// ChangeBranding does the branding. They apply to sessions started from now on.
func (s *Service) ChangeSessionLifetimes(ctx context.Context, a Actor, edit func(*directory.SessionLifetimes) error) (directory.Org, error) {
	e := audit.Event{Action: "org.session_lifetimes_changed"}
	org, err := s.ownOrg(ctx, a)
	next := org.Sessions
	if err == nil {
		err = edit(&next)
	}
	if err == nil {
		next, err = directory.ValidateSessionLifetimes(next)
		err = fieldError(err)
	}
	if err != nil {
		return directory.Org{}, s.done(ctx, a, e, err, false)
	}
	e.Details = map[string]any{"from": SessionLifetimesDetails(org.Sessions), "to": SessionLifetimesDetails(next)}
	err = s.change(ctx, a, e, func(ctx context.Context) error { return s.Directory.SetSessionLifetimes(ctx, org.ID, next) })
	org.Sessions = next
	return org, err
}

// SessionLifetimesDetails is session lifetimes as the audit log and the JSON API write them:
// a duration such as "4h" or "168h", or "default" for the server's default.
func SessionLifetimesDetails(l directory.SessionLifetimes) map[string]any {
	return map[string]any{"idle": LifetimeText(l.Idle), "absolute": LifetimeText(l.Absolute)}
}

// LifetimeText writes one lifetime as SessionLifetimesDetails does.
func LifetimeText(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return directory.ShortDuration(d)
}

// ParseLifetime reads a lifetime given for field: a duration such as 30m, 4h or 168h, a number
// of days such as 30d, or 0, "default" or nothing for the server's default. The bounds are checked by
// ChangeSessionLifetimes.
func ParseLifetime(field, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" || strings.EqualFold(v, "default") {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 366 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, invalid(field, "Use a duration such as 30m, 4h or 168h, a number of days such as 30d, or “default”.")
	}
	return d, nil
}
