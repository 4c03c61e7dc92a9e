package clients

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portcullis-id/portcullis/internal/database"
)

// Store keeps clients in the clients table. Every statement runs on db.Conn(ctx), so a
// transaction carried by the caller's context covers it.
type Store struct {
	db *database.DB
}

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store {
	return &Store{db: db}
}

// row is a clients row; the list columns hold JSON arrays (see migrations).
type row struct {
	ID                          string    `gorm:"column:id"`
	OrgID                       string    `gorm:"column:org_id"`
	Name                        string    `gorm:"column:name"`
	Public                      bool      `gorm:"column:public"`
	SecretHash                  []byte    `gorm:"column:secret_hash"`
	RedirectURIs                string    `gorm:"column:redirect_uris"`
	PostLogoutRedirectURIs      string    `gorm:"column:post_logout_redirect_uris"`
	GrantTypes                  string    `gorm:"column:grant_types"`
	ResponseTypes               string    `gorm:"column:response_types"`
	Scopes                      string    `gorm:"column:scopes"`
	Audience                    string    `gorm:"column:audience"`
	TokenEndpointAuthMethod     string    `gorm:"column:token_endpoint_auth_method"`
	JWKS                        string    `gorm:"column:jwks"`
	JWKSURI                     string    `gorm:"column:jwks_uri"`
	TokenEndpointAuthSigningAlg string    `gorm:"column:token_endpoint_auth_signing_alg"`
	IDTokenSignedResponseAlg    string    `gorm:"column:id_token_signed_response_alg"`
	JWTAccessTokens             bool      `gorm:"column:jwt_access_tokens"`
	RequirePAR                  bool      `gorm:"column:require_par"`
	FirstParty                  bool      `gorm:"column:first_party"`
	CanIntrospect               bool      `gorm:"column:can_introspect"`
	LogoURI                     string    `gorm:"column:logo_uri"`
	PolicyURI                   string    `gorm:"column:policy_uri"`
	TOSURI                      string    `gorm:"column:tos_uri"`
	BackchannelLogoutURI        string    `gorm:"column:backchannel_logout_uri"`
	BackchannelLogoutSession    bool      `gorm:"column:backchannel_logout_session_required"`
	FrontchannelLogoutURI       string    `gorm:"column:frontchannel_logout_uri"`
	FrontchannelLogoutSession   bool      `gorm:"column:frontchannel_logout_session_required"`
	AccessTokenLifetime         int64     `gorm:"column:access_token_lifetime_seconds"`
	RefreshTokenLifetime        int64     `gorm:"column:refresh_token_lifetime_seconds"`
	IDTokenLifetime             int64     `gorm:"column:id_token_lifetime_seconds"`
	CreatedAt                   time.Time `gorm:"column:created_at"`
	UpdatedAt                   time.Time `gorm:"column:updated_at"`
}

const selectClients = `SELECT id, org_id, name, public, secret_hash, redirect_uris,
	post_logout_redirect_uris, grant_types, response_types, scopes, audience,
	token_endpoint_auth_method, jwks, jwks_uri, token_endpoint_auth_signing_alg,
	id_token_signed_response_alg, jwt_access_tokens, require_par, first_party, can_introspect,
	logo_uri, policy_uri, tos_uri, backchannel_logout_uri, backchannel_logout_session_required,
	frontchannel_logout_uri, frontchannel_logout_session_required, access_token_lifetime_seconds,
	refresh_token_lifetime_seconds, id_token_lifetime_seconds, created_at, updated_at
	FROM clients`

