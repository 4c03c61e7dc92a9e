package store

import (
	"context"

	"github.com/portcullis-id/portcullis/internal/database"
)

// UserTokens revokes a user's tokens; it needs only the database, so the CLI uses it without a
// running provider.
type UserTokens struct {
	DB *database.DB
}

// RevokeForUser revokes every token issued to a user (the subject): refresh tokens and unused
// authorization codes are deactivated (so a later use is reuse, not an unknown token) and access
// tokens deleted. A disabled user (a leaver) is cut off from every relying party at once.
func (s UserTokens) RevokeForUser(ctx context.Context, userID string) (int64, error) {
	if userID == "" {
		return 0, nil
	}
	var n int64
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		c := s.DB.Conn(ctx)
		res := c.Exec(`UPDATE oauth2_tokens SET active = ? WHERE kind IN (?, ?) AND subject = ? AND active = ?`,
			false, KindRefresh, KindCode, userID, true)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		res = c.Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND subject = ?`, KindAccess, userID)
		n += res.RowsAffected
		return res.Error
	})
	return n, err
}
