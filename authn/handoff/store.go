package handoff

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Lifetimes.
const (
	// CodeLifetime is how long a code can be approved (issue 5: five minutes).
	CodeLifetime = 5 * time.Minute
	// CompleteWithin is how long the new device has, once the code is approved, to create its
	// passkey: a fresh span, so that a code approved in its last seconds is still usable.
	CompleteWithin = 5 * time.Minute
)

// States of a handoff. Expired is never stored: a pending or approved handoff past its
// expires_at reads as expired (Handoff.Status).
const (
	StatePending   = "pending"
	StateApproved  = "approved"
	StateDenied    = "denied"
	StateCancelled = "cancelled" // the new device asked for a new code
	StateCompleted = "completed"
	StateExpired   = "expired"
)

// Errors.
var (
	// ErrNotFound: no handoff for this browser or id.
	ErrNotFound = errors.New("handoff: not found")
	// ErrInvalidCode covers a wrong, expired, used or other account's code alike (the person is
	// told only "not valid"); CodeError says which, for the audit log.
	ErrInvalidCode = errors.New("handoff: code not valid")
	// ErrNotAllowed: the handoff is not (or no longer) in a state, or not bound to the browser,
	// account or session, that allows the step.
	ErrNotAllowed = errors.New("handoff: step not allowed")
)

// CodeError is ErrInvalidCode with the reason, for the audit log only.
type CodeError struct{ Reason string }

func (e *CodeError) Error() string        { return "handoff: code not valid (" + e.Reason + ")" }
func (e *CodeError) Is(target error) bool { return target == ErrInvalidCode }

// Reasons a code is refused.
const (
	ReasonWrong        = "wrong"         // no such code
	ReasonOtherAccount = "other_account" // a live code of another account (or of an unknown username)
	ReasonExpired      = "expired"
	ReasonUsed         = "used" // approved, denied, cancelled or completed already
)

// Handoff is one cross-device sign-in.
type Handoff struct {
	ID        string
	OrgID     string
	Username  string // as typed on the new device
	UserID    string // "" when the username is unknown: never approvable
	PendingID string // the authorize request the new device is signing in for, or ""
	ClientID  string
	State     string
	UserAgent string // of the new device, shown on the trusted device
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
	// VerifiedSID is the session of the trusted device that last typed the code correctly: only
	// that session may approve or deny.
	VerifiedSID string
	DecidedAt   time.Time
	CompletedAt time.Time
	PasskeyID   string // the passkey the new device created
}

// Status is the state as the new device should see it at now: expired instead of pending or
// approved once past ExpiresAt.
func (h Handoff) Status(now time.Time) string {
	if (h.State == StatePending || h.State == StateApproved) && !now.Before(h.ExpiresAt) {
		return StateExpired
	}
	return h.State
}

// Store keeps handoffs in the database (table handoffs, migration 00006).
type Store struct {
	db     *database.DB
	hasher *secret.Hasher
	now    func() time.Time
}

// NewStore returns a store on db. hasher keys the stored hashes of codes and browser secrets;
// give it a purpose of its own. now is the clock (nil means time.Now).
func NewStore(db *database.DB, hasher *secret.Hasher, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, hasher: hasher, now: now}
}

// clock is now in UTC at microsecond precision, the precision PostgreSQL keeps.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Store) codeHash(code string) string      { return s.hasher.String("code:" + code) }
func (s *Store) browserHash(secret string) string { return s.hasher.String("browser:" + secret) }

const cols = `id, code_hash, org_id, username, user_id, pending_id, client_id, state, user_agent, ip,
	created_at, expires_at, verified_sid, decided_at, completed_at, passkey_id`

type row struct {
	ID, CodeHash, OrgID, Username, UserID, PendingID, ClientID, State, UserAgent, IP string
	CreatedAt, ExpiresAt                                                             time.Time
	VerifiedSID                                                                      string `gorm:"column:verified_sid"`
	DecidedAt, CompletedAt                                                           *time.Time
	PasskeyID                                                                        string
}

func (r row) handoff() Handoff {
	h := Handoff{ID: r.ID, OrgID: r.OrgID, Username: r.Username, UserID: r.UserID, PendingID: r.PendingID,
		ClientID: r.ClientID, State: r.State, UserAgent: r.UserAgent, IP: r.IP, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), VerifiedSID: r.VerifiedSID, PasskeyID: r.PasskeyID}
	if r.DecidedAt != nil {
		h.DecidedAt = r.DecidedAt.UTC()
	}
	if r.CompletedAt != nil {
		h.CompletedAt = r.CompletedAt.UTC()
	}
	return h
}

