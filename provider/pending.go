package provider

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
	// Consent is the consent step's answer (ConsentAllowed, ConsentDenied, or "" not asked) and
	// ConsentUserID who gave it; the answer counts only for that user.
	Consent, ConsentUserID string
}

// The consent step's answers to a pending request.
const (
	ConsentAllowed = "allowed"
	ConsentDenied  = "denied"
)

// PendingStore keeps pending authorize requests.
type PendingStore struct {
	DB *database.DB

	// get is the lookup prepared once: a sign-in reads its pending request four times (the
	// sign-in page, both halves of the ceremony and the resume), and gorm's scan into a struct
	// cost more than the query.
	getMu sync.Mutex
	get   atomic.Pointer[sql.Stmt]

	recent recentPending // what Request serves from memory
}

// Create parks a validated authorize request.
func (s *PendingStore) Create(ctx context.Context, clientID string, form url.Values, viaPAR bool, now time.Time) (Pending, error) {
	p := Pending{ID: secret.Token(24), ClientID: clientID, Form: form, ViaPAR: viaPAR, CreatedAt: now.UTC(),
		ExpiresAt: now.UTC().Add(PendingLifespan)}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO pending_authorizations (id, client_id, form, via_par, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.ClientID, form.Encode(), viaPAR, p.CreatedAt, p.ExpiresAt)
	if err == nil {
		if _, inTx := database.TxFrom(ctx); !inTx { // a transaction's row may yet be rolled back
			s.recent.put(p, now)
		}
	}
	return p, err
}

const selectPending = `SELECT id, client_id, form, via_par, created_at, expires_at, consent, consent_user_id FROM pending_authorizations
	WHERE id = $1`

// Get returns a pending request that has not expired (database.ErrNotFound otherwise).
func (s *PendingStore) Get(ctx context.Context, id string, now time.Time) (Pending, error) {
	var p Pending
	var form string
	var row *sql.Row
	if tx, ok := database.TxFrom(ctx); ok {
		// Inside a caller's transaction: on its connection.
		row = tx.WithContext(ctx).Raw(strings.Replace(selectPending, "$1", "?", 1), id).Row()
	} else {
		stmt, err := s.statement(ctx)
		if err != nil {
			return Pending{}, err
		}
		row = stmt.QueryRowContext(ctx, id)
	}
	err := row.Scan(&p.ID, &p.ClientID, &form, &p.ViaPAR, &p.CreatedAt, &p.ExpiresAt, &p.Consent, &p.ConsentUserID)
	if errors.Is(err, sql.ErrNoRows) {
		return Pending{}, database.ErrNotFound
	}
	if err != nil {
		return Pending{}, err
	}
	if !now.Before(p.ExpiresAt) {
		return Pending{}, database.ErrNotFound
	}
	if p.Form, err = url.ParseQuery(form); err != nil {
		return Pending{}, err
	}
	p.CreatedAt, p.ExpiresAt = p.CreatedAt.UTC(), p.ExpiresAt.UTC()
	return p, nil
}

// statement prepares the lookup once; a failed prepare is tried again next time.
func (s *PendingStore) statement(ctx context.Context) (*sql.Stmt, error) {
	if st := s.get.Load(); st != nil {
		return st, nil
	}
	s.getMu.Lock()
	defer s.getMu.Unlock()
	if st := s.get.Load(); st != nil {
		return st, nil
	}
	st, err := s.DB.SQL().PrepareContext(ctx, selectPending)
	if err != nil {
		return nil, err
	}
	s.get.Store(st)
	return st, nil
}

// SetConsent records the consent step's answer on a pending request; an answered or expired
// request is database.ErrNotFound.
func (s *PendingStore) SetConsent(ctx context.Context, id, userID string, allowed bool, now time.Time) error {
	answer := ConsentDenied
	if allowed {
		answer = ConsentAllowed
	}
	res := s.DB.Conn(ctx).Exec(`UPDATE pending_authorizations SET consent = ?, consent_user_id = ? WHERE id = ? AND expires_at > ?`,
		answer, userID, id, now.UTC())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}

// Delete removes a pending request once it has been answered; a request already answered (two
// resumes racing) is database.ErrNotFound, so only one of them gets a code.
func (s *PendingStore) Delete(ctx context.Context, id string) error {
	// Forgotten whether or not the delete commits: the database is then read again.
	s.recent.forget(id)
	res, err := s.DB.ExecContext(ctx, `DELETE FROM pending_authorizations WHERE id = $1`, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = database.ErrNotFound
	}
	return err
}

// Purge deletes expired pending requests (the janitor's job, off the request path).
func (s *PendingStore) Purge(ctx context.Context, now time.Time) (int64, error) {
	s.recent.forgetExpired(now)
	res := s.DB.Conn(ctx).Exec(`DELETE FROM pending_authorizations WHERE expires_at < ?`, now.UTC())
	return res.RowsAffected, res.Error
}
