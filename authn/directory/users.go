package directory

import (
	"context"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
)

// PasswordHash returns the user's encoded legacy password hash, or "" when they have none.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hashes []string
	if err := s.db.Conn(ctx).Raw(`SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&hashes).Error; err != nil {
		return "", err
	}
	if len(hashes) == 0 {
		return "", database.ErrNotFound
	}
	return hashes[0], nil
}

// SetPasswordHash stores an encoded password hash for the user ("" removes the password).
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	now := s.now()
	var changed *time.Time
	if hash != "" {
		changed = &now
	}
	return s.exec(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, changed, now, userID)
}

// ReplacePasswordHash swaps the stored hash for an upgraded one, only if it is still old: a
// password changed meanwhile is not overwritten by a re-hash of the previous one.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, old, upgraded string) error {
	return s.db.Conn(ctx).Exec(`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
		upgraded, userID, old).Error
}

// SetPasskeySkipped records that the user chose "Do this later" at the passkey prompt.
func (s *Store) SetPasskeySkipped(ctx context.Context, userID string, at time.Time) error {
	return s.exec(ctx, `UPDATE users SET passkey_skipped_at = ? WHERE id = ?`, at.UTC(), userID)
}

// UpdateProfile replaces the user's display name, email and roles (an import's or an admin's
// update). Addresses come from administrators, who vouch for them as an enterprise directory
// does: a changed address counts as verified (so that recovery and notices may go to it); an
// unchanged one keeps its state.
func (s *Store) UpdateProfile(ctx context.Context, userID, displayName, email string, roles []string) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.exec(ctx, `UPDATE users SET display_name = ?,
			email_verified = CASE WHEN email = ? THEN email_verified ELSE ? END, email = ?, updated_at = ? WHERE id = ?`,
			displayName, email, email != "", email, s.now(), userID); err != nil {
			return err
		}
		c := s.db.Conn(ctx)
		if err := c.Exec(`DELETE FROM user_roles WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		for _, role := range uniqueSorted(roles) {
			if err := c.Exec(`INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, userID, role).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// ListUsers returns every user of an organisation, by username.
func (s *Store) ListUsers(ctx context.Context, orgID string) ([]User, error) {
	var rows []userRow
	if err := s.db.Conn(ctx).Raw(`SELECT `+userCols+` FROM users WHERE org_id = ? ORDER BY username`, orgID).
		Scan(&rows).Error; err != nil {
		return nil, err
	}
	var roles []struct{ UserID, Role string }
	if err := s.db.Conn(ctx).Raw(`SELECT r.user_id, r.role FROM user_roles r JOIN users u ON u.id = r.user_id
		WHERE u.org_id = ? ORDER BY r.role`, orgID).Scan(&roles).Error; err != nil {
		return nil, err
	}
	byUser := map[string][]string{}
	for _, r := range roles {
		byUser[r.UserID] = append(byUser[r.UserID], r.Role)
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		u := r.user()
		u.Roles = byUser[u.ID]
		out = append(out, u)
	}
	return out, nil
}

func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	res := s.db.Conn(ctx).Exec(q, args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}
