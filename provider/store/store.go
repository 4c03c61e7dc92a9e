package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fstorage "github.com/ory/fosite/storage"
	"gorm.io/gorm"

	"github.com/portcullis-id/portcullis/internal/database"
)

// Token kinds, one per fosite storage family.
const (
	KindCode    = "code"
	KindAccess  = "access"
	KindRefresh = "refresh"
	KindPKCE    = "pkce"
	KindOIDC    = "oidc"
	KindPAR     = "par"
)

// ClientSource resolves a client id to a fosite client (fosite.ErrNotFound when unknown).
type ClientSource interface {
	GetClient(ctx context.Context, id string) (fosite.Client, error)
}

// SessionIDer is implemented by sessions that belong to a Portcullis sign-in session, so tokens
// can be revoked when that sign-in session ends.
type SessionIDer interface {
	GetSessionID() string
}

// Store implements fosite's storage interfaces.
type Store struct {
	db         *database.DB
	clients    ClientSource
	newSession func() fosite.Session
	now        func() time.Time
	batch      *batcher

	// CodeSignature maps an authorization code to its storage signature (the provider sets it
	// to its token strategy's). Without it, OpenID Connect requests are stored in rows of their
	// own, keyed by the code.
	CodeSignature func(ctx context.Context, code string) string

	prepMu     sync.Mutex
	selectStmt atomic.Pointer[sql.Stmt]
}

var (
	_ fosite.ClientManager               = (*Store)(nil)
	_ oauth2.CoreStorage                 = (*Store)(nil)
	_ oauth2.TokenRevocationStorage      = (*Store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*Store)(nil)
	_ pkce.PKCERequestStorage            = (*Store)(nil)
	_ fosite.PARStorage                  = (*Store)(nil)
	_ fstorage.Transactional             = (*Store)(nil)
)

// New returns a store on db that resolves clients through clients; newSession makes the empty
// session that stored pushed authorization requests are read into.
func New(db *database.DB, clients ClientSource, newSession func() fosite.Session) *Store {
	return &Store{db: db, clients: clients, newSession: newSession, now: func() time.Time { return time.Now().UTC() },
		batch: newBatcher(db)}
}

// GetClient implements fosite.ClientManager.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	return s.clients.GetClient(ctx, id)
}