// Create inserts a client. A client with the same ID gives database.ErrAlreadyExists; an
// unknown organisation gives a *ValidationError for org_id.
func (s *Store) Create(ctx context.Context, c Client) error {
	lists, err := encodeLists(c)
	if err != nil {
		return err
	}
	err = s.db.Conn(ctx).Exec(`INSERT INTO clients (id, org_id, name, public, secret_hash,
		redirect_uris, post_logout_redirect_uris, grant_types, response_types, scopes, audience,
		token_endpoint_auth_method, jwks, jwks_uri, token_endpoint_auth_signing_alg,
		id_token_signed_response_alg, jwt_access_tokens, require_par, first_party, can_introspect,
		logo_uri, policy_uri, tos_uri, backchannel_logout_uri, backchannel_logout_session_required,
		frontchannel_logout_uri, frontchannel_logout_session_required, access_token_lifetime_seconds,
		refresh_token_lifetime_seconds, id_token_lifetime_seconds, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OrgID, c.Name, c.Public, nilIfEmpty(c.SecretHash),
		lists[0], lists[1], lists[2], lists[3], lists[4], lists[5],
		c.TokenEndpointAuthMethod, c.JWKS, c.JWKSURI, c.TokenEndpointAuthSigningAlg, c.IDTokenSignedResponseAlg,
		c.JWTAccessTokens, c.RequirePAR, c.FirstParty, c.CanIntrospect,
		c.LogoURI, c.PolicyURI, c.TOSURI, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired,
		seconds(c.Lifetimes.AccessToken), seconds(c.Lifetimes.RefreshToken), seconds(c.Lifetimes.IDToken),
		c.CreatedAt.UTC(), c.UpdatedAt.UTC()).Error
	switch {
	case database.IsUniqueViolation(err):
		return database.ErrAlreadyExists
	case isForeignKeyViolation(err):
		return invalidValue("org_id", c.OrgID, "no such organisation")
	case err != nil:
		return fmt.Errorf("create client: %w", err)
	}
	return nil
}

// Get returns the client with the given ID, or database.ErrNotFound. It runs on every token
// request, so it is one primary-key lookup.
func (s *Store) Get(ctx context.Context, id string) (Client, error) {
	var r row
	res := s.db.Conn(ctx).Raw(selectClients+` WHERE id = ?`, id).Scan(&r)
	if res.Error != nil {
		return Client{}, fmt.Errorf("get client: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Client{}, database.ErrNotFound
	}
	return r.client()
}

// List returns the clients of an organisation, or of all organisations when orgID is "",
// ordered by name. The sort is done here so both databases agree whatever their collation.
func (s *Store) List(ctx context.Context, orgID string) ([]Client, error) {
	var rows []row
	q := s.db.Conn(ctx)
	if orgID == "" {
		q = q.Raw(selectClients)
	} else {
		q = q.Raw(selectClients+` WHERE org_id = ?`, orgID)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out := make([]Client, 0, len(rows))
	for _, r := range rows {
		c, err := r.client()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Client) int {
		return cmp.Or(
			strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			strings.Compare(a.Name, b.Name),
			strings.Compare(a.ID, b.ID),
		)
	})
	return out, nil
}

// Update replaces what an admin may change: everything but the ID, organisation, type (Public),
// secret (see SetSecretHash, so that an edit made from a stale read cannot undo a rotation)
// and creation time. It returns database.ErrNotFound when there is no such client.
func (s *Store) Update(ctx context.Context, c Client) error {
	lists, err := encodeLists(c)
	if err != nil {
		return err
	}
	res := s.db.Conn(ctx).Exec(`UPDATE clients SET name = ?, redirect_uris = ?,
		post_logout_redirect_uris = ?, grant_types = ?, response_types = ?, scopes = ?,
		audience = ?, token_endpoint_auth_method = ?, jwks = ?, jwks_uri = ?,
		token_endpoint_auth_signing_alg = ?, id_token_signed_response_alg = ?,
		jwt_access_tokens = ?, require_par = ?, first_party = ?, can_introspect = ?,
		logo_uri = ?, policy_uri = ?, tos_uri = ?, backchannel_logout_uri = ?,
		backchannel_logout_session_required = ?, frontchannel_logout_uri = ?,
		frontchannel_logout_session_required = ?, access_token_lifetime_seconds = ?,
		refresh_token_lifetime_seconds = ?, id_token_lifetime_seconds = ?, updated_at = ?
		WHERE id = ?`,
		c.Name, lists[0], lists[1], lists[2], lists[3], lists[4], lists[5],
		c.TokenEndpointAuthMethod, c.JWKS, c.JWKSURI, c.TokenEndpointAuthSigningAlg, c.IDTokenSignedResponseAlg,
		c.JWTAccessTokens, c.RequirePAR, c.FirstParty, c.CanIntrospect,
		c.LogoURI, c.PolicyURI, c.TOSURI, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired,
		seconds(c.Lifetimes.AccessToken), seconds(c.Lifetimes.RefreshToken), seconds(c.Lifetimes.IDToken),
		c.UpdatedAt.UTC(), c.ID)
	if res.Error != nil {
		return fmt.Errorf("update client: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return database.ErrNotFound
	}
	return nil
}

// SetSecretHash replaces a confidential client's secret hash (rotation; see NewSecret). The old
// secret stops working at once. It returns database.ErrNotFound when there is no such client
// and ErrPublicClient for a public one.
func (s *Store) SetSecretHash(ctx context.Context, id string, hash []byte, now time.Time) error {
	if len(hash) == 0 {
		return errors.New("clients: empty secret hash")
	}
	res := s.db.Conn(ctx).Exec(`UPDATE clients SET secret_hash = ?, updated_at = ? WHERE id = ? AND public = ?`,
		hash, now.UTC(), id, false)
	if res.Error != nil {
		return fmt.Errorf("set client secret: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// Only on failure: tell a public client from a missing one.
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		return ErrPublicClient
	}
	return nil
}

// Delete removes a client and, in the same transaction, every token issued to it, so that none
// outlives it. It returns database.ErrNotFound when there is no such client.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		res := s.db.Conn(ctx).Exec(`DELETE FROM clients WHERE id = ?`, id)
		if res.Error != nil {
			return fmt.Errorf("delete client: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return database.ErrNotFound
		}
		if err := s.db.Conn(ctx).Exec(`DELETE FROM oauth2_tokens WHERE client_id = ?`, id).Error; err != nil {
			return fmt.Errorf("delete client tokens: %w", err)
		}
		return nil
	})
}

func (r row) client() (Client, error) {
	c := Client{
		ID:                          r.ID,
		OrgID:                       r.OrgID,
		Name:                        r.Name,
		Public:                      r.Public,
		SecretHash:                  nilIfEmpty(r.SecretHash),
		TokenEndpointAuthMethod:     r.TokenEndpointAuthMethod,
		JWKS:                        r.JWKS,
		JWKSURI:                     r.JWKSURI,
		TokenEndpointAuthSigningAlg: r.TokenEndpointAuthSigningAlg,
		IDTokenSignedResponseAlg:    r.IDTokenSignedResponseAlg,
		JWTAccessTokens:             r.JWTAccessTokens,
		RequirePAR:                  r.RequirePAR,
		FirstParty:                  r.FirstParty,
		CanIntrospect:               r.CanIntrospect,
		LogoURI:                     r.LogoURI,
		PolicyURI:                   r.PolicyURI,
		TOSURI:                      r.TOSURI,

		BackchannelLogoutURI:              r.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired:  r.BackchannelLogoutSession,
		FrontchannelLogoutURI:             r.FrontchannelLogoutURI,
		FrontchannelLogoutSessionRequired: r.FrontchannelLogoutSession,
		Lifetimes: Lifetimes{AccessToken: time.Duration(r.AccessTokenLifetime) * time.Second,
			RefreshToken: time.Duration(r.RefreshTokenLifetime) * time.Second,
			IDToken:      time.Duration(r.IDTokenLifetime) * time.Second},
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *[]string
	}{
		{"redirect_uris", r.RedirectURIs, &c.RedirectURIs},
		{"post_logout_redirect_uris", r.PostLogoutRedirectURIs, &c.PostLogoutRedirectURIs},
		{"grant_types", r.GrantTypes, &c.GrantTypes},
		{"response_types", r.ResponseTypes, &c.ResponseTypes},
		{"scopes", r.Scopes, &c.Scopes},
		{"audience", r.Audience, &c.Audience},
	} {
		var list []string
		if err := json.Unmarshal([]byte(f.raw), &list); err != nil {
			return Client{}, fmt.Errorf("client %s: column %s is not a JSON array: %w", r.ID, f.name, err)
		}
		*f.dst = clone(list) // an empty list reads back as nil, as New builds it
	}
	return c, nil
}

// encodeLists returns the JSON of the list columns, in column order; nil encodes as [].
func encodeLists(c Client) ([6]string, error) {
	var out [6]string
	for i, list := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes,
		c.ResponseTypes, c.Scopes, c.Audience} {
		if list == nil {
			list = []string{}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return out, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// seconds is a lifetime as its column keeps it (validated to whole seconds).
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// isForeignKeyViolation reports whether err is a broken reference in either database.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}
