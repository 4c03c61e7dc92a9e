// Package enroll owns single-use links that let a person create their first passkey: the
// first-run setup link (the instance's first admin) and enrollment links that admins issue for
// new users. Only a keyed hash of a link's token is stored; a link dies when used or expired.
package enroll

import (
	"context"
	"errors"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Purposes of a link.
const (
	PurposeSetup      = "setup"
	PurposeEnrollment = "enrollment"
)

// ErrInvalidLink is returned for unknown, used and expired links alike.
var ErrInvalidLink = errors.New("this link is not valid: it may have expired or been used already")

// Link is a stored single-use link.
type Link struct {
	ID, Purpose, UserID, CreatedBy string
	CreatedAt, ExpiresAt           time.Time
	UsedAt                         *time.Time
}

// Links stores single-use links.
type Links struct {
	DB     *database.DB
	Hasher *secret.Hasher
	Now    func() time.Time
}

func (l *Links) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Create issues a link and returns its token (shown once, never stored).
func (l *Links) Create(ctx context.Context, purpose, userID, createdBy string, validFor time.Duration) (string, error) {
	token := secret.Token(32)
	now := l.now()
	err := l.DB.Conn(ctx).Exec(`INSERT INTO enrollment_links (id, purpose, user_id, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, l.Hasher.String(token), purpose, userID, createdBy, now, now.Add(validFor)).Error
	return token, err
}

// Peek returns a usable link without using it.
func (l *Links) Peek(ctx context.Context, purpose, token string) (Link, error) {
	if token == "" || len(token) > 100 {
		return Link{}, ErrInvalidLink
	}
	var k Link
	res := l.DB.Conn(ctx).Raw(`SELECT id, purpose, user_id, created_by, created_at, expires_at, used_at
		FROM enrollment_links WHERE id = ? AND purpose = ?`, l.Hasher.String(token), purpose).Scan(&k)
	if res.Error != nil {
		return Link{}, res.Error
	}
	if res.RowsAffected == 0 || k.UsedAt != nil || !l.now().Before(k.ExpiresAt) {
		return Link{}, ErrInvalidLink
	}
	return k, nil
}

// Use marks a link used; of two concurrent uses only one succeeds.
func (l *Links) Use(ctx context.Context, purpose, token string) (Link, error) {
	k, err := l.Peek(ctx, purpose, token)
	if err != nil {
		return Link{}, err
	}
	now := l.now()
	res := l.DB.Conn(ctx).Exec(`UPDATE enrollment_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`,
		now, k.ID, now)
	if res.Error != nil {
		return Link{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Link{}, ErrInvalidLink
	}
	k.UsedAt = &now
	return k, nil
}

// Release makes a used link usable again, when what it was used for failed (the passkey was
// refused) and the person should be able to try again.
func (l *Links) Release(ctx context.Context, linkID string) error {
	return l.DB.Conn(ctx).Exec(`UPDATE enrollment_links SET used_at = NULL WHERE id = ?`, linkID).Error
}

// Bind attaches the user that a setup link is creating, so that a retried setup reuses it.
func (l *Links) Bind(ctx context.Context, linkID, userID string) error {
	return l.DB.Conn(ctx).Exec(`UPDATE enrollment_links SET user_id = ? WHERE id = ? AND user_id = ''`, userID, linkID).Error
}

// ExpireAll kills every unused link of a purpose.
func (l *Links) ExpireAll(ctx context.Context, purpose string) error {
	return l.DB.Conn(ctx).Exec(`UPDATE enrollment_links SET expires_at = ? WHERE purpose = ? AND used_at IS NULL`,
		l.now(), purpose).Error
}

// ExpireForUser kills a user's unused links of a purpose (a new recovery link replaces the old).
func (l *Links) ExpireForUser(ctx context.Context, purpose, userID string) error {
	return l.DB.Conn(ctx).Exec(`UPDATE enrollment_links SET expires_at = ? WHERE purpose = ? AND user_id = ? AND used_at IS NULL
		AND expires_at > ?`, l.now(), purpose, userID, l.now()).Error
}

// Purge deletes links that expired before cutoff.
func (l *Links) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	res := l.DB.Conn(ctx).Exec(`DELETE FROM enrollment_links WHERE expires_at < ?`, cutoff.UTC())
	return res.RowsAffected, res.Error
}

// AdminExists reports whether the instance has a system admin who can sign in (has a passkey).
func AdminExists(ctx context.Context, db *database.DB) (bool, error) {
	var n int64
	err := db.Conn(ctx).Raw(`SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE u.org_id = 'system' AND r.role = 'admin' AND u.status = 'active'
		AND EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)`).Scan(&n).Error
	return n > 0, err
}

// IsInvalid reports an unusable link.
func IsInvalid(err error) bool {
	return errors.Is(err, ErrInvalidLink) || errors.Is(err, database.ErrNotFound)
}
