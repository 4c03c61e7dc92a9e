package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/audit"
)

// The Policy page's other settings (issue 6): the organisation's branding on its sign-in pages
// and its password rules. They sit beside the passkey policy (policy.go) but change no one's
// access, so they need no impact preview; they are still sensitive (a logo or name on the
// sign-in page is what people trust), so the admin pages ask for a fresh passkey check.

// Settings returns the actor's organisation with its branding and password rules.
func (s *Service) Settings(ctx context.Context, a Actor) (directory.Org, error) {
	o, err := s.ownOrg(ctx, a)
	return o, s.read(ctx, a, audit.Event{Action: "settings.viewed"}, err)
}

// ChangeBranding changes the branding of the actor's organisation: edit changes a copy of the
// current branding (an error it returns refuses the change), which is validated and stored. It
// returns the organisation as it is after the change.
func (s *Service) ChangeBranding(ctx context.Context, a Actor, edit func(*directory.Branding) error) (directory.Org, error) {
	e := audit.Event{Action: "org.branding_changed"}
	org, err := s.ownOrg(ctx, a)
	next := org.Branding
	if err == nil {
		err = edit(&next)
	}
	if err == nil {
		next, err = directory.ValidateBranding(next)
		err = fieldError(err)
	}
	if err != nil {
		return directory.Org{}, s.done(ctx, a, e, err, false)
	}
	e.Details = map[string]any{"from": BrandingDetails(org.Branding), "to": BrandingDetails(next)}
	err = s.change(ctx, a, e, func(ctx context.Context) error { return s.Directory.SetBranding(ctx, org.ID, next) })
	org.Branding = next
	return org, err
}

// ChangePasswordRules changes the password rules of the actor's organisation, as ChangeBranding
// does the branding. They apply to passwords set from now on.
func (s *Service) ChangePasswordRules(ctx context.Context, a Actor, edit func(*directory.PasswordRules) error) (directory.Org, error) {
	e := audit.Event{Action: "org.password_rules_changed"}
	org, err := s.ownOrg(ctx, a)
	next := org.Passwords
	if err == nil {
		err = edit(&next)
	}
	if err == nil {
		next, err = directory.ValidatePasswordRules(next)
		err = fieldError(err)
	}
	if err != nil {
		return directory.Org{}, s.done(ctx, a, e, err, false)
	}
	e.Details = map[string]any{"from": PasswordRulesDetails(org.Passwords), "to": PasswordRulesDetails(next)}
	err = s.change(ctx, a, e, func(ctx context.Context) error { return s.Directory.SetPasswordRules(ctx, org.ID, next) })
	org.Passwords = next
	return org, err
}

// fieldError turns the directory's refusal into an *Error naming the same field.
func fieldError(err error) error {
	var fe *directory.FieldError
	if errors.As(err, &fe) {
		return invalid(fe.Field, "%s", sentence(fe.Msg))
	}
	return err
}

// sentence makes a directory message (lower case, no full stop) a sentence for people.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// BrandingDetails is branding as the audit log and the JSON API write it.
func BrandingDetails(b directory.Branding) map[string]any {
	return map[string]any{"name": b.DisplayName, "logo_uri": b.LogoURI, "primary_colour": b.PrimaryColour}
}

// PasswordRulesDetails is password rules as the audit log and the JSON API write them.
func PasswordRulesDetails(r directory.PasswordRules) map[string]any {
	return map[string]any{"min_length": r.MinLength}
}