// stored is the JSON form of a fosite request.
type stored struct {
	// Empty lists are left out (rows written before have them as null or []): every token row
	// is written, so every byte counts. The request id and client are columns too, but reading
	// them from there cost introspection more than writing them here costs the token endpoint.
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScope    []string        `json:"requested_scope,omitempty"`
	GrantedScope      []string        `json:"granted_scope,omitempty"`
	RequestedAudience []string        `json:"requested_audience,omitempty"`
	GrantedAudience   []string        `json:"granted_audience,omitempty"`
	Form              url.Values      `json:"form,omitempty"`
	Session           json.RawMessage `json:"session"`
	// Authorize requests (PAR) only.
	ResponseTypes []string `json:"response_types,omitempty"`
	RedirectURI   string   `json:"redirect_uri,omitempty"`
	State         string   `json:"state,omitempty"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	DefaultMode   string   `json:"default_response_mode,omitempty"`
	// Code rows written by FlushCode (code.go) only.
	Merged bool  `json:"merged,omitempty"`
	PKCE   *part `json:"pkce,omitempty"`
	OIDC   *part `json:"oidc,omitempty"`
}

// WithoutCredentials copies a request form without client credentials, which must never be
// stored (a client_secret_post secret would otherwise sit in clear with a PAR request).
func WithoutCredentials(form url.Values) url.Values {
	out := make(url.Values, len(form))
	for k, v := range form {
		switch k {
		case "client_secret", "client_assertion", "client_assertion_type":
			continue
		}
		out[k] = v
	}
	return out
}

// farFuture stands in for "never expires" so that the expiry index still orders every row.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func expiry(req fosite.Requester, tt fosite.TokenType) time.Time {
	if sess := req.GetSession(); sess != nil {
		if e := sess.GetExpiresAt(tt); !e.IsZero() {
			return e.UTC()
		}
	}
	return farFuture
}

// toStored is the JSON form of req.
func (s *Store) toStored(req fosite.Requester) (stored, error) {
	sess, err := json.Marshal(req.GetSession())
	if err != nil {
		return stored{}, fmt.Errorf("serialize session: %w", err)
	}
	st := stored{
		ID:                req.GetID(),
		RequestedAt:       req.GetRequestedAt().UTC(),
		ClientID:          req.GetClient().GetID(),
		RequestedScope:    req.GetRequestedScopes(),
		GrantedScope:      req.GetGrantedScopes(),
		RequestedAudience: req.GetRequestedAudience(),
		GrantedAudience:   req.GetGrantedAudience(),
		Form:              WithoutCredentials(req.GetRequestForm()),
		Session:           sess,
	}
	if ar, ok := req.(fosite.AuthorizeRequester); ok {
		st.ResponseTypes = ar.GetResponseTypes()
		if u := ar.GetRedirectURI(); u != nil {
			st.RedirectURI = u.String()
		}
		st.State = ar.GetState()
		st.ResponseMode = string(ar.GetResponseMode())
		st.DefaultMode = string(ar.GetDefaultResponseMode())
	}
	return st, nil
}

// rowArgs are the insert arguments of a token row; data is the last.
func (s *Store) rowArgs(kind, signature string, req fosite.Requester, tt fosite.TokenType, st stored, data []byte) []any {
	var subject, sid string
	if sess := req.GetSession(); sess != nil {
		subject = sess.GetSubject()
		if si, ok := sess.(SessionIDer); ok {
			sid = si.GetSessionID()
		}
	}
	requestedAt := st.RequestedAt
	if requestedAt.IsZero() {
		requestedAt = s.now()
	}
	return []any{kind, signature, req.GetID(), st.ClientID, subject, sid, true, requestedAt, expiry(req, tt), string(data)}
}

func (s *Store) create(ctx context.Context, kind, signature string, req fosite.Requester, tt fosite.TokenType) error {
	st, err := s.toStored(req)
	if err != nil {
		return err
	}
	if w := gathered(ctx); w != nil && kind == KindCode && w.signature == "" {
		// Held back until FlushCode, to be written with its PKCE and OpenID Connect parts.
		w.signature, w.st, w.args = signature, st, s.rowArgs(kind, signature, req, tt, st, nil)
		return nil
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.insert(ctx, s.rowArgs(kind, signature, req, tt, st, data))
}

// insert writes one token row: in the caller's transaction if there is one, else by group commit.
func (s *Store) insert(ctx context.Context, args []any) error {
	var err error
	if _, inTx := database.TxFrom(ctx); inTx {
		_, err = s.db.ExecContext(ctx, insertSQL, args...)
	} else {
		err = s.batch.insert(ctx, args)
	}
	if database.IsUniqueViolation(err) {
		return fosite.ErrTokenSignatureMismatch.WithDebug("duplicate token signature")
	}
	return err
}

// get loads a row and hydrates a request. It returns the request together with
// fosite.ErrInactiveToken for inactive rows, as fosite's reuse detection expects.
func (s *Store) get(ctx context.Context, kind, signature string, session fosite.Session) (*fosite.AuthorizeRequest, bool, error) {
	if st := readBefore(ctx, kind, signature); st != nil {
		// fosite reads the code twice per exchange; the second read is the first one's row.
		// Whether the code is still unused is decided when it is deactivated. The lists are
		// copied: fosite appends to a request's, and the first request still has these.
		cp := *st
		cp.RequestedScope, cp.GrantedScope = slices.Clone(st.RequestedScope), slices.Clone(st.GrantedScope)
		cp.RequestedAudience, cp.GrantedAudience = slices.Clone(st.RequestedAudience), slices.Clone(st.GrantedAudience)
		ar, err := s.hydrate(ctx, kind, &cp, session)
		return ar, err == nil, err
	}
	r, err := s.load(ctx, kind, signature)
	if err != nil {
		return nil, false, err
	}
	st, err := r.decode()
	if err != nil {
		return nil, false, fmt.Errorf("stored %s token is corrupt: %w", kind, err)
	}
	ar, err := s.hydrate(ctx, kind, &st, session)
	if err != nil {
		return nil, false, err
	}
	remember(ctx, kind, signature, &st)
	if r.active {
		readActive(ctx, kind, signature)
	}
	return ar, r.active, nil
}

// hydrate makes a fosite request of a stored one, unmarshalling its session into session.
func (s *Store) hydrate(ctx context.Context, kind string, st *stored, session fosite.Session) (*fosite.AuthorizeRequest, error) {
	client, err := s.clients.GetClient(ctx, st.ClientID)
	if err != nil {
		// A deleted client takes its tokens with it.
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	if session != nil && len(st.Session) > 0 && string(st.Session) != "null" {
		if err := s.fillSession(ctx, kind, st.Session, session); err != nil {
			return nil, fmt.Errorf("stored %s session is corrupt: %w", kind, err)
		}
	}
	ar := fosite.NewAuthorizeRequest()
	ar.ID = st.ID
	ar.RequestedAt = st.RequestedAt
	ar.Client = client
	ar.RequestedScope = arguments(st.RequestedScope)
	ar.GrantedScope = arguments(st.GrantedScope)
	ar.RequestedAudience = arguments(st.RequestedAudience)
	ar.GrantedAudience = arguments(st.GrantedAudience)
	ar.Form = url.Values{}
	for k, v := range st.Form {
		ar.Form[k] = v
	}
	ar.Session = session
	ar.ResponseTypes = st.ResponseTypes
	ar.State = st.State
	ar.ResponseMode = fosite.ResponseModeType(st.ResponseMode)
	ar.DefaultResponseMode = fosite.ResponseModeType(st.DefaultMode)
	if st.RedirectURI != "" {
		if u, err := url.Parse(st.RedirectURI); err == nil {
			ar.RedirectURI = u
		}
	}
	return ar, nil
}

// SessionCopier is a session that can be made a deep copy of another without JSON.
type SessionCopier interface {
	CopyFrom(src fosite.Session) bool
}

// fillSession unmarshals a stored session into session. Within one token request, the code, its
// PKCE part and its OpenID Connect part carry the same session, and fosite reads the code twice:
// the first unmarshalled copy is kept and later ones are copies of it (a tenth of a full
// sign-in's CPU went to unmarshalling the same session four times).
func (s *Store) fillSession(ctx context.Context, kind string, raw json.RawMessage, session fosite.Session) error {
	x := tracked(ctx)
	dst, copier := session.(SessionCopier)
	if x != nil && kind == KindCode && copier && x.session != nil && bytes.Equal(x.sessionJSON, raw) &&
		dst.CopyFrom(x.session) {
		return nil
	}
	if err := json.Unmarshal(raw, session); err != nil {
		return err
	}
	if x != nil && kind == KindCode && copier && s.newSession != nil {
		// Keep a pristine copy: fosite changes the session it was given (ID token claims).
		if kept, ok := s.newSession().(SessionCopier); ok && kept.CopyFrom(session) {
			x.session, x.sessionJSON = kept.(fosite.Session), raw
		}
	}
	return nil
}

// arguments is a stored list for a fosite request; an empty one is empty, not nil, as in the
// requests fosite makes.
func arguments(list []string) fosite.Arguments {
	if list == nil {
		return fosite.Arguments{}
	}
	return list
}

const selectSQL = `SELECT active, data FROM oauth2_tokens WHERE kind = $1 AND signature = $2`

// row is a token row as read.
type row struct {
	active bool
	data   string
}

// decode unmarshals a row's data.
func (r row) decode() (stored, error) {
	var st stored
	err := json.Unmarshal([]byte(r.data), &st)
	return st, err
}

// load reads a token row. Outside a transaction it uses a statement prepared once: token lookups
// (introspection, userinfo) are the hottest read.
func (s *Store) load(ctx context.Context, kind, signature string) (row, error) {
	var r row
	var err error
	if _, ok := database.TxFrom(ctx); ok {
		err = s.db.QueryRow(ctx, selectSQL, kind, signature).Scan(&r.active, &r.data)
	} else {
		var stmt *sql.Stmt
		if stmt, err = s.selectStatement(ctx); err != nil {
			return row{}, err
		}
		err = stmt.QueryRowContext(ctx, kind, signature).Scan(&r.active, &r.data)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, fosite.ErrNotFound
	}
	return r, err
}

// selectStatement prepares the lookup once; a failed prepare (say, the database was briefly
// unreachable) is tried again on the next lookup rather than remembered.
func (s *Store) selectStatement(ctx context.Context) (*sql.Stmt, error) {
	if st := s.selectStmt.Load(); st != nil {
		return st, nil
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if st := s.selectStmt.Load(); st != nil {
		return st, nil
	}
	st, err := s.db.SQL().PrepareContext(ctx, selectSQL)
	if err != nil {
		return nil, err
	}
	s.selectStmt.Store(st)
	return st, nil
}

func (s *Store) delete(ctx context.Context, kind, signature string) error {
	return s.db.Conn(ctx).Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND signature = ?`, kind, signature).Error
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, code string, req fosite.Requester) error {
	return s.create(ctx, KindCode, code, req, fosite.AuthorizeCode)
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.get(ctx, KindCode, code, session)
	if err != nil {
		return nil, err
	}
	if !active {
		// fosite revokes every token issued with a code that is used twice (RFC 6749 section 4.1.2).
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// deactivate marks an active token row inactive and reports whether it was (0: another request
// did it first, or there is no such row).
func (s *Store) deactivate(ctx context.Context, kind, signature string) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE oauth2_tokens SET active = $1 WHERE kind = $2 AND signature = $3 AND active = $4`,
		false, kind, signature, true)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	if n, err := s.deactivate(ctx, KindCode, code); err != nil {
		return err
	} else if n == 0 {
		// Two exchanges of one code racing: only the first may win.
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return nil
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.create(ctx, KindAccess, signature, req, fosite.AccessToken)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.get(ctx, KindAccess, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, fosite.ErrNotFound
	}
	return req, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, KindAccess, signature)
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, _ string, req fosite.Requester) error {
	return s.create(ctx, KindRefresh, signature, req, fosite.RefreshToken)
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage. An already-rotated token comes
// back with fosite.ErrInactiveToken so that fosite revokes its whole family (RFC 6819 5.2.2.3).
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.get(ctx, KindRefresh, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, KindRefresh, signature)
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage: the used refresh token becomes
// inactive (kept, so its reuse is detected) and the family's access tokens are revoked.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	if n, err := s.deactivate(ctx, KindRefresh, signature); err != nil {
		return err
	} else if n == 0 {
		// Another request rotated this token first.
		return fosite.ErrSerializationFailure
	}
	return s.RevokeAccessToken(ctx, requestID)
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: every refresh token of the grant
// (fosite keeps one request id across rotations) stops working.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.db.Conn(ctx).Exec(`UPDATE oauth2_tokens SET active = ? WHERE kind = ? AND request_id = ?`,
		false, KindRefresh, requestID).Error
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.db.Conn(ctx).Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND request_id = ?`, KindAccess, requestID).Error
}

