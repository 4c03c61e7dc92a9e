package admin

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// NewUser is what an admin gives to add a user.
type NewUser struct {
	Username, DisplayName, Email string
	Roles                        []string
	// SendEmail emails the enrollment link when a mail server is configured and the user has an
	// address; the link is returned either way, for the admin to hand over if it was not sent.
	SendEmail bool
	// ValidFor is how long the enrollment link works; 0 means the service's default.
	ValidFor time.Duration
}

// Enrollment is a freshly issued enrollment link, shown once.
type Enrollment struct {
	URL       string
	ExpiresAt time.Time
	Emailed   bool
}

// Link validity bounds, as the command line has them.
const (
	MinLinkValidity = time.Minute
	MaxLinkValidity = 30 * 24 * time.Hour
)

// CreateUser adds a user to the actor's organisation and issues their enrollment link.
func (s *Service) CreateUser(ctx context.Context, a Actor, n NewUser) (directory.User, Enrollment, error) {
	n.Username = strings.TrimSpace(n.Username)
	e := audit.Event{Action: "user.created", Details: map[string]any{"username": n.Username}}
	validFor, err := s.validFor(n.ValidFor)
	if err == nil {
		err = validateProfile(n.Username, n.DisplayName, n.Email, n.Roles)
	}
	var org directory.Org
	if err == nil {
		org, err = s.ownOrg(ctx, a)
	}
	if err != nil {
		return directory.User{}, Enrollment{}, s.done(ctx, a, e, err, false)
	}
	var u directory.User
	var token string
	err = s.DB.InTx(ctx, func(ctx context.Context) error {
		var err error
		u, err = s.Directory.CreateUser(ctx, directory.User{OrgID: org.ID, Username: n.Username,
			DisplayName: strings.TrimSpace(n.DisplayName), Email: strings.TrimSpace(n.Email), Roles: n.Roles,
			// An address an administrator gives is vouched for (directory.Store.UpdateProfile).
			EmailVerified: strings.TrimSpace(n.Email) != ""})
		if errors.Is(err, database.ErrAlreadyExists) {
			return conflict(CodeAlreadyExists, "username", "A user with this username already exists in the organisation.")
		}
		if err != nil {
			return err
		}
		if token, err = s.Links.Create(ctx, enroll.PurposeEnrollment, u.ID, a.Name, validFor); err != nil {
			return err
		}
		e.UserID, e.Details["roles"] = u.ID, u.Roles
		if err := s.Audit.Record(ctx, s.event(a, e)); err != nil {
			return err
		}
		return s.Audit.Record(ctx, s.event(a, audit.Event{Action: "enrollment.issued", UserID: u.ID,
			Details: map[string]any{"valid_for": validFor.String()}}))
	})
	if err != nil {
		return directory.User{}, Enrollment{}, s.done(ctx, a, e, err, false)
	}
	return u, s.deliver(ctx, a, org, u, token, validFor, n.SendEmail), nil
}

// deliver builds the link and emails it when asked and possible. A failed email is logged and
// audited, not an error: the user exists and the link is returned to hand over.
func (s *Service) deliver(ctx context.Context, a Actor, org directory.Org, u directory.User, token string, validFor time.Duration, send bool) Enrollment {
	en := Enrollment{URL: s.Issuer + "/enroll/" + token, ExpiresAt: s.now().Add(validFor)}
	if !send || s.Mail == nil {
		return en
	}
	sent, err := s.Mail(ctx, org, u, en.URL, validFor)
	switch {
	case err != nil:
		_ = s.Audit.Record(ctx, s.event(a, audit.Event{Action: "enrollment.email_failed", Outcome: audit.Failure,
			UserID: u.ID, Details: map[string]any{"error": err.Error()}}))
	case sent:
		en.Emailed = true
		_ = s.Audit.Record(ctx, s.event(a, audit.Event{Action: "enrollment.emailed", UserID: u.ID}))
	}
	return en
}

func (s *Service) validFor(d time.Duration) (time.Duration, error) {
	if d == 0 {
		return s.linkValidity(), nil
	}
	if d < MinLinkValidity || d > MaxLinkValidity {
		return 0, invalid("valid_for", "Must be between 1m and 720h.")
	}
	return d, nil
}

