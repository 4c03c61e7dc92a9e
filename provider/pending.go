package provider

import (
	"context"
	"net/url"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Pending is an authorize request parked while the user signs in. Only its random id travels
// through the browser; the parameters stay on the server, so nobody can alter them on the way.
type Pending struct {
	ID        string
	ClientID  string
	Form      url.Values
	ViaPAR    bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PendingStore keeps pending authorize requests.
type PendingStore struct{ DB *database.DB }

// Create parks a validated authorize request.
func (s *PendingStore) Create(ctx context.Context, clientID string, form url.Values, viaPAR bool, now time.Time) (Pending, error) {
	p := Pending{ID: secret.Token(24), ClientID: clientID, Form: form, ViaPAR: viaPAR, CreatedAt: now.UTC(),
		ExpiresAt: now.UTC().Add(PendingLifespan)}
	err := s.DB.Conn(ctx).Exec(`INSERT INTO pending_authorizations (id, client_id, form, via_par, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.ID, p.ClientID, form.Encode(), viaPAR, p.CreatedAt, p.ExpiresAt).Error
	return p, err
}

// Get returns a pending request that has not expired (database.ErrNotFound otherwise).
func (s *PendingStore) Get(ctx context.Context, id string, now time.Time) (Pending, error) {
	var r struct {
		ID, ClientID, Form   string
		ViaPar               bool
		CreatedAt, ExpiresAt time.Time
	}
	res := s.DB.Conn(ctx).Raw(`SELECT id, client_id, form, via_par, created_at, expires_at FROM pending_authorizations
		WHERE id = ?`, id).Scan(&r)
	if res.Error != nil {
		return Pending{}, res.Error
	}
	if res.RowsAffected == 0 || !now.Before(r.ExpiresAt) {
		return Pending{}, database.ErrNotFound
	}
	form, err := url.ParseQuery(r.Form)
	if err != nil {
		return Pending{}, err
	}
	return Pending{ID: r.ID, ClientID: r.ClientID, Form: form, ViaPAR: r.ViaPar, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC()}, nil
}

// Delete removes a pending request once it has been answered; a request already answered (two
// resumes racing) is database.ErrNotFound, so only one of them gets a code.
func (s *PendingStore) Delete(ctx context.Context, id string) error {
	res := s.DB.Conn(ctx).Exec(`DELETE FROM pending_authorizations WHERE id = ?`, id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}

// Purge deletes expired pending requests (the janitor's job, off the request path).
func (s *PendingStore) Purge(ctx context.Context, now time.Time) (int64, error) {
	res := s.DB.Conn(ctx).Exec(`DELETE FROM pending_authorizations WHERE expires_at < ?`, now.UTC())
	return res.RowsAffected, res.Error
}
