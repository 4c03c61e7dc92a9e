package passkey

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/internal/secret"
)

// Ceremony kinds (webauthn_ceremonies.kind).
const (
	kindRegister     = "register"     // user_id: the user adding a passkey
	kindLogin        = "login"        // username-first; user_id: the user, or "" for a decoy
	kindDiscoverable = "discoverable" // usernameless / conditional mediation; user_id: ""
)

// ceremony is the server-side state of one ceremony: what was asked of the browser, for whom.
type ceremony struct {
	Kind    string
	UserID  string
	Session webauthn.SessionData
	Expires time.Time
}

// saveCeremony stores the ceremony under the keyed hash of a fresh random token and returns the
// token, for the caller to put in a cookie. Only the hash is stored, so the table is no use to
// whoever reads it without the system secret.
func (s *Service) saveCeremony(ctx context.Context, kind, userID string, session *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(session)
	if err != nil {
		return "", err
	}
	token := secret.Token(32)
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (id, kind, user_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.hasher.String(token), kind, userID, string(data), now, now.Add(s.cfg.Timeout))
	if err != nil {
		return "", err
	}
	return token, nil
}

type ceremonyRow struct {
	Kind, UserID, Data string
	ExpiresAt          time.Time
}

// takeCeremony deletes the ceremony and returns it, so that it is used at most once whatever
// the outcome: of two concurrent finishes, only the one whose DELETE removes the row gets it
// back (RETURNING, in SQLite since 3.35 and in PostgreSQL). It returns ErrCeremonyExpired for an
// unknown, used, expired or different-kind ceremony.
func (s *Service) takeCeremony(ctx context.Context, token string, kinds ...string) (ceremony, error) {
	if token == "" {
		return ceremony{}, refuse(ErrCeremonyExpired, nil, "no ceremony token")
	}
	var r ceremonyRow
	err := s.db.ExecRow(ctx, `DELETE FROM webauthn_ceremonies WHERE id = $1 RETURNING kind, user_id, data, expires_at`,
		[]any{s.hasher.String(token)}, &r.Kind, &r.UserID, &r.Data, &r.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return ceremony{}, refuse(ErrCeremonyExpired, nil, "ceremony unknown or already used")
	}
	if err != nil {
		return ceremony{}, err
	}
	if !s.now().Before(r.ExpiresAt) {
		return ceremony{}, refuse(ErrCeremonyExpired, nil, "ceremony expired at %s", r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	ok := false
	for _, k := range kinds {
		ok = ok || r.Kind == k
	}
	if !ok {
		return ceremony{}, refuse(ErrCeremonyExpired, nil, "ceremony is a %q ceremony, not %v", r.Kind, kinds)
	}
	c := ceremony{Kind: r.Kind, UserID: r.UserID, Expires: r.ExpiresAt.UTC()}
	if err := json.Unmarshal([]byte(r.Data), &c.Session); err != nil {
		return ceremony{}, err
	}
	return c, nil
}

// PurgeCeremonies deletes ceremonies that expired before now and reports how many.
func (s *Service) PurgeCeremonies(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.Conn(ctx).Exec(`DELETE FROM webauthn_ceremonies WHERE expires_at < ?`, now.UTC())
	return res.RowsAffected, res.Error
}
