package store

import "context"

// RevokeForClient revokes what one user (the subject) was issued for one client: refresh tokens
// and unused authorization codes are deactivated (a later use is reuse, not an unknown token) and
// access tokens deleted. The user's tokens for other clients are untouched. It is how taking
// back a consent (package consent) cuts the app off at once.
func (s UserTokens) RevokeForClient(ctx context.Context, userID, clientID string) (int64, error) {
	if userID == "" || clientID == "" {
		return 0, nil
	}
	var n int64
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		c := s.DB.Conn(ctx)
		res := c.Exec(`UPDATE oauth2_tokens SET active = ? WHERE kind IN (?, ?) AND subject = ? AND client_id = ? AND active = ?`,
			false, KindRefresh, KindCode, userID, clientID, true)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		res = c.Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND subject = ? AND client_id = ?`, KindAccess, userID, clientID)
		n += res.RowsAffected
		return res.Error
	})
	return n, err
}
