package session

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Session is one signed-in browser.
type Session struct {
	ID         string // public session id ("sid"), not the cookie value
	UserID     string
	OrgID      string
	Method     string   // e.g. "passkey", "password"
	AMR        []string // RFC 8176 authentication method references
	ACR        string
	AuthTime   time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	UserAgent  string
	IP         string
	VerifiedAt time.Time // last passkey check in this session (sign-in or a fresh check)
	// PasskeyID is the passkey (passkey.Credential.ID) a passkey sign-in used, "" otherwise: "I
	// lost this device" ends the sessions that device's passkey started.
	PasskeyID string
	// Idle is how long this session may go unused, fixed when it starts (its organisation's
	// idle lifetime); 0 is the idle lifetime Lookup is given (the server's default).
	Idle time.Duration
}

// Store keeps sessions in the database.
type Store struct {
	db     *database.DB
	hasher *secret.Hasher
	now    func() time.Time

	// OnEnd, when set, is called with the sessions End, EndAllForUser and EndForPasskey end,
	// inside the transaction that ends them: an error undoes the ending. Every way a session
	// ends goes through these, so this is where relying parties learn of it (back-channel logout).
	OnEnd func(ctx context.Context, ended []Ended) error
}

// Ended is a session that has just ended, as OnEnd sees it.
type Ended struct {
	ID, UserID string
}

func (s *Store) ended(ctx context.Context, userID string, ids []string) error {
	if s.OnEnd == nil || len(ids) == 0 {
		return nil
	}
	out := make([]Ended, len(ids))
	for i, id := range ids {
		out[i] = Ended{ID: id, UserID: userID}
	}
	return s.OnEnd(ctx, out)
}

// NewStore returns a session store; hasher keys the stored hash of cookie values.
func NewStore(db *database.DB, hasher *secret.Hasher) *Store {
	return &Store{db: db, hasher: hasher, now: func() time.Time { return time.Now().UTC() }}
}

const selectSessions = `SELECT id, token_hash, user_id, org_id, method, amr, acr, auth_time, created_at,
	last_seen_at, expires_at, user_agent, ip, ended_at, verified_at, passkey_id, idle_seconds FROM auth_sessions`

type row struct {
	ID, TokenHash, UserID, OrgID, Method, AMR, ACR string
	AuthTime, CreatedAt, LastSeenAt, ExpiresAt     time.Time
	UserAgent, IP                                  string
	EndedAt, VerifiedAt                            *time.Time
	PasskeyID                                      string
	IdleSeconds                                    int64
}

