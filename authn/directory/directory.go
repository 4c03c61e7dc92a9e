package directory

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/migrations"
)

// SystemOrgID is the built-in organisation whose admins administer the instance.
const SystemOrgID = "system"

// User statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// User belongs to one organisation; ID is the stable, opaque OIDC subject.
type User struct {
	ID            string
	OrgID         string
	Username      string
	DisplayName   string
	Email         string
	EmailVerified bool
	Status        string
	Roles         []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// HasPassword: the user has a legacy password (the hash itself is read only by
	// PasswordHash, where a sign-in needs it).
	HasPassword bool
	// PasskeySkippedAt: when the user last chose "Do this later" at the passkey prompt.
	PasskeySkippedAt *time.Time
	// OrgName is the name of the user's organisation (for the "org" scope's org_name claim).
	OrgName string
	// WebAuthnHandle is the user's WebAuthn user handle, nil until the first passkey ceremony
	// creates it (Store.WebAuthnHandle). It comes with the user so that finishing a sign-in does
	// not read it again.
	WebAuthnHandle []byte
}

// Active reports whether the user may sign in and use tokens.
func (u User) Active() bool { return u.Status == StatusActive }

var usernameRE = regexp.MustCompile(`^[\p{L}\p{N}._@+-]{1,64}$`)

// ValidateUsername checks the username rules: 1 to 64 letters, digits and ._@+-, no spaces.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return fmt.Errorf("username %q: use 1 to 64 letters, digits or . _ @ + - (no spaces)", name)
	}
	return nil
}

// Store reads and writes organisations and users.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// NewStore returns a directory store on db.
func NewStore(db *database.DB) *Store {
	return &Store{db: db, now: func() time.Time { return time.Now().UTC() }}
}

type userRow struct {
	ID, OrgID, Username, DisplayName, Email string
	EmailVerified                           bool
	Status                                  string
	CreatedAt, UpdatedAt                    time.Time
	HasPassword                             bool
	PasskeySkippedAt                        *time.Time
	OrgName                                 string
	WebAuthnHandle                          string
}

func (r userRow) user() User {
	u := User{ID: r.ID, OrgID: r.OrgID, Username: r.Username, DisplayName: r.DisplayName, Email: r.Email,
		EmailVerified: r.EmailVerified, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		HasPassword: r.HasPassword, OrgName: r.OrgName}
	if h, err := base64.RawURLEncoding.DecodeString(r.WebAuthnHandle); err == nil && len(h) > 0 {
		u.WebAuthnHandle = h // a malformed one stays nil: Store.WebAuthnHandle reports it
	}
	if r.PasskeySkippedAt != nil {
		t := r.PasskeySkippedAt.UTC()
		u.PasskeySkippedAt = &t
	}
	return u
}

// userCols is what a User is read from; insertCols what CreateUser writes.
const (
	insertCols = `id, org_id, username, display_name, email, email_verified, status, created_at, updated_at`
	userCols   = insertCols + `, password_hash <> '' AS has_password, passkey_skipped_at,
		(SELECT o.name FROM organisations o WHERE o.id = users.org_id) AS org_name, webauthn_handle`
)

// CreateUser stores a new user with a fresh random id; the username must be unique in its org.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	u.Username = strings.TrimSpace(u.Username)
	if err := ValidateUsername(u.Username); err != nil {
		return User{}, err
	}
	if u.OrgID == "" {
		u.OrgID = SystemOrgID
	}
	if u.Status == "" {
		u.Status = StatusActive
	}
	u.ID = secret.Token(16)
	u.CreatedAt, u.UpdatedAt = s.now(), s.now()
	u.WebAuthnHandle = nil // made at the first passkey ceremony, never given
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		c := s.db.Conn(ctx)
		err := c.Exec(`INSERT INTO users (`+insertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.OrgID, u.Username, u.DisplayName, u.Email, u.EmailVerified, u.Status, u.CreatedAt, u.UpdatedAt).Error
		if database.IsUniqueViolation(err) {
			return database.ErrAlreadyExists
		}
		if err != nil {
			return err
		}
		for _, role := range uniqueSorted(u.Roles) {
			if err := c.Exec(`INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, u.ID, role).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	u.Roles = uniqueSorted(u.Roles)
	return u, nil
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range in {
		r = strings.TrimSpace(r)
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// GetUser returns a user by id (database.ErrNotFound when unknown).
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	return s.getUser(ctx, `id = $1`, id)
}

// GetUserByUsername returns a user of one organisation by username.
func (s *Store) GetUserByUsername(ctx context.Context, orgID, username string) (User, error) {
	return s.getUser(ctx, `org_id = $1 AND username = $2`, orgID, username)
}

func (s *Store) getUser(ctx context.Context, where string, args ...any) (User, error) {
	// Read by hand rather than through gorm, with the roles in the same statement: users are
	// read several times per sign-in.
	var r userRow
	var skipped sql.NullTime
	var roles string
	err := s.db.QueryRow(ctx, `SELECT `+userCols+`, `+rolesColumn(s.db.Dialect)+` FROM users WHERE `+where, args...).Scan(
		&r.ID, &r.OrgID, &r.Username, &r.DisplayName, &r.Email, &r.EmailVerified, &r.Status, &r.CreatedAt, &r.UpdatedAt,
		&r.HasPassword, &skipped, &r.OrgName, &r.WebAuthnHandle, &roles)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, database.ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	if skipped.Valid {
		r.PasskeySkippedAt = &skipped.Time
	}
	u := r.user()
	u.Roles = []string{} // never nil: an empty list is shown as []
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return User{}, fmt.Errorf("roles of user %s: %w", u.ID, err)
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	slices.Sort(u.Roles) // the aggregates do not promise an order
	return u, nil
}

// rolesColumn is a user's roles as a JSON array, "[]" for none.
func rolesColumn(d migrations.Dialect) string {
	if d == migrations.Postgres {
		return `(SELECT COALESCE(json_agg(role), '[]'::json) FROM user_roles WHERE user_id = users.id)::text AS roles`
	}
	return `(SELECT json_group_array(role) FROM user_roles WHERE user_id = users.id) AS roles`
}

// SetStatus enables or disables a user.
func (s *Store) SetStatus(ctx context.Context, id, status string) error {
	if status != StatusActive && status != StatusDisabled {
		return fmt.Errorf("status must be %q or %q", StatusActive, StatusDisabled)
	}
	res := s.db.Conn(ctx).Exec(`UPDATE users SET status = ?, updated_at = ? WHERE id = ?`, status, s.now(), id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}

// IsNotFound reports a missing record.
func IsNotFound(err error) bool { return errors.Is(err, database.ErrNotFound) }
