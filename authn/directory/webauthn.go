package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/portcullis-id/portcullis/internal/database"
)

// webAuthnHandleSize is the length of a WebAuthn user handle. The handle goes to every
// authenticator that stores one of the user's passkeys, so it is random and says nothing about
// the user (WebAuthn Level 3 §14.6.1: never the username or email); at most 64 bytes are allowed.
const webAuthnHandleSize = 32

// WebAuthnHandle returns the user's WebAuthn user handle (user.id in the ceremonies), creating it
// on first use. The handle is stable for the user's lifetime: their passkeys carry it and present
// it when they sign in. Two concurrent first uses agree on one handle.
func (s *Store) WebAuthnHandle(ctx context.Context, userID string) ([]byte, error) {
	enc, err := s.webAuthnHandle(ctx, userID)
	if err != nil {
		return nil, err
	}
	if enc == "" {
		b := make([]byte, webAuthnHandleSize)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		// Only the first writer wins; a racing writer's UPDATE matches no row and both re-read.
		err := s.db.Conn(ctx).Exec(`UPDATE users SET webauthn_handle = ? WHERE id = ? AND webauthn_handle = ''`,
			base64.RawURLEncoding.EncodeToString(b), userID).Error
		if err != nil {
			return nil, err
		}
		if enc, err = s.webAuthnHandle(ctx, userID); err != nil {
			return nil, err
		}
		if enc == "" {
			return nil, fmt.Errorf("user %s: WebAuthn handle was not stored", userID)
		}
	}
	h, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("user %s: stored WebAuthn handle is not base64url: %w", userID, err)
	}
	return h, nil
}

func (s *Store) webAuthnHandle(ctx context.Context, userID string) (string, error) {
	var enc []string
	if err := s.db.Conn(ctx).Raw(`SELECT webauthn_handle FROM users WHERE id = ?`, userID).Scan(&enc).Error; err != nil {
		return "", err
	}
	if len(enc) == 0 {
		return "", database.ErrNotFound
	}
	return enc[0], nil
}

// GetUserByWebAuthnHandle returns the user a passkey's user handle names (database.ErrNotFound
// when no user has it).
func (s *Store) GetUserByWebAuthnHandle(ctx context.Context, handle []byte) (User, error) {
	if len(handle) == 0 || len(handle) > 64 {
		return User{}, database.ErrNotFound
	}
	return s.getUser(ctx, `webauthn_handle = $1`,
		base64.RawURLEncoding.EncodeToString(handle))
}
