package directory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Org is an organisation (tenant) with its passkey policy.
type Org struct {
	ID, Slug, Name string
	Policy         policy.Policy
	// Branding and Passwords are kept apart from Policy, which is about passkeys (branding.go).
	Branding  Branding
	Passwords PasswordRules
	Sessions  SessionLifetimes // sessions.go
	CreatedAt time.Time
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateSlug checks an organisation slug: it appears in URLs (/o/{slug}/login), so lower-case
// letters, digits and inner hyphens only.
func ValidateSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return fmt.Errorf("slug %q: use 1 to 63 lower-case letters, digits or inner hyphens", slug)
	}
	return nil
}

type orgRow struct {
	ID, Slug, Name         string
	PasskeyMode            string
	PasswordsEndAt         *time.Time
	RequireUV              bool `gorm:"column:require_uv"`
	AllowSynced            bool
	AllowedAAGUIDs         string `gorm:"column:allowed_aaguids"`
	RemindAfterSeconds     int64
	RecoveryCodes          bool
	BrandName              string
	BrandLogoURI           string `gorm:"column:brand_logo_uri"`
	BrandColour            string
	PasswordMinLength      int
	SessionIdleSeconds     int64
	SessionAbsoluteSeconds int64
	CreatedAt              time.Time
}

const orgCols = `id, slug, name, passkey_mode, passwords_end_at, require_uv, allow_synced, allowed_aaguids,
	remind_after_seconds, recovery_codes, brand_name, brand_logo_uri, brand_colour, password_min_length,
	session_idle_seconds, session_absolute_seconds, created_at`

func (r orgRow) org() (Org, error) {
	mode, err := policy.ParseMode(r.PasskeyMode)
	if err != nil {
		return Org{}, fmt.Errorf("organisation %s: stored policy: %w", r.ID, err)
	}
	p := policy.Policy{Mode: mode, RequireUV: r.RequireUV, AllowSynced: r.AllowSynced,
		RemindAfter: time.Duration(r.RemindAfterSeconds) * time.Second, RecoveryCodes: r.RecoveryCodes}
	if r.PasswordsEndAt != nil {
		t := r.PasswordsEndAt.UTC()
		p.PasswordsEndAt = &t
	}
	if err := json.Unmarshal([]byte(r.AllowedAAGUIDs), &p.AllowedAAGUIDs); err != nil {
		return Org{}, fmt.Errorf("organisation %s: stored AAGUID list: %w", r.ID, err)
	}
	return Org{ID: r.ID, Slug: r.Slug, Name: r.Name, Policy: p, CreatedAt: r.CreatedAt.UTC(),
		Branding:  Branding{DisplayName: r.BrandName, LogoURI: r.BrandLogoURI, PrimaryColour: r.BrandColour},
		Passwords: PasswordRules{MinLength: max(r.PasswordMinLength, DefaultPasswordRules().MinLength)},
		Sessions: SessionLifetimes{Idle: time.Duration(r.SessionIdleSeconds) * time.Second,
			Absolute: time.Duration(r.SessionAbsoluteSeconds) * time.Second}}, nil
}

// CreateOrg stores a new organisation with the default policy (passkeys Off: PRODUCT.md says new
// organisations start there).
func (s *Store) CreateOrg(ctx context.Context, slug, name string) (Org, error) {
	slug, name = strings.TrimSpace(slug), strings.TrimSpace(name)
	if err := ValidateSlug(slug); err != nil {
		return Org{}, err
	}
	if name == "" || len(name) > 200 {
		return Org{}, fmt.Errorf("name: give the organisation a name of at most 200 characters")
	}
	o := Org{ID: secret.Token(12), Slug: slug, Name: name, Policy: policy.Default(), Passwords: DefaultPasswordRules(), CreatedAt: s.now()}
	err := s.db.Conn(ctx).Exec(`INSERT INTO organisations (id, slug, name, passkey_mode, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Slug, o.Name, string(o.Policy.Mode), o.CreatedAt).Error
	if database.IsUniqueViolation(err) {
		return Org{}, fmt.Errorf("slug %q: %w", slug, database.ErrAlreadyExists)
	}
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

// ListOrgs returns every organisation, the system organisation first.
func (s *Store) ListOrgs(ctx context.Context) ([]Org, error) {
	var rows []orgRow
	if err := s.db.Conn(ctx).Raw(`SELECT ` + orgCols + ` FROM organisations
		ORDER BY CASE WHEN id = 'system' THEN 0 ELSE 1 END, slug`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Org, 0, len(rows))
	for _, r := range rows {
		o, err := r.org()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// GetOrg returns an organisation by id.
func (s *Store) GetOrg(ctx context.Context, id string) (Org, error) {
	m := memoOf(ctx)
	if o, ok := m.get(id); ok {
		return o, nil
	}
	o, err := s.getOrg(ctx, `SELECT `+orgCols+` FROM organisations WHERE id = $1`, id)
	if _, inTx := database.TxFrom(ctx); err == nil && !inTx {
		// Only what is committed is kept: a transaction may still roll back what it read.
		m.put(o)
	}
	return o, err
}

// GetOrgBySlug returns an organisation by slug.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (Org, error) {
	return s.getOrg(ctx, `SELECT `+orgCols+` FROM organisations WHERE slug = $1`, slug)
}

// PolicyFor returns an organisation's passkey policy.
func (s *Store) PolicyFor(ctx context.Context, orgID string) (policy.Policy, error) {
	o, err := s.GetOrg(ctx, orgID)
	return o.Policy, err
}

func (s *Store) getOrg(ctx context.Context, q string, arg string) (Org, error) {
	// Read by hand rather than through gorm: organisations are read several times per sign-in.
	var r orgRow
	var end sql.NullTime
	err := s.db.QueryRow(ctx, q, arg).Scan(&r.ID, &r.Slug, &r.Name, &r.PasskeyMode, &end, &r.RequireUV,
		&r.AllowSynced, &r.AllowedAAGUIDs, &r.RemindAfterSeconds, &r.RecoveryCodes, &r.BrandName,
		&r.BrandLogoURI, &r.BrandColour, &r.PasswordMinLength, &r.SessionIdleSeconds,
		&r.SessionAbsoluteSeconds, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, database.ErrNotFound
	}
	if err != nil {
		return Org{}, err
	}
	if end.Valid {
		r.PasswordsEndAt = &end.Time
	}
	return r.org()
}

// SetPolicy replaces an organisation's passkey policy after validating it.
func (s *Store) SetPolicy(ctx context.Context, orgID string, p policy.Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	aaguids := p.AllowedAAGUIDs
	if aaguids == nil {
		aaguids = []string{}
	}
	list, err := json.Marshal(aaguids)
	if err != nil {
		return err
	}
	var end *time.Time
	if p.PasswordsEndAt != nil {
		t := p.PasswordsEndAt.UTC()
		end = &t
	}
	forget(ctx)
	res := s.db.Conn(ctx).Exec(`UPDATE organisations SET passkey_mode = ?, passwords_end_at = ?, require_uv = ?,
		allow_synced = ?, allowed_aaguids = ?, remind_after_seconds = ?, recovery_codes = ? WHERE id = ?`,
		string(p.Mode), end, p.RequireUV, p.AllowSynced, string(list), int64(p.RemindAfter/time.Second), p.RecoveryCodes, orgID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}
