package admin

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/audit"
)

// UserFilter narrows ListUsers. Empty fields do not filter.
type UserFilter struct {
	// Query matches a part of the username, display name or email, whatever the case.
	Query  string
	Status string // directory.StatusActive or directory.StatusDisabled
}

type userListRow struct {
	ID, OrgID, Username, DisplayName, Email string
	EmailVerified                           bool
	Status                                  string
	CreatedAt, UpdatedAt                    time.Time
	HasPassword                             bool
	PasskeySkippedAt                        *time.Time
}

// ListUsers returns a page of the actor's organisation's users, by username. Pages follow the
// username (a keyset on the (org_id, username) unique index), so the thousandth page costs what
// the first does and a user added meanwhile neither repeats nor hides another.
func (s *Service) ListUsers(ctx context.Context, a Actor, f UserFilter, p Page) ([]directory.User, string, error) {
	users, next, err := s.listUsers(ctx, a, f, p)
	return users, next, s.read(ctx, a, audit.Event{Action: "users.listed",
		Details: map[string]any{"q": f.Query, "status": f.Status}}, err)
}

func (s *Service) listUsers(ctx context.Context, a Actor, f UserFilter, p Page) ([]directory.User, string, error) {
	after, err := p.after()
	if err != nil {
		return nil, "", err
	}
	if f.Status != "" && f.Status != directory.StatusActive && f.Status != directory.StatusDisabled {
		return nil, "", invalid("status", "Use active or disabled.")
	}
	if len(f.Query) > 200 {
		return nil, "", invalid("q", "Search for at most 200 characters.")
	}
	q := `SELECT id, org_id, username, display_name, email, email_verified, status, created_at, updated_at,
		password_hash <> '' AS has_password, passkey_skipped_at FROM users WHERE org_id = ?`
	args := []any{a.OrgID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if term := strings.TrimSpace(f.Query); term != "" {
		like := "%" + escapeLike(strings.ToLower(term)) + "%"
		q += ` AND (LOWER(username) LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`
		args = append(args, like, like, like)
	}
	if after != "" {
		q += ` AND username > ?`
		args = append(args, after)
	}
	limit := p.limit()
	q += ` ORDER BY username LIMIT ?`
	args = append(args, limit+1)
	var rows []userListRow
	if err := s.DB.Conn(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = cursor(rows[limit-1].Username)
	}
	users := make([]directory.User, 0, len(rows))
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		u := directory.User{ID: r.ID, OrgID: r.OrgID, Username: r.Username, DisplayName: r.DisplayName, Email: r.Email,
			EmailVerified: r.EmailVerified, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
			HasPassword: r.HasPassword}
		if r.PasskeySkippedAt != nil {
			t := r.PasskeySkippedAt.UTC()
			u.PasskeySkippedAt = &t
		}
		users = append(users, u)
		ids = append(ids, r.ID)
	}
	if len(ids) > 0 {
		var roles []struct{ UserID, Role string }
		if err := s.DB.Conn(ctx).Raw(`SELECT user_id, role FROM user_roles WHERE user_id IN ? ORDER BY role`, ids).
			Scan(&roles).Error; err != nil {
			return nil, "", err
		}
		byUser := map[string][]string{}
		for _, r := range roles {
			byUser[r.UserID] = append(byUser[r.UserID], r.Role)
		}
		for i := range users {
			users[i].Roles = byUser[users[i].ID]
		}
	}
	return users, next, nil
}

// escapeLike makes s match literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
