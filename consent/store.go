package consent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/store"
)

// Decision is what a user allowed one client: the scopes, when first and when last.
type Decision struct {
	UserID, ClientID string
	Scopes           []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// ClientName is the app's registered name, filled by List.
	ClientName string
}

// Tokens revokes what a user was issued for one client (provider/store.UserTokens).
type Tokens interface {
	RevokeForClient(ctx context.Context, userID, clientID string) (int64, error)
}

// Store keeps decisions in the consents table. Every statement runs on db.Conn(ctx), so a
// transaction carried by the caller's context covers it.
type Store struct {
	DB     *database.DB
	Tokens Tokens
}

// NewStore returns a store on db whose Revoke also revokes tokens in the same database.
func NewStore(db *database.DB) *Store {
	return &Store{DB: db, Tokens: store.UserTokens{DB: db}}
}

type row struct {
	UserID     string    `gorm:"column:user_id"`
	ClientID   string    `gorm:"column:client_id"`
	Scopes     string    `gorm:"column:scopes"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
	ClientName string    `gorm:"column:client_name"`
}

func (r row) decision() (Decision, error) {
	d := Decision{UserID: r.UserID, ClientID: r.ClientID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		ClientName: r.ClientName}
	if err := json.Unmarshal([]byte(r.Scopes), &d.Scopes); err != nil {
		return Decision{}, fmt.Errorf("consent %s/%s: scopes are not a JSON array: %w", r.UserID, r.ClientID, err)
	}
	return d, nil
}

// Get returns the user's decision for the client, or database.ErrNotFound.
func (s *Store) Get(ctx context.Context, userID, clientID string) (Decision, error) {
	var rows []row
	err := s.DB.Conn(ctx).Raw(`SELECT user_id, client_id, scopes, created_at, updated_at FROM consents
		WHERE user_id = ? AND client_id = ?`, userID, clientID).Scan(&rows).Error
	if err != nil {
		return Decision{}, fmt.Errorf("get consent: %w", err)
	}
	if len(rows) == 0 {
		return Decision{}, database.ErrNotFound
	}
	return rows[0].decision()
}

// Covers reports whether the user has allowed the client every one of scopes: a remembered
// decision answers a request for the same or fewer scopes; one scope more asks again. Without
// any decision nothing is covered, not even an empty request.
func (s *Store) Covers(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	d, err := s.Get(ctx, userID, clientID)
	if errors.Is(err, database.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, sc := range scopes {
		if !slices.Contains(d.Scopes, sc) {
			return false, nil
		}
	}
	return true, nil
}

// Grant records that the user allowed the client scopes, adding them to what was allowed
// before (asking again for more scopes widens the decision; it never narrows it).
func (s *Store) Grant(ctx context.Context, userID, clientID string, scopes []string, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		d, err := s.Get(ctx, userID, clientID)
		if err != nil && !errors.Is(err, database.ErrNotFound) {
			return err
		}
		found := err == nil
		all := union(d.Scopes, scopes)
		b, err := json.Marshal(all)
		if err != nil {
			return err
		}
		c := s.DB.Conn(ctx)
		if found {
			err = c.Exec(`UPDATE consents SET scopes = ?, updated_at = ? WHERE user_id = ? AND client_id = ?`,
				string(b), now, userID, clientID).Error
		} else {
			err = c.Exec(`INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				userID, clientID, string(b), now, now).Error
		}
		if database.IsUniqueViolation(err) {
			// Two tabs allowed at once: the other one recorded it first; record ours on top.
			return c.Exec(`UPDATE consents SET scopes = ?, updated_at = ? WHERE user_id = ? AND client_id = ?`,
				string(b), now, userID, clientID).Error
		}
		if err != nil {
			return fmt.Errorf("grant consent: %w", err)
		}
		return nil
	})
}

// List returns the user's decisions with each app's name, the most recently updated first.
func (s *Store) List(ctx context.Context, userID string) ([]Decision, error) {
	var rows []row
	err := s.DB.Conn(ctx).Raw(`SELECT c.user_id, c.client_id, c.scopes, c.created_at, c.updated_at, cl.name AS client_name
		FROM consents c JOIN clients cl ON cl.id = c.client_id WHERE c.user_id = ?`, userID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	out := make([]Decision, 0, len(rows))
	for _, r := range rows {
		d, err := r.decision()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Decision) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})
	return out, nil
}

// Revoke takes back the user's decision for the client and, in the same transaction, revokes
// the refresh and access tokens (and unused codes) the client holds for the user: the app loses
// access at once, and the next sign-in asks again. It returns database.ErrNotFound when there
// was no decision (the tokens are revoked all the same).
func (s *Store) Revoke(ctx context.Context, userID, clientID string) error {
	var found bool
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		res := s.DB.Conn(ctx).Exec(`DELETE FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if res.Error != nil {
			return fmt.Errorf("revoke consent: %w", res.Error)
		}
		found = res.RowsAffected > 0
		if _, err := s.Tokens.RevokeForClient(ctx, userID, clientID); err != nil {
			return fmt.Errorf("revoke the app's tokens: %w", err)
		}
		return nil
	})
	if err == nil && !found {
		return database.ErrNotFound
	}
	return err
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}