// Create stores a new pending handoff (the caller fills OrgID, Username, UserID, PendingID,
// ClientID, UserAgent and IP) and returns it with its code (display form) and the browser
// secret for the new device's cookie. Neither is stored in clear.
func (s *Store) Create(ctx context.Context, h Handoff) (Handoff, string, string, error) {
	now := s.clock()
	h.ID, h.State, h.CreatedAt, h.ExpiresAt = secret.Token(16), StatePending, now, now.Add(CodeLifetime)
	h.VerifiedSID, h.PasskeyID, h.DecidedAt, h.CompletedAt = "", "", time.Time{}, time.Time{}
	code, browser := NewCode(), secret.Token(32)
	if len(h.UserAgent) > 512 {
		h.UserAgent = h.UserAgent[:512]
	}
	err := s.db.Conn(ctx).Exec(`INSERT INTO handoffs (id, code_hash, browser_hash, org_id, username, user_id, pending_id,
		client_id, state, user_agent, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, s.codeHash(NormalizeCode(code)), s.browserHash(browser), h.OrgID, h.Username, h.UserID, h.PendingID,
		h.ClientID, h.State, h.UserAgent, h.IP, h.CreatedAt, h.ExpiresAt).Error
	if err != nil {
		return Handoff{}, "", "", fmt.Errorf("handoff: create: %w", err)
	}
	return h, code, browser, nil
}

// ByBrowser returns the handoff a new device's cookie secret refers to.
func (s *Store) ByBrowser(ctx context.Context, browserSecret string) (Handoff, error) {
	if browserSecret == "" {
		return Handoff{}, ErrNotFound
	}
	return s.one(ctx, `SELECT `+cols+` FROM handoffs WHERE browser_hash = ?`, s.browserHash(browserSecret))
}

// Get returns a handoff by id.
func (s *Store) Get(ctx context.Context, id string) (Handoff, error) {
	return s.one(ctx, `SELECT `+cols+` FROM handoffs WHERE id = ?`, id)
}

func (s *Store) one(ctx context.Context, q string, args ...any) (Handoff, error) {
	var rows []row
	if err := s.db.Conn(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return Handoff{}, err
	}
	if len(rows) == 0 {
		return Handoff{}, ErrNotFound
	}
	return rows[0].handoff(), nil
}

// Verify checks a code typed on the trusted device signed in as userID of orgID, in session
// sid. A code is accepted only if it is pending, unexpired, and was started for this very
// account; the handoff then remembers sid as the one session that may approve or deny it. Any
// refusal is a *CodeError (errors.Is ErrInvalidCode) whose reason is for the audit log only.
func (s *Store) Verify(ctx context.Context, typed, orgID, userID, sid string) (Handoff, error) {
	code := NormalizeCode(typed)
	if code == "" || userID == "" {
		return Handoff{}, &CodeError{ReasonWrong}
	}
	want := s.codeHash(code)
	var rows []row
	// Looked up by keyed hash (the index holds no code), then compared again in constant time.
	if err := s.db.Conn(ctx).Raw(`SELECT `+cols+` FROM handoffs WHERE code_hash = ? ORDER BY created_at DESC`, want).
		Scan(&rows).Error; err != nil {
		return Handoff{}, err
	}
	now := s.clock()
	reason := ReasonWrong
	for _, r := range rows {
		if subtle.ConstantTimeCompare([]byte(r.CodeHash), []byte(want)) != 1 {
			continue
		}
		h := r.handoff()
		switch {
		case h.UserID != userID || h.OrgID != orgID:
			reason = ReasonOtherAccount
			continue
		case h.State != StatePending:
			reason = ReasonUsed
			continue
		case !now.Before(h.ExpiresAt):
			reason = ReasonExpired
			continue
		}
		res := s.db.Conn(ctx).Exec(`UPDATE handoffs SET verified_sid = ? WHERE id = ? AND state = ?`, sid, h.ID, StatePending)
		if res.Error != nil {
			return Handoff{}, res.Error
		}
		if res.RowsAffected == 0 {
			return Handoff{}, &CodeError{ReasonUsed}
		}
		h.VerifiedSID = sid
		return h, nil
	}
	return Handoff{}, &CodeError{reason}
}

// Approve marks a pending, unexpired handoff of userID as approved, if sid is the session that
// verified its code; the new device then has CompleteWithin to create its passkey.
func (s *Store) Approve(ctx context.Context, id, userID, sid string) (Handoff, error) {
	now := s.clock()
	return s.decide(ctx, id, `UPDATE handoffs SET state = ?, decided_at = ?, expires_at = ?
		WHERE id = ? AND state = ? AND user_id = ? AND user_id <> '' AND verified_sid = ? AND verified_sid <> '' AND expires_at > ?`,
		StateApproved, now, now.Add(CompleteWithin), id, StatePending, userID, sid, now)
}

// Deny marks a pending, unexpired handoff of userID as denied, if sid verified its code.
func (s *Store) Deny(ctx context.Context, id, userID, sid string) (Handoff, error) {
	now := s.clock()
	return s.decide(ctx, id, `UPDATE handoffs SET state = ?, decided_at = ?
		WHERE id = ? AND state = ? AND user_id = ? AND user_id <> '' AND verified_sid = ? AND verified_sid <> '' AND expires_at > ?`,
		StateDenied, now, id, StatePending, userID, sid, now)
}

// Cancel ends a pending handoff of this browser (the new device asked for a new code). A
// handoff in any other state is left as it is.
func (s *Store) Cancel(ctx context.Context, browserSecret string) error {
	if browserSecret == "" {
		return nil
	}
	return s.db.Conn(ctx).Exec(`UPDATE handoffs SET state = ?, decided_at = ? WHERE browser_hash = ? AND state = ?`,
		StateCancelled, s.clock(), s.browserHash(browserSecret), StatePending).Error
}

// Complete marks this browser's approved, unexpired handoff as completed with the passkey it
// created: the code is then dead. Of two concurrent completions only one succeeds.
func (s *Store) Complete(ctx context.Context, browserSecret, passkeyID string) (Handoff, error) {
	if browserSecret == "" {
		return Handoff{}, ErrNotAllowed
	}
	h, err := s.ByBrowser(ctx, browserSecret)
	if err != nil {
		return Handoff{}, err
	}
	now := s.clock()
	return s.decide(ctx, h.ID, `UPDATE handoffs SET state = ?, completed_at = ?, passkey_id = ?
		WHERE id = ? AND state = ? AND user_id <> '' AND expires_at > ?`,
		StateCompleted, now, passkeyID, h.ID, StateApproved, now)
}

func (s *Store) decide(ctx context.Context, id string, q string, args ...any) (Handoff, error) {
	var h Handoff
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		res := s.db.Conn(ctx).Exec(q, args...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotAllowed
		}
		var err error
		h, err = s.Get(ctx, id)
		return err
	})
	return h, err
}

// Completed is a handoff that added a passkey, for the account page ("A passkey was added from
// a new device").
type Completed struct {
	ID          string
	CompletedAt time.Time
	PasskeyID   string
	UserAgent   string // of the new device
	IP          string
	ClientID    string // the app it signed in to, or ""
}

// RecentForUser lists the user's completed handoffs since a time, newest first.
func (s *Store) RecentForUser(ctx context.Context, userID string, since time.Time) ([]Completed, error) {
	var rows []row
	err := s.db.Conn(ctx).Raw(`SELECT `+cols+` FROM handoffs WHERE user_id = ? AND state = ? AND completed_at >= ?
		ORDER BY completed_at DESC`, userID, StateCompleted, since.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Completed, 0, len(rows))
	for _, r := range rows {
		h := r.handoff()
		out = append(out, Completed{ID: h.ID, CompletedAt: h.CompletedAt, PasskeyID: h.PasskeyID, UserAgent: h.UserAgent,
			IP: h.IP, ClientID: h.ClientID})
	}
	return out, nil
}

// Purge deletes handoffs that expired before cutoff, completed ones included (the audit log
// keeps their history); the janitor passes a cutoff of, say, 30 days ago so that the account
// page can still list recent ones.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	c := cutoff.UTC()
	res := s.db.Conn(ctx).Exec(`DELETE FROM handoffs WHERE expires_at < ? AND (completed_at IS NULL OR completed_at < ?)`, c, c)
	return res.RowsAffected, res.Error
}