// Create stores a new session and returns the cookie value that refers to it. The caller fills
// UserID, OrgID, Method, AMR, ACR, AuthTime, ExpiresAt, UserAgent and IP, and Idle when the
// session has an idle lifetime of its own.
func (s *Store) Create(ctx context.Context, sess Session) (string, Session, error) {
	token := secret.Token(32)
	sess.ID = secret.Token(16)
	now := s.now()
	sess.CreatedAt, sess.LastSeenAt = now, now
	if sess.AuthTime.IsZero() {
		sess.AuthTime = now
	}
	amr, _ := json.Marshal(sess.AMR)
	var verified *time.Time
	if !sess.VerifiedAt.IsZero() {
		v := sess.VerifiedAt.UTC()
		verified = &v
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO auth_sessions (id, token_hash, user_id, org_id, method, amr, acr,
		auth_time, created_at, last_seen_at, expires_at, user_agent, ip, verified_at, passkey_id, idle_seconds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		sess.ID, s.hasher.String(token), sess.UserID, sess.OrgID, sess.Method, string(amr), sess.ACR,
		sess.AuthTime.UTC(), now, now, sess.ExpiresAt.UTC(), truncate(sess.UserAgent, 512), sess.IP, verified, sess.PasskeyID,
		int64(sess.Idle/time.Second))
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Lookup returns the live session a cookie value refers to: not ended, before its absolute end,
// and seen within its idle lifetime (its own, or idle when it has none). It records the visit (at most once a minute, to spare the database).
func (s *Store) Lookup(ctx context.Context, token string, idle time.Duration) (Session, error) {
	// Read by hand rather than through gorm: every request of a signed-in browser looks it up.
	var r row
	var ended, verified sql.NullTime
	err := s.db.QueryRow(ctx, selectSessions+` WHERE token_hash = $1`, s.hasher.String(token)).Scan(&r.ID, &r.TokenHash,
		&r.UserID, &r.OrgID, &r.Method, &r.AMR, &r.ACR, &r.AuthTime, &r.CreatedAt, &r.LastSeenAt, &r.ExpiresAt,
		&r.UserAgent, &r.IP, &ended, &verified, &r.PasskeyID, &r.IdleSeconds)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, database.ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	if ended.Valid {
		r.EndedAt = &ended.Time
	}
	if verified.Valid {
		r.VerifiedAt = &verified.Time
	}
	now := s.now()
	if r.IdleSeconds > 0 {
		idle = time.Duration(r.IdleSeconds) * time.Second
	}
	if r.EndedAt != nil || !now.Before(r.ExpiresAt) || !now.Before(r.LastSeenAt.Add(idle)) {
		return Session{}, database.ErrNotFound
	}
	if now.Sub(r.LastSeenAt) > time.Minute {
		if err := s.db.Conn(ctx).Exec(`UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?`, now, r.ID).Error; err != nil {
			return Session{}, err
		}
		r.LastSeenAt = now
	}
	return r.session(), nil
}

func (r row) session() Session {
	sess := Session{ID: r.ID, UserID: r.UserID, OrgID: r.OrgID, Method: r.Method, ACR: r.ACR,
		AuthTime: r.AuthTime.UTC(), CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), UserAgent: r.UserAgent, IP: r.IP, PasskeyID: r.PasskeyID,
		Idle: time.Duration(r.IdleSeconds) * time.Second}
	if r.VerifiedAt != nil {
		sess.VerifiedAt = r.VerifiedAt.UTC()
	}
	_ = json.Unmarshal([]byte(r.AMR), &sess.AMR)
	return sess
}

// Get returns a session by its public id, live or not ended yet (database.ErrNotFound otherwise).
func (s *Store) Get(ctx context.Context, id string) (Session, error) {
	var r row
	res := s.db.Conn(ctx).Raw(selectSessions+` WHERE id = ? AND ended_at IS NULL`, id).Scan(&r)
	if res.Error != nil {
		return Session{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Session{}, database.ErrNotFound
	}
	return r.session(), nil
}

// MarkVerified records a fresh passkey check for the session.
func (s *Store) MarkVerified(ctx context.Context, id string, at time.Time) error {
	res := s.db.Conn(ctx).Exec(`UPDATE auth_sessions SET verified_at = ? WHERE id = ? AND ended_at IS NULL`, at.UTC(), id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}

// EndAllForUser ends every live session of a user except keep (which may be ""); it returns the
// ids it ended.
func (s *Store) EndAllForUser(ctx context.Context, userID, keep string) ([]string, error) {
	var ids []string
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		c := s.db.Conn(ctx)
		if err := c.Raw(`SELECT id FROM auth_sessions WHERE user_id = ? AND id <> ? AND ended_at IS NULL`, userID, keep).Scan(&ids).Error; err != nil {
			return err
		}
		if err := c.Exec(`UPDATE auth_sessions SET ended_at = ? WHERE user_id = ? AND id <> ? AND ended_at IS NULL`, s.now(), userID, keep).Error; err != nil {
			return err
		}
		return s.ended(ctx, userID, ids)
	})
	return ids, err
}

// End ends a session; ending an ended or unknown session is database.ErrNotFound.
func (s *Store) End(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		var userID string
		if s.OnEnd != nil {
			if err := s.db.Conn(ctx).Raw(`SELECT user_id FROM auth_sessions WHERE id = ? AND ended_at IS NULL`, id).Scan(&userID).Error; err != nil {
				return err
			}
		}
		res := s.db.Conn(ctx).Exec(`UPDATE auth_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`, s.now(), id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return database.ErrNotFound
		}
		return s.ended(ctx, userID, []string{id})
	})
}

// ListForUser returns a user's live sessions, newest first.
func (s *Store) ListForUser(ctx context.Context, userID string) ([]Session, error) {
	var rows []row
	now := s.now()
	err := s.db.Conn(ctx).Raw(selectSessions+`
		WHERE user_id = ? AND ended_at IS NULL AND expires_at > ? ORDER BY created_at DESC`, userID, now).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.session())
	}
	return out, nil
}

// Purge deletes sessions that ended or expired before cutoff (the audit log keeps their history).
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.Conn(ctx).Exec(`DELETE FROM auth_sessions WHERE expires_at < ? OR (ended_at IS NOT NULL AND ended_at < ?)`,
		cutoff.UTC(), cutoff.UTC())
	return res.RowsAffected, res.Error
}
