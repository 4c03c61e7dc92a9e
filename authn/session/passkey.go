package session

import "context"

// EndForPasskey ends a user's live sessions that a sign-in with one passkey started (Session.
// PasskeyID) and returns their ids: "I lost this device" ends what that device's passkey opened.
func (s *Store) EndForPasskey(ctx context.Context, userID, passkeyID string) ([]string, error) {
	if passkeyID == "" {
		return nil, nil
	}
	var ids []string
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		c := s.db.Conn(ctx)
		if err := c.Raw(`SELECT id FROM auth_sessions WHERE user_id = ? AND passkey_id = ? AND ended_at IS NULL`,
			userID, passkeyID).Scan(&ids).Error; err != nil {
			return err
		}
		if err := c.Exec(`UPDATE auth_sessions SET ended_at = ? WHERE user_id = ? AND passkey_id = ? AND ended_at IS NULL`,
			s.now(), userID, passkeyID).Error; err != nil {
			return err
		}
		return s.ended(ctx, userID, ids)
	})
	return ids, err
}
