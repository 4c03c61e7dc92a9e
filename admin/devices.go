package admin

import (
	"context"
	"errors"

	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// ListPasskeys returns a page of a user's passkeys, newest first.
func (s *Service) ListPasskeys(ctx context.Context, a Actor, userID string, p Page) ([]passkey.Credential, string, error) {
	list, next, err := s.listPasskeys(ctx, a, userID, p)
	return list, next, s.read(ctx, a, audit.Event{Action: "passkeys.listed", UserID: userID}, err)
}

func (s *Service) listPasskeys(ctx context.Context, a Actor, userID string, p Page) ([]passkey.Credential, string, error) {
	if _, err := s.user(ctx, a, userID); err != nil {
		return nil, "", err
	}
	list, err := s.Passkeys.List(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	key := func(c passkey.Credential) string { return newestFirst(c.CreatedAt, c.ID) }
	sortBy(list, key)
	return pageOf(list, key, p)
}

// RemovePasskey revokes one of a user's passkeys. Unlike the user's own removal on the account
// page, an admin may remove the last one: the device may be lost or stolen, and the user gets a
// new one through recovery or an enrollment link.
func (s *Service) RemovePasskey(ctx context.Context, a Actor, userID, passkeyID string) error {
	e := audit.Event{Action: "passkey.removed", UserID: userID, Details: map[string]any{"passkey": passkeyID, "via": "admin"}}
	if _, err := s.user(ctx, a, userID); err != nil {
		return s.done(ctx, a, e, err, false)
	}
	return s.change(ctx, a, e, func(ctx context.Context) error {
		var left int64
		res := s.DB.Conn(ctx).Exec(`DELETE FROM passkeys WHERE id = ? AND user_id = ?`, passkeyID, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("passkey")
		}
		if err := s.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&left).Error; err != nil {
			return err
		}
		e.Details["passkeys_left"] = left
		// The sessions that passkey signed in end with it, and their tokens are revoked: a
		// revoked device keeps nothing it got with the passkey.
		ended, err := s.Sessions.EndForPasskey(ctx, userID, passkeyID)
		if err != nil {
			return err
		}
		for _, sid := range ended {
			if err := s.SessionTokens.RevokeBySession(ctx, sid); err != nil {
				return err
			}
		}
		e.Details["sessions_ended"] = len(ended)
		return nil
	})
}

// ListSessions returns a page of a user's live sign-in sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, a Actor, userID string, p Page) ([]session.Session, string, error) {
	list, next, err := s.listSessions(ctx, a, userID, p)
	return list, next, s.read(ctx, a, audit.Event{Action: "sessions.listed", UserID: userID}, err)
}

func (s *Service) listSessions(ctx context.Context, a Actor, userID string, p Page) ([]session.Session, string, error) {
	if _, err := s.user(ctx, a, userID); err != nil {
		return nil, "", err
	}
	list, err := s.Sessions.ListForUser(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	key := func(x session.Session) string { return newestFirst(x.CreatedAt, x.ID) }
	sortBy(list, key)
	return pageOf(list, key, p)
}

// EndSession ends one of a user's sessions and revokes the tokens issued in it, so that the
// apps it signed in to lose access too.
func (s *Service) EndSession(ctx context.Context, a Actor, userID, sid string) error {
	e := audit.Event{Action: "session.ended", UserID: userID, Details: map[string]any{"sid": sid, "via": "admin"}}
	if _, err := s.user(ctx, a, userID); err != nil {
		return s.done(ctx, a, e, err, false)
	}
	return s.change(ctx, a, e, func(ctx context.Context) error {
		sess, err := s.Sessions.Get(ctx, sid)
		if errors.Is(err, database.ErrNotFound) || (err == nil && sess.UserID != userID) {
			return notFound("session")
		}
		if err != nil {
			return err
		}
		if err := s.Sessions.End(ctx, sid); err != nil {
			return err
		}
		return s.SessionTokens.RevokeBySession(ctx, sid)
	})
}