// validateProfile checks what an admin types for a user, with the CSV import's rules.
func validateProfile(username, displayName, email string, roles []string) error {
	if err := directory.ValidateUsername(username); err != nil {
		return invalid("username", "Use 1 to 64 letters, digits or . _ @ + - (no spaces).")
	}
	if err := validateDisplayName(displayName); err != nil {
		return err
	}
	if err := validateEmail(email); err != nil {
		return err
	}
	return validateRoles(roles)
}

func validateDisplayName(v string) error {
	if utf8.RuneCountInString(strings.TrimSpace(v)) > 200 || !utf8.ValidString(v) || strings.ContainsFunc(v, isControl) {
		return invalid("display_name", "Use at most 200 characters, without control characters.")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func validateEmail(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v || !strings.Contains(v, "@") || len(v) > 254 {
		return invalid("email", "Not an email address (write it as name@example.com).")
	}
	return nil
}

func validateRoles(roles []string) error {
	if len(roles) > 50 {
		return invalid("roles", "At most 50 roles.")
	}
	for _, r := range roles {
		ok := r != "" && len(r) <= 64
		for _, c := range r {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.:-", c))
		}
		if !ok {
			return invalid("roles", "%q is not a role name: use 1 to 64 letters, digits or - _ : .", r)
		}
		if strings.EqualFold(r, roster.AdminRole) && r != roster.AdminRole {
			return invalid("roles", "The built-in role is written %q.", roster.AdminRole)
		}
	}
	return nil
}

// GetUser returns a user of the actor's organisation.
func (s *Service) GetUser(ctx context.Context, a Actor, id string) (directory.User, error) {
	u, err := s.user(ctx, a, id)
	return u, s.read(ctx, a, audit.Event{Action: "user.viewed", UserID: id}, err)
}

// user loads a user of the actor's organisation; any other is not found, whether it exists or not.
func (s *Service) user(ctx context.Context, a Actor, id string) (directory.User, error) {
	u, err := s.Directory.GetUser(ctx, id)
	if errors.Is(err, database.ErrNotFound) || (err == nil && u.OrgID != a.OrgID) {
		return directory.User{}, notFound("user")
	}
	return u, err
}

// UserUpdate is an admin's edit of a user; nil fields stay as they are.
type UserUpdate struct {
	DisplayName, Email *string
	Roles              *[]string
	Status             *string // directory.StatusActive or directory.StatusDisabled
}

// UpdateUser edits a user. Disabling ends their sessions and revokes their tokens at once (as a
// leaver in an import); neither disabling nor removing the admin role may leave an organisation
// that has an active admin without one.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id string, up UserUpdate) (directory.User, error) {
	e := audit.Event{Action: "user.updated", UserID: id}
	u, err := s.user(ctx, a, id)
	if err == nil {
		err = validateUpdate(up)
	}
	if err != nil {
		return directory.User{}, s.done(ctx, a, e, err, false)
	}
	display, email, roles := u.DisplayName, u.Email, u.Roles
	var fields []string
	if up.DisplayName != nil && strings.TrimSpace(*up.DisplayName) != display {
		display, fields = strings.TrimSpace(*up.DisplayName), append(fields, "display_name")
	}
	if up.Email != nil && strings.TrimSpace(*up.Email) != email {
		email, fields = strings.TrimSpace(*up.Email), append(fields, "email")
	}
	if up.Roles != nil && !slices.Equal(normRoles(*up.Roles), normRoles(roles)) {
		roles, fields = normRoles(*up.Roles), append(fields, "roles")
	}
	status := u.Status
	if up.Status != nil {
		status = *up.Status
	}
	e.Details = map[string]any{"fields": fields}
	err = s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := s.keepsAnAdmin(ctx, u, roles, status); err != nil {
			return err
		}
		if len(fields) > 0 {
			if err := s.Directory.UpdateProfile(ctx, id, display, email, roles); err != nil {
				return err
			}
		}
		if len(fields) > 0 || status == u.Status {
			// Recorded even when nothing changed: every call is audited.
			if err := s.Audit.Record(ctx, s.event(a, e)); err != nil {
				return err
			}
		}
		switch {
		case status == u.Status:
		case status == directory.StatusDisabled:
			return s.importer(0).Disable(ctx, u.OrgID, id, a.Name, "admin")
		default:
			if err := s.Directory.SetStatus(ctx, id, directory.StatusActive); err != nil {
				return err
			}
			return s.Audit.Record(ctx, s.event(a, audit.Event{Action: "user.enabled", UserID: id,
				Details: map[string]any{"via": "admin"}}))
		}
		return nil
	})
	if err != nil {
		return directory.User{}, s.done(ctx, a, e, err, false)
	}
	return s.Directory.GetUser(ctx, id)
}