// CreatePARSession implements fosite.PARStorage.
func (s *Store) CreatePARSession(ctx context.Context, requestURI string, req fosite.AuthorizeRequester) error {
	return s.create(ctx, KindPAR, requestURI, req, fosite.PushedAuthorizeRequestContext)
}

// GetPARSession implements fosite.PARStorage; expired request URIs are unknown (RFC 9126 section 2.2).
func (s *Store) GetPARSession(ctx context.Context, requestURI string) (fosite.AuthorizeRequester, error) {
	var exp time.Time
	res := s.db.Conn(ctx).Raw(`SELECT expires_at FROM oauth2_tokens WHERE kind = ? AND signature = ?`, KindPAR, requestURI).Scan(&exp)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 || !s.now().Before(exp) {
		return nil, fosite.ErrNotFound
	}
	ar, _, err := s.get(ctx, KindPAR, requestURI, s.newSession())
	if err != nil {
		return nil, err
	}
	return ar, nil
}

// DeletePARSession implements fosite.PARStorage. A request_uri is single-use (RFC 9126 section
// 4): of two concurrent uses, the one that does not delete the row fails.
func (s *Store) DeletePARSession(ctx context.Context, requestURI string) error {
	res := s.db.Conn(ctx).Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND signature = ?`, KindPAR, requestURI)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fosite.ErrNotFound
	}
	return nil
}

// ClientAssertionJWTValid implements fosite.ClientManager (RFC 7523 section 3, item 7).
func (s *Store) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	var n int64
	if err := s.db.Conn(ctx).Raw(`SELECT COUNT(*) FROM oauth2_jtis WHERE jti = ? AND expires_at > ?`, jti, s.now()).Scan(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT implements fosite.ClientManager.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		c := s.db.Conn(ctx)
		if err := c.Exec(`DELETE FROM oauth2_jtis WHERE expires_at <= ?`, s.now()).Error; err != nil {
			return err
		}
		err := c.Exec(`INSERT INTO oauth2_jtis (jti, expires_at) VALUES (?, ?)`, jti, exp.UTC()).Error
		if database.IsUniqueViolation(err) {
			return fosite.ErrJTIKnown
		}
		if err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
		return nil
	})
}

// BeginTX implements fosite's storage.Transactional.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if _, ok := database.TxFrom(ctx); ok {
		return ctx, nil
	}
	tx := s.db.DB.WithContext(ctx).Begin()
	if tx.Error != nil {
		return ctx, tx.Error
	}
	return database.WithTx(ctx, tx), nil
}

// Commit implements fosite's storage.Transactional.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := database.TxFrom(ctx)
	if !ok {
		return errors.New("commit without a transaction")
	}
	return tx.Commit().Error
}

// Rollback implements fosite's storage.Transactional.
func (s *Store) Rollback(ctx context.Context) error {
	tx, ok := database.TxFrom(ctx)
	if !ok {
		return errors.New("rollback without a transaction")
	}
	err := tx.Rollback().Error
	if errors.Is(err, gorm.ErrInvalidTransaction) || errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// RevokeBySession revokes every token issued in a sign-in session: its refresh tokens stop
// working and its access tokens are deleted. Ending a session (a lost device, "sign out
// everywhere else") must not leave its apps' tokens alive. The redundant "session_id is not
// empty" condition lets both databases use the partial session index (a planner cannot prove a
// bound parameter is not empty); without it, SQLite walks every refresh token.
func (s *Store) RevokeBySession(ctx context.Context, sid string) error {
	if sid == "" {
		return nil
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		c := s.db.Conn(ctx)
		if err := c.Exec(`UPDATE oauth2_tokens SET active = ? WHERE kind = ? AND session_id = ? AND session_id <> ''`, false, KindRefresh, sid).Error; err != nil {
			return err
		}
		return c.Exec(`DELETE FROM oauth2_tokens WHERE kind = ? AND session_id = ? AND session_id <> ''`, KindAccess, sid).Error
	})
}

// Close stops the group-commit writer and releases its connection and prepared statements.
func (s *Store) Close() error {
	s.batch.close()
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if st := s.selectStmt.Swap(nil); st != nil {
		return st.Close()
	}
	return nil
}

// Purge deletes expired tokens, codes, PAR requests and client-assertion JWT IDs. An expired
// refresh token can no longer be reused, so keeping it for reuse detection serves nothing.
func (s *Store) Purge(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.Conn(ctx).Exec(`DELETE FROM oauth2_tokens WHERE expires_at < ?`, now.UTC())
	if res.Error != nil {
		return 0, res.Error
	}
	if err := s.db.Conn(ctx).Exec(`DELETE FROM oauth2_jtis WHERE expires_at < ?`, now.UTC()).Error; err != nil {
		return res.RowsAffected, err
	}
	return res.RowsAffected, nil
}