func validateUpdate(up UserUpdate) error {
	if up.DisplayName != nil {
		if err := validateDisplayName(*up.DisplayName); err != nil {
			return err
		}
	}
	if up.Email != nil {
		if err := validateEmail(*up.Email); err != nil {
			return err
		}
	}
	if up.Roles != nil {
		if err := validateRoles(*up.Roles); err != nil {
			return err
		}
	}
	if up.Status != nil && *up.Status != directory.StatusActive && *up.Status != directory.StatusDisabled {
		return invalid("status", "Use active or disabled.")
	}
	return nil
}

func normRoles(roles []string) []string {
	out := []string{}
	for _, r := range roles {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// keepsAnAdmin refuses to leave an organisation that has an active admin without one, when u
// would end up with roles and status.
func (s *Service) keepsAnAdmin(ctx context.Context, u directory.User, roles []string, status string) error {
	wasAdmin := u.Active() && slices.Contains(u.Roles, roster.AdminRole)
	staysAdmin := status == directory.StatusActive && slices.Contains(roles, roster.AdminRole)
	if !wasAdmin || staysAdmin {
		return nil
	}
	var others int64
	err := s.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE u.org_id = ? AND u.id <> ? AND u.status = ? AND r.role = ?`,
		u.OrgID, u.ID, directory.StatusActive, roster.AdminRole).Scan(&others).Error
	if err != nil {
		return err
	}
	if others == 0 {
		return conflict(CodeLastAdmin, "", "This is the organisation's last active admin; make someone else an admin first.")
	}
	return nil
}

// ResendEnrollment issues a new enrollment link for a user who has not enrolled yet. A user
// with a passkey needs account recovery instead, which revokes what the old device holds.
func (s *Service) ResendEnrollment(ctx context.Context, a Actor, id string, send bool, validFor time.Duration) (Enrollment, error) {
	e := audit.Event{Action: "enrollment.issued", UserID: id}
	u, err := s.user(ctx, a, id)
	if err == nil {
		validFor, err = s.validFor(validFor)
	}
	if err == nil && !u.Active() {
		err = conflict(CodeUserDisabled, "", "The user is disabled; enable them first.")
	}
	if err == nil {
		err = s.requireNoPasskey(ctx, id)
	}
	var org directory.Org
	if err == nil {
		org, err = s.ownOrg(ctx, a)
	}
	var token string
	if err == nil {
		e.Details = map[string]any{"valid_for": validFor.String(), "resent": true}
		err = s.change(ctx, a, e, func(ctx context.Context) error {
			// The new link replaces any earlier one that was never used.
			if err := s.Links.ExpireForUser(ctx, enroll.PurposeEnrollment, id); err != nil {
				return err
			}
			var err error
			token, err = s.Links.Create(ctx, enroll.PurposeEnrollment, id, a.Name, validFor)
			return err
		})
		if err != nil {
			return Enrollment{}, err
		}
		return s.deliver(ctx, a, org, u, token, validFor, send), nil
	}
	return Enrollment{}, s.done(ctx, a, e, err, false)
}

func (s *Service) requireNoPasskey(ctx context.Context, userID string) error {
	var n int64
	if err := s.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return conflict(CodeEnrolled, "", "The user already has a passkey; start account recovery instead.")
	}
	return nil
}
