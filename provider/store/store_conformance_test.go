package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/store"
)

// fakeClients is a map-backed store.ClientSource.
type fakeClients struct {
	mu sync.Mutex
	m  map[string]*fosite.DefaultClient
}

func (f *fakeClients) GetClient(_ context.Context, id string) (fosite.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.m[id]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return c, nil
}

func (f *fakeClients) put(c *fosite.DefaultClient) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[c.ID] = c
}

func (f *fakeClients) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, id)
}

// sidSession is a session that belongs to a Portcullis sign-in session (store.SessionIDer).
type sidSession struct {
	*openid.DefaultSession
	SID string `json:"sid,omitempty"`
}

func (s *sidSession) GetSessionID() string { return s.SID }

type env struct {
	db      *database.DB
	st      *store.Store
	clients *fakeClients
	client  *fosite.DefaultClient
	now     time.Time
}

// shared is the one store of a database: a Store keeps a pool connection for its group commit,
// so the suite makes one per database, as the server does.
type shared struct {
	db      *database.DB
	st      *store.Store
	clients *fakeClients
}

func newShared(db *database.DB) *shared {
	clients := &fakeClients{m: map[string]*fosite.DefaultClient{}}
	return &shared{db: db, clients: clients,
		st: store.New(db, clients, func() fosite.Session { return openid.NewDefaultSession() })}
}

// newEnv registers a client of its own for one subtest.
func newEnv(t *testing.T, sh *shared) *env {
	t.Helper()
	client := &fosite.DefaultClient{
		ID: "client-" + t.Name(), RedirectURIs: []string{"https://rp.example.test/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		Scopes: []string{"openid", "profile", "offline_access"},
	}
	sh.clients.put(client)
	return &env{db: sh.db, st: sh.st, clients: sh.clients, client: client, now: time.Now().UTC()}
}

// session returns an OpenID Connect session for subject whose tokens all expire at exp.
func session(subject string, exp time.Time) *openid.DefaultSession {
	s := openid.NewDefaultSession()
	s.Subject = subject
	s.Username = "user-" + subject
	s.Claims.Subject = subject
	s.Claims.Issuer = "https://id.example.test"
	s.Claims.Extra = map[string]any{"tenant": "acme", "level": float64(2), "groups": []any{"ops", "dev"}}
	for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode,
		fosite.IDToken, fosite.PushedAuthorizeRequestContext} {
		s.SetExpiresAt(tt, exp)
	}
	return s
}

// accessRequest builds a token-endpoint request as fosite would hand it to the store.
func (e *env) accessRequest(id, subject string, exp time.Time) *fosite.AccessRequest {
	r := fosite.NewAccessRequest(session(subject, exp))
	r.ID = id
	r.RequestedAt = e.now.Add(-time.Second).Truncate(time.Millisecond)
	r.Client = e.client
	r.GrantTypes = fosite.Arguments{"authorization_code"}
	r.RequestedScope = fosite.Arguments{"openid", "profile", "offline_access"}
	r.GrantedScope = fosite.Arguments{"openid", "offline_access"}
	r.RequestedAudience = fosite.Arguments{"https://api.example.test"}
	r.GrantedAudience = fosite.Arguments{"https://api.example.test"}
	r.Form = url.Values{"grant_type": {"authorization_code"}, "code": {"c0de"}, "scope": {"openid profile"}}
	return r
}

// authorizeRequest builds an authorize-endpoint request.
func (e *env) authorizeRequest(id, subject string, exp time.Time) *fosite.AuthorizeRequest {
	r := fosite.NewAuthorizeRequest()
	r.ID = id
	r.RequestedAt = e.now.Add(-time.Second).Truncate(time.Millisecond)
	r.Client = e.client
	r.Session = session(subject, exp)
	r.RequestedScope = fosite.Arguments{"openid", "profile"}
	r.GrantedScope = fosite.Arguments{"openid"}
	r.ResponseTypes = fosite.Arguments{"code"}
	r.RedirectURI, _ = url.Parse("https://rp.example.test/cb?x=1")
	r.State = "state-1234567890"
	r.ResponseMode = fosite.ResponseModeFormPost
	r.DefaultResponseMode = fosite.ResponseModeQuery
	r.Form = url.Values{"response_type": {"code"}, "client_id": {e.client.ID}, "nonce": {"n-0S6_WzA2Mj"},
		"redirect_uri": {"https://rp.example.test/cb?x=1"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}
	return r
}

// checkRequest compares a stored and loaded request, the session included.
func checkRequest(t *testing.T, got, want fosite.Requester) {
	t.Helper()
	if got == nil {
		t.Fatal("request is nil")
	}
	if got.GetID() != want.GetID() {
		t.Errorf("ID = %q, want %q", got.GetID(), want.GetID())
	}
	if got.GetClient() == nil || got.GetClient().GetID() != want.GetClient().GetID() {
		t.Errorf("client = %v, want %s", got.GetClient(), want.GetClient().GetID())
	}
	if !got.GetRequestedAt().Equal(want.GetRequestedAt()) {
		t.Errorf("RequestedAt = %v, want %v", got.GetRequestedAt(), want.GetRequestedAt())
	}
	for name, pair := range map[string][2]fosite.Arguments{
		"requested scope":    {got.GetRequestedScopes(), want.GetRequestedScopes()},
		"granted scope":      {got.GetGrantedScopes(), want.GetGrantedScopes()},
		"requested audience": {got.GetRequestedAudience(), want.GetRequestedAudience()},
		"granted audience":   {got.GetGrantedAudience(), want.GetGrantedAudience()},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	if !reflect.DeepEqual(got.GetRequestForm(), want.GetRequestForm()) {
		t.Errorf("form = %v, want %v", got.GetRequestForm(), want.GetRequestForm())
	}
	gs, ok := got.GetSession().(*openid.DefaultSession)
	if !ok {
		t.Fatalf("session is %T, want *openid.DefaultSession", got.GetSession())
	}
	ws := want.GetSession().(*openid.DefaultSession)
	if gs.Subject != ws.Subject || gs.GetSubject() != ws.Subject || gs.Username != ws.Username {
		t.Errorf("session subject/username = %q/%q, want %q/%q", gs.Subject, gs.Username, ws.Subject, ws.Username)
	}
	if gs.Claims == nil || gs.Claims.Subject != ws.Claims.Subject || gs.Claims.Issuer != ws.Claims.Issuer {
		t.Errorf("id token claims = %+v, want %+v", gs.Claims, ws.Claims)
	} else if !reflect.DeepEqual(gs.Claims.Extra, ws.Claims.Extra) {
		t.Errorf("extra claims = %#v, want %#v", gs.Claims.Extra, ws.Claims.Extra)
	}
	for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode} {
		if !gs.GetExpiresAt(tt).Equal(ws.GetExpiresAt(tt)) {
			t.Errorf("expiry of %s = %v, want %v", tt, gs.GetExpiresAt(tt), ws.GetExpiresAt(tt))
		}
	}
}

func checkAuthorize(t *testing.T, got fosite.Requester, want *fosite.AuthorizeRequest) {
	t.Helper()
	ar, ok := got.(fosite.AuthorizeRequester)
	if !ok {
		t.Fatalf("request is %T, want an AuthorizeRequester", got)
	}
	if ar.GetRedirectURI() == nil || ar.GetRedirectURI().String() != want.RedirectURI.String() {
		t.Errorf("redirect uri = %v, want %v", ar.GetRedirectURI(), want.RedirectURI)
	}
	if ar.GetState() != want.State {
		t.Errorf("state = %q, want %q", ar.GetState(), want.State)
	}
	if !reflect.DeepEqual(ar.GetResponseTypes(), want.ResponseTypes) {
		t.Errorf("response types = %v, want %v", ar.GetResponseTypes(), want.ResponseTypes)
	}
	if ar.GetResponseMode() != want.ResponseMode || ar.GetDefaultResponseMode() != want.DefaultResponseMode {
		t.Errorf("response mode = %q/%q, want %q/%q", ar.GetResponseMode(), ar.GetDefaultResponseMode(),
			want.ResponseMode, want.DefaultResponseMode)
	}
}

func count(t *testing.T, db *database.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func rows(t *testing.T, db *database.DB, kind, signature string) int64 {
	t.Helper()
	return count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE kind = ? AND signature = ?`, kind, signature)
}

func TestStoreConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sh := newShared(db)

		t.Run("access tokens", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			req := e.accessRequest("req-access", "sub-1", exp)
			if err := e.st.CreateAccessTokenSession(ctx, "at-sig-1", req); err != nil {
				t.Fatalf("Create: %v", err)
			}
			got, err := e.st.GetAccessTokenSession(ctx, "at-sig-1", openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			checkRequest(t, got, req)

			var row struct {
				RequestID, ClientID, Subject string
				Active                       bool
				ExpiresAt                    time.Time
			}
			if err := db.Raw(`SELECT request_id, client_id, subject, active, expires_at FROM oauth2_tokens
				WHERE kind = ? AND signature = ?`, store.KindAccess, "at-sig-1").Scan(&row).Error; err != nil {
				t.Fatal(err)
			}
			if row.RequestID != "req-access" || row.ClientID != e.client.ID || row.Subject != "sub-1" || !row.Active {
				t.Errorf("row = %+v", row)
			}
			if d := row.ExpiresAt.Sub(exp); d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("row expires_at = %v, want %v", row.ExpiresAt, exp)
			}

			// The data column leaves out empty lists.
			emptyReq := e.accessRequest("req-empty", "sub-1", exp)
			emptyReq.RequestedAudience, emptyReq.GrantedAudience = fosite.Arguments{}, nil
			if err := e.st.CreateAccessTokenSession(ctx, "at-sig-empty", emptyReq); err != nil {
				t.Fatal(err)
			}
			var data string
			if err := db.Raw(`SELECT data FROM oauth2_tokens WHERE kind = ? AND signature = ?`, store.KindAccess, "at-sig-empty").
				Scan(&data).Error; err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"requested_audience"`, `"granted_audience"`} {
				if strings.Contains(data, key) {
					t.Errorf("data keeps the empty %s: %s", key, data)
				}
			}
			if got, err := e.st.GetAccessTokenSession(ctx, "at-sig-empty", openid.NewDefaultSession()); err != nil {
				t.Fatal(err)
			} else if got.GetRequestedAudience() == nil || len(got.GetGrantedAudience()) != 0 {
				t.Errorf("empty audiences read back as %#v and %#v, want empty lists", got.GetRequestedAudience(), got.GetGrantedAudience())
			}

			// A row written before that, with null and empty lists, reads as it always did.
			legacy := `{"id":"req-legacy","requested_at":"2026-01-02T03:04:05.123456789Z","client_id":"` + e.client.ID +
				`","requested_scope":["openid"],"granted_scope":["openid"],"requested_audience":null,"granted_audience":[],` +
				`"form":{"grant_type":["authorization_code"]},"session":{"subject":"sub-legacy"}}`
			if err := db.Exec(`INSERT INTO oauth2_tokens (kind, signature, request_id, client_id, subject, session_id, active,
				requested_at, expires_at, data) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)`, store.KindAccess, "at-legacy", "req-legacy",
				e.client.ID, "sub-legacy", true, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), exp, legacy).Error; err != nil {
				t.Fatal(err)
			}
			old, err := e.st.GetAccessTokenSession(ctx, "at-legacy", openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("Get legacy row: %v", err)
			}
			if old.GetID() != "req-legacy" || old.GetClient().GetID() != e.client.ID ||
				!old.GetRequestedAt().Equal(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)) ||
				old.GetSession().GetSubject() != "sub-legacy" || !reflect.DeepEqual(old.GetGrantedScopes(), fosite.Arguments{"openid"}) {
				t.Errorf("legacy row read as id %q client %q at %v subject %q scopes %v", old.GetID(), old.GetClient().GetID(),
					old.GetRequestedAt(), old.GetSession().GetSubject(), old.GetGrantedScopes())
			}

			errCases := []struct {
				name string
				sig  string
			}{
				{"unknown signature", "at-unknown"},
				{"signature of another kind", "at-sig-1-as-refresh"},
			}
			if err := e.st.CreateRefreshTokenSession(ctx, "at-sig-1-as-refresh", "", req); err != nil {
				t.Fatal(err)
			}
			for _, tc := range errCases {
				if _, err := e.st.GetAccessTokenSession(ctx, tc.sig, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
					t.Errorf("Get %s: err = %v, want fosite.ErrNotFound", tc.name, err)
				}
			}
			if err := e.st.CreateAccessTokenSession(ctx, "at-sig-1", e.accessRequest("req-other", "sub-2", exp)); !errors.Is(err, fosite.ErrTokenSignatureMismatch) {
				t.Errorf("duplicate signature: err = %v, want ErrTokenSignatureMismatch", err)
			}
			again, err := e.st.GetAccessTokenSession(ctx, "at-sig-1", openid.NewDefaultSession())
			if err != nil || again.GetID() != "req-access" {
				t.Errorf("after a rejected duplicate the token is %v, %v; want the original request", again, err)
			}
			if err := e.st.DeleteAccessTokenSession(ctx, "at-sig-1"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := e.st.GetAccessTokenSession(ctx, "at-sig-1", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("Get after Delete: err = %v, want fosite.ErrNotFound", err)
			}
			if n := rows(t, db, store.KindRefresh, "at-sig-1-as-refresh"); n != 1 {
				t.Errorf("deleting an access token removed a refresh token with its signature (rows %d)", n)
			}
		})

		t.Run("session id is indexed", func(t *testing.T) {
			e := newEnv(t, sh)
			req := e.accessRequest("req-sid", "sub-sid", e.now.Add(time.Hour))
			req.Session = &sidSession{DefaultSession: session("sub-sid", e.now.Add(time.Hour)), SID: "sid-42"}
			if err := e.st.CreateAccessTokenSession(ctx, "at-sid", req); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE session_id = ? AND signature = ?`, "sid-42", "at-sid"); n != 1 {
				t.Fatalf("rows with session_id sid-42 = %d, want 1", n)
			}
			got := &sidSession{DefaultSession: openid.NewDefaultSession()}
			if _, err := e.st.GetAccessTokenSession(ctx, "at-sid", got); err != nil {
				t.Fatal(err)
			}
			if got.SID != "sid-42" || got.Subject != "sub-sid" {
				t.Fatalf("session = sid %q subject %q, want sid-42 sub-sid", got.SID, got.Subject)
			}
		})

		t.Run("authorize codes", func(t *testing.T) {
			e := newEnv(t, sh)
			req := e.authorizeRequest("req-code", "sub-code", e.now.Add(10*time.Minute))
			if err := e.st.CreateAuthorizeCodeSession(ctx, "code-1", req); err != nil {
				t.Fatalf("Create: %v", err)
			}
			got, err := e.st.GetAuthorizeCodeSession(ctx, "code-1", openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			checkRequest(t, got, req)
			checkAuthorize(t, got, req)

			steps := []struct {
				name string
				run  func() error
				want error
			}{
				{"invalidate", func() error { return e.st.InvalidateAuthorizeCodeSession(ctx, "code-1") }, nil},
				{"invalidate twice", func() error { return e.st.InvalidateAuthorizeCodeSession(ctx, "code-1") }, fosite.ErrInvalidatedAuthorizeCode},
				{"invalidate unknown", func() error { return e.st.InvalidateAuthorizeCodeSession(ctx, "code-unknown") }, fosite.ErrInvalidatedAuthorizeCode},
			}
			for _, st := range steps {
				err := st.run()
				if st.want == nil && err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if st.want != nil && !errors.Is(err, st.want) {
					t.Errorf("%s: err = %v, want %v", st.name, err, st.want)
				}
			}
			used, err := e.st.GetAuthorizeCodeSession(ctx, "code-1", openid.NewDefaultSession())
			if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Fatalf("Get invalidated: err = %v, want ErrInvalidatedAuthorizeCode", err)
			}
			if used == nil {
				t.Fatal("Get invalidated returned no request; fosite needs it to revoke the grant's tokens")
			}
			checkRequest(t, used, req)
			if _, err := e.st.GetAuthorizeCodeSession(ctx, "code-unknown", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("concurrent code exchanges: one invalidation wins", func(t *testing.T) {
			e := newEnv(t, sh)
			if err := e.st.CreateAuthorizeCodeSession(ctx, "code-race", e.authorizeRequest("req-race", "s", e.now.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
			errs := parallel(10, func(int) error { return e.st.InvalidateAuthorizeCodeSession(ctx, "code-race") })
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
					t.Errorf("losing invalidation: err = %v, want ErrInvalidatedAuthorizeCode", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d invalidations succeeded, want exactly 1", wins)
			}
		})

		t.Run("refresh tokens and rotation", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(24 * time.Hour)
			req := e.accessRequest("req-family", "sub-rt", exp)
			other := e.accessRequest("req-other", "sub-rt", exp)
			for _, c := range []struct {
				create func(context.Context, string, fosite.Requester) error
				sig    string
				req    fosite.Requester
			}{
				{func(ctx context.Context, s string, r fosite.Requester) error {
					return e.st.CreateRefreshTokenSession(ctx, s, "at-fam-1", r)
				}, "rt-1", req},
				{e.st.CreateAccessTokenSession, "at-fam-1", req},
				{e.st.CreateAccessTokenSession, "at-fam-2", req},
				{e.st.CreateAccessTokenSession, "at-other", other},
			} {
				if err := c.create(ctx, c.sig, c.req); err != nil {
					t.Fatalf("create %s: %v", c.sig, err)
				}
			}
			got, err := e.st.GetRefreshTokenSession(ctx, "rt-1", openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			checkRequest(t, got, req)

			if err := e.st.RotateRefreshToken(ctx, "req-family", "rt-1"); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			old, err := e.st.GetRefreshTokenSession(ctx, "rt-1", openid.NewDefaultSession())
			if !errors.Is(err, fosite.ErrInactiveToken) {
				t.Fatalf("Get rotated: err = %v, want ErrInactiveToken", err)
			}
			if old == nil || old.GetID() != "req-family" {
				t.Fatalf("Get rotated returned %v; fosite needs the request to revoke the family", old)
			}
			checkRequest(t, old, req)
			for _, sig := range []string{"at-fam-1", "at-fam-2"} {
				if _, err := e.st.GetAccessTokenSession(ctx, sig, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
					t.Errorf("access token %s of the rotated grant: err = %v, want ErrNotFound", sig, err)
				}
			}
			if _, err := e.st.GetAccessTokenSession(ctx, "at-other", openid.NewDefaultSession()); err != nil {
				t.Errorf("access token of another grant was revoked: %v", err)
			}
			rotations := []struct {
				name string
				sig  string
			}{
				{"second rotation of the same token", "rt-1"},
				{"rotation of an unknown token", "rt-unknown"},
			}
			for _, tc := range rotations {
				if err := e.st.RotateRefreshToken(ctx, "req-family", tc.sig); !errors.Is(err, fosite.ErrSerializationFailure) {
					t.Errorf("%s: err = %v, want ErrSerializationFailure", tc.name, err)
				}
			}
			if err := e.st.DeleteRefreshTokenSession(ctx, "rt-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.GetRefreshTokenSession(ctx, "rt-1", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("Get deleted: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("concurrent rotations: one wins", func(t *testing.T) {
			e := newEnv(t, sh)
			if err := e.st.CreateRefreshTokenSession(ctx, "rt-race", "", e.accessRequest("req-rrace", "s", e.now.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			errs := parallel(10, func(int) error { return e.st.RotateRefreshToken(ctx, "req-rrace", "rt-race") })
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, fosite.ErrSerializationFailure):
					t.Errorf("losing rotation: err = %v, want ErrSerializationFailure", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d rotations succeeded, want exactly 1", wins)
			}
		})

		t.Run("revocation by request id", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			grant := e.accessRequest("req-revoke", "sub", exp)
			other := e.accessRequest("req-keep", "sub", exp)
			for _, c := range []struct {
				kind, sig string
				req       fosite.Requester
			}{
				{store.KindRefresh, "rt-a", grant}, {store.KindRefresh, "rt-b", grant}, {store.KindRefresh, "rt-keep", other},
				{store.KindAccess, "at-a", grant}, {store.KindAccess, "at-b", grant}, {store.KindAccess, "at-keep", other},
			} {
				var err error
				if c.kind == store.KindRefresh {
					err = e.st.CreateRefreshTokenSession(ctx, c.sig, "", c.req)
				} else {
					err = e.st.CreateAccessTokenSession(ctx, c.sig, c.req)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := e.st.RevokeRefreshToken(ctx, "req-revoke"); err != nil {
				t.Fatalf("RevokeRefreshToken: %v", err)
			}
			if err := e.st.RevokeAccessToken(ctx, "req-revoke"); err != nil {
				t.Fatalf("RevokeAccessToken: %v", err)
			}
			tests := []struct {
				name    string
				get     func() (fosite.Requester, error)
				wantErr error
			}{
				{"refresh a revoked", func() (fosite.Requester, error) {
					return e.st.GetRefreshTokenSession(ctx, "rt-a", openid.NewDefaultSession())
				}, fosite.ErrInactiveToken},
				{"refresh b revoked", func() (fosite.Requester, error) {
					return e.st.GetRefreshTokenSession(ctx, "rt-b", openid.NewDefaultSession())
				}, fosite.ErrInactiveToken},
				{"refresh of another grant kept", func() (fosite.Requester, error) {
					return e.st.GetRefreshTokenSession(ctx, "rt-keep", openid.NewDefaultSession())
				}, nil},
				{"access a revoked", func() (fosite.Requester, error) {
					return e.st.GetAccessTokenSession(ctx, "at-a", openid.NewDefaultSession())
				}, fosite.ErrNotFound},
				{"access b revoked", func() (fosite.Requester, error) {
					return e.st.GetAccessTokenSession(ctx, "at-b", openid.NewDefaultSession())
				}, fosite.ErrNotFound},
				{"access of another grant kept", func() (fosite.Requester, error) {
					return e.st.GetAccessTokenSession(ctx, "at-keep", openid.NewDefaultSession())
				}, nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					_, err := tc.get()
					if tc.wantErr == nil && err != nil {
						t.Fatalf("err = %v, want none", err)
					}
					if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
				})
			}
			if err := e.st.RotateRefreshToken(ctx, "req-revoke", "rt-a"); !errors.Is(err, fosite.ErrSerializationFailure) {
				t.Errorf("rotating a revoked refresh token: err = %v, want ErrSerializationFailure", err)
			}
		})

		t.Run("pkce and openid connect sessions", func(t *testing.T) {
			e := newEnv(t, sh)
			req := e.authorizeRequest("req-pkce", "sub-pkce", e.now.Add(10*time.Minute))
			kinds := []struct {
				name   string
				create func(string, fosite.Requester) error
				get    func(string) (fosite.Requester, error)
				del    func(string) error
			}{
				{"pkce",
					func(s string, r fosite.Requester) error { return e.st.CreatePKCERequestSession(ctx, s, r) },
					func(s string) (fosite.Requester, error) {
						return e.st.GetPKCERequestSession(ctx, s, openid.NewDefaultSession())
					},
					func(s string) error { return e.st.DeletePKCERequestSession(ctx, s) }},
				{"oidc",
					func(s string, r fosite.Requester) error { return e.st.CreateOpenIDConnectSession(ctx, s, r) },
					func(s string) (fosite.Requester, error) {
						holder := fosite.NewAuthorizeRequest()
						holder.Session = openid.NewDefaultSession()
						return e.st.GetOpenIDConnectSession(ctx, s, holder)
					},
					func(s string) error { return e.st.DeleteOpenIDConnectSession(ctx, s) }},
			}
			for _, k := range kinds {
				t.Run(k.name, func(t *testing.T) {
					sig := k.name + "-sig"
					if err := k.create(sig, req); err != nil {
						t.Fatalf("Create: %v", err)
					}
					got, err := k.get(sig)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					checkRequest(t, got, req)
					checkAuthorize(t, got, req)
					if got.GetRequestForm().Get("code_challenge") != req.Form.Get("code_challenge") ||
						got.GetRequestForm().Get("nonce") != req.Form.Get("nonce") {
						t.Errorf("form lost code_challenge/nonce: %v", got.GetRequestForm())
					}
					if _, err := k.get(sig + "-unknown"); !errors.Is(err, fosite.ErrNotFound) {
						t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
					}
					if err := k.del(sig); err != nil {
						t.Fatalf("Delete: %v", err)
					}
					if _, err := k.get(sig); !errors.Is(err, fosite.ErrNotFound) {
						t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
					}
				})
			}
		})

		t.Run("pushed authorization requests", func(t *testing.T) {
			e := newEnv(t, sh)
			tests := []struct {
				name  string
				uri   string
				exp   time.Time
				found bool
			}{
				{"live", "urn:ietf:params:oauth:request_uri:live", e.now.Add(time.Minute), true},
				{"expired", "urn:ietf:params:oauth:request_uri:expired", e.now.Add(-time.Second), false},
				{"long expired", "urn:ietf:params:oauth:request_uri:old", e.now.Add(-24 * time.Hour), false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					req := e.authorizeRequest("req-"+tc.name, "", tc.exp)
					sess := req.Session.(*openid.DefaultSession)
					sess.ExpiresAt = map[fosite.TokenType]time.Time{fosite.PushedAuthorizeRequestContext: tc.exp}
					if err := e.st.CreatePARSession(ctx, tc.uri, req); err != nil {
						t.Fatalf("Create: %v", err)
					}
					got, err := e.st.GetPARSession(ctx, tc.uri)
					if !tc.found {
						if !errors.Is(err, fosite.ErrNotFound) {
							t.Fatalf("Get expired PAR = %v, %v; want ErrNotFound", got, err)
						}
						return
					}
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					if got.GetID() != req.ID || got.GetClient().GetID() != e.client.ID {
						t.Errorf("PAR request = %s/%s, want %s/%s", got.GetID(), got.GetClient().GetID(), req.ID, e.client.ID)
					}
					checkAuthorize(t, got, req)
					if !reflect.DeepEqual(got.GetRequestForm(), req.Form) {
						t.Errorf("form = %v, want %v", got.GetRequestForm(), req.Form)
					}
					if _, ok := got.GetSession().(*openid.DefaultSession); !ok {
						t.Errorf("session is %T, want the store's newSession type", got.GetSession())
					}
					if err := e.st.DeletePARSession(ctx, tc.uri); err != nil {
						t.Fatal(err)
					}
					if _, err := e.st.GetPARSession(ctx, tc.uri); !errors.Is(err, fosite.ErrNotFound) {
						t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
					}
				})
			}
			if _, err := e.st.GetPARSession(ctx, "urn:ietf:params:oauth:request_uri:unknown"); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("client credentials in the form are never stored", func(t *testing.T) {
			e := newEnv(t, sh)
			const secretValue = "s3cr3t-client-secret-value"
			const assertion = "eyJhbGciOiJFUzI1NiJ9.assertion-body.signature"
			kinds := []struct {
				kind   string
				create func(sig string, r *fosite.AuthorizeRequest) error
			}{
				{store.KindPAR, func(sig string, r *fosite.AuthorizeRequest) error { return e.st.CreatePARSession(ctx, sig, r) }},
				{store.KindCode, func(sig string, r *fosite.AuthorizeRequest) error {
					return e.st.CreateAuthorizeCodeSession(ctx, sig, r)
				}},
				{store.KindAccess, func(sig string, r *fosite.AuthorizeRequest) error {
					return e.st.CreateAccessTokenSession(ctx, sig, r)
				}},
				{store.KindRefresh, func(sig string, r *fosite.AuthorizeRequest) error {
					return e.st.CreateRefreshTokenSession(ctx, sig, "", r)
				}},
			}
			for _, k := range kinds {
				t.Run(k.kind, func(t *testing.T) {
					req := e.authorizeRequest("req-creds-"+k.kind, "sub", e.now.Add(time.Hour))
					req.Form.Set("client_secret", secretValue)
					req.Form.Set("client_assertion", assertion)
					req.Form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
					sig := "creds-" + k.kind
					if err := k.create(sig, req); err != nil {
						t.Fatal(err)
					}
					var data string
					if err := db.Raw(`SELECT data FROM oauth2_tokens WHERE kind = ? AND signature = ?`, k.kind, sig).Scan(&data).Error; err != nil {
						t.Fatal(err)
					}
					for _, leaked := range []string{secretValue, assertion, "client_assertion_type"} {
						if strings.Contains(data, leaked) {
							t.Errorf("stored %s row holds %q", k.kind, leaked)
						}
					}
					if !strings.Contains(data, req.Form.Get("code_challenge")) {
						t.Errorf("stored %s row lost the other form parameters", k.kind)
					}
					if req.Form.Get("client_secret") != secretValue {
						t.Error("the store modified the caller's form")
					}
				})
			}
		})

		t.Run("client assertion jti replay", func(t *testing.T) {
			e := newEnv(t, sh)
			steps := []struct {
				name string
				run  func() error
				want error
			}{
				{"unknown jti is valid", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-1") }, nil},
				{"record jti", func() error { return e.st.SetClientAssertionJWT(ctx, "jti-1", e.now.Add(time.Hour)) }, nil},
				{"replay is known", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-1") }, fosite.ErrJTIKnown},
				{"recording a replay fails", func() error { return e.st.SetClientAssertionJWT(ctx, "jti-1", e.now.Add(time.Hour)) }, fosite.ErrJTIKnown},
				{"other jti is valid", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-2") }, nil},
				{"record an already expired jti", func() error { return e.st.SetClientAssertionJWT(ctx, "jti-2", e.now.Add(-time.Minute)) }, nil},
				{"expired jti is valid", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-2") }, nil},
				{"expired jti can be reused", func() error { return e.st.SetClientAssertionJWT(ctx, "jti-2", e.now.Add(time.Hour)) }, nil},
				{"reused jti is known again", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-2") }, fosite.ErrJTIKnown},
				{"first jti still known", func() error { return e.st.ClientAssertionJWTValid(ctx, "jti-1") }, fosite.ErrJTIKnown},
			}
			for _, st := range steps {
				err := st.run()
				if st.want == nil && err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if st.want != nil && !errors.Is(err, st.want) {
					t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
				}
			}
		})

		t.Run("concurrent jti records: one wins", func(t *testing.T) {
			e := newEnv(t, sh)
			errs := parallel(8, func(int) error { return e.st.SetClientAssertionJWT(ctx, "jti-race", e.now.Add(time.Hour)) })
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, fosite.ErrJTIKnown):
					t.Errorf("losing record: err = %v, want ErrJTIKnown", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d records of one jti succeeded, want exactly 1", wins)
			}
		})

		t.Run("a deleted client takes its tokens with it", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			areq := e.accessRequest("req-gone", "sub", exp)
			creq := e.authorizeRequest("req-gone-code", "sub", exp)
			if err := e.st.CreateAccessTokenSession(ctx, "at-gone", areq); err != nil {
				t.Fatal(err)
			}
			if err := e.st.CreateRefreshTokenSession(ctx, "rt-gone", "at-gone", areq); err != nil {
				t.Fatal(err)
			}
			if err := e.st.CreateAuthorizeCodeSession(ctx, "code-gone", creq); err != nil {
				t.Fatal(err)
			}
			e.clients.remove(e.client.ID)
			gets := []struct {
				name string
				get  func() (fosite.Requester, error)
			}{
				{"access", func() (fosite.Requester, error) {
					return e.st.GetAccessTokenSession(ctx, "at-gone", openid.NewDefaultSession())
				}},
				{"refresh", func() (fosite.Requester, error) {
					return e.st.GetRefreshTokenSession(ctx, "rt-gone", openid.NewDefaultSession())
				}},
				{"code", func() (fosite.Requester, error) {
					return e.st.GetAuthorizeCodeSession(ctx, "code-gone", openid.NewDefaultSession())
				}},
			}
			for _, g := range gets {
				t.Run(g.name, func(t *testing.T) {
					req, err := g.get()
					if !errors.Is(err, fosite.ErrNotFound) {
						t.Fatalf("err = %v, want fosite.ErrNotFound", err)
					}
					if req != nil {
						t.Fatalf("a token of a deleted client came back with its request %v", req)
					}
				})
			}
			e.clients.put(e.client)
			if _, err := e.st.GetAccessTokenSession(ctx, "at-gone", openid.NewDefaultSession()); err != nil {
				t.Fatalf("client back, token still unreadable: %v", err)
			}
		})

		t.Run("transactions", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			if err := e.st.CreateRefreshTokenSession(ctx, "rt-tx", "", e.accessRequest("req-tx-base", "sub", exp)); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name    string
				finish  func(context.Context) error
				visible bool
			}{
				{"rollback", e.st.Rollback, false},
				{"commit", e.st.Commit, true},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					txCtx, err := e.st.BeginTX(ctx)
					if err != nil {
						t.Fatalf("BeginTX: %v", err)
					}
					if _, ok := database.TxFrom(txCtx); !ok {
						t.Fatal("BeginTX returned a context without a transaction")
					}
					nested, err := e.st.BeginTX(txCtx)
					if err != nil || nested != txCtx {
						t.Fatalf("BeginTX inside a transaction = %v, %v; want the same context", nested, err)
					}
					at, rt, code := "at-tx-"+tc.name, "rt-tx-"+tc.name, "code-tx-"+tc.name
					req := e.accessRequest("req-tx-"+tc.name, "sub", exp)
					if err := e.st.CreateAccessTokenSession(txCtx, at, req); err != nil {
						t.Fatalf("create access in tx: %v", err)
					}
					if err := e.st.CreateRefreshTokenSession(txCtx, rt, at, req); err != nil {
						t.Fatalf("create refresh in tx: %v", err)
					}
					if err := e.st.CreateAuthorizeCodeSession(txCtx, code, e.authorizeRequest("req-tx-code-"+tc.name, "sub", exp)); err != nil {
						t.Fatalf("create code in tx: %v", err)
					}
					if err := e.st.RotateRefreshToken(txCtx, "req-tx-base", "rt-tx"); tc.name == "rollback" && err != nil {
						t.Fatalf("rotate in tx: %v", err)
					}
					if _, err := e.st.GetAccessTokenSession(txCtx, at, openid.NewDefaultSession()); err != nil {
						t.Fatalf("the transaction cannot read its own insert: %v", err)
					}
					if _, err := e.st.GetAccessTokenSession(ctx, at, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
						t.Fatalf("an uncommitted insert is visible outside the transaction: err = %v", err)
					}
					if err := tc.finish(txCtx); err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					for _, c := range []struct{ kind, sig string }{{store.KindAccess, at}, {store.KindRefresh, rt}, {store.KindCode, code}} {
						n := rows(t, db, c.kind, c.sig)
						if tc.visible && n != 1 {
							t.Errorf("after commit %s %s rows = %d, want 1", c.kind, c.sig, n)
						}
						if !tc.visible && n != 0 {
							t.Errorf("after rollback %s %s rows = %d, want 0", c.kind, c.sig, n)
						}
					}
					if _, err := e.st.GetAccessTokenSession(ctx, at, openid.NewDefaultSession()); tc.visible != (err == nil) {
						t.Errorf("Get after %s: err = %v, want visible=%v", tc.name, err, tc.visible)
					}
					if tc.name == "rollback" {
						if _, err := e.st.GetRefreshTokenSession(ctx, "rt-tx", openid.NewDefaultSession()); err != nil {
							t.Errorf("a rolled back rotation left the refresh token inactive: %v", err)
						}
					}
				})
			}
			if err := e.st.Commit(ctx); err == nil {
				t.Error("Commit without a transaction succeeded")
			}
			// fosite's token handlers roll back after a failed Commit (flow_authorize_code_token.go,
			// flow_refresh.go); Store.Rollback means a finished transaction to make that a no-op.
			for _, tc := range tests {
				t.Run("rollback after "+tc.name+" is a no-op", func(t *testing.T) {
					txCtx, err := e.st.BeginTX(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if err := tc.finish(txCtx); err != nil {
						t.Fatal(err)
					}
					if err := e.st.Rollback(txCtx); err != nil {
						t.Errorf("Rollback of a finished transaction = %v, want nil", err)
					}
				})
			}
			if err := e.st.Rollback(ctx); err == nil {
				t.Error("Rollback without a transaction succeeded")
			}
		})

		t.Run("purge removes only expired rows", func(t *testing.T) {
			e := newEnv(t, sh)
			past, future := e.now.Add(-time.Minute), e.now.Add(time.Hour)
			noExpiry := e.accessRequest("req-noexp", "sub", future)
			noExpiry.Session.(*openid.DefaultSession).ExpiresAt = nil
			rowsIn := []struct {
				kind, sig string
				req       fosite.Requester
				expired   bool
			}{
				{store.KindAccess, "purge-at-old", e.accessRequest("r1", "sub", past), true},
				{store.KindAccess, "purge-at-live", e.accessRequest("r2", "sub", future), false},
				{store.KindRefresh, "purge-rt-old", e.accessRequest("r3", "sub", past), true},
				{store.KindRefresh, "purge-rt-noexp", noExpiry, false},
				{store.KindCode, "purge-code-old", e.authorizeRequest("r4", "sub", past), true},
				{store.KindCode, "purge-code-live", e.authorizeRequest("r5", "sub", future), false},
				{store.KindPAR, "purge-par-old", e.authorizeRequest("r6", "sub", past), true},
				{store.KindPAR, "purge-par-live", e.authorizeRequest("r7", "sub", future), false},
			}
			for _, r := range rowsIn {
				var err error
				switch r.kind {
				case store.KindAccess:
					err = e.st.CreateAccessTokenSession(ctx, r.sig, r.req)
				case store.KindRefresh:
					err = e.st.CreateRefreshTokenSession(ctx, r.sig, "", r.req)
				case store.KindCode:
					err = e.st.CreateAuthorizeCodeSession(ctx, r.sig, r.req)
				case store.KindPAR:
					err = e.st.CreatePARSession(ctx, r.sig, r.req.(fosite.AuthorizeRequester))
				}
				if err != nil {
					t.Fatalf("create %s: %v", r.sig, err)
				}
			}
			if err := e.st.SetClientAssertionJWT(ctx, "purge-jti-old", past); err != nil {
				t.Fatal(err)
			}
			if err := e.st.SetClientAssertionJWT(ctx, "purge-jti-live", future); err != nil {
				t.Fatal(err)
			}
			// Other subtests share the database: count what is due rather than assume it.
			total := func() int64 { return count(t, db, `SELECT COUNT(*) FROM oauth2_tokens`) }
			due := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE signature LIKE 'purge-%' AND expires_at < ?`, e.now)
			if due != 4 {
				t.Fatalf("%d purge-* rows are stored as expired, want 4", due)
			}
			before := total()
			n, err := e.st.Purge(ctx, e.now)
			if err != nil {
				t.Fatalf("Purge: %v", err)
			}
			if after := total(); before-after != n || n < 4 {
				t.Errorf("Purge reported %d rows removed; %d were removed; want at least the 4 expired", n, before-after)
			}
			if left := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE expires_at < ?`, e.now); left != 0 {
				t.Errorf("%d expired rows survived the purge", left)
			}
			for _, r := range rowsIn {
				t.Run(r.sig, func(t *testing.T) {
					got := rows(t, db, r.kind, r.sig)
					if r.expired && got != 0 {
						t.Errorf("expired %s survived the purge", r.sig)
					}
					if !r.expired && got != 1 {
						t.Errorf("live %s was purged", r.sig)
					}
				})
			}
			if got := count(t, db, `SELECT COUNT(*) FROM oauth2_jtis WHERE jti = ?`, "purge-jti-old"); got != 0 {
				t.Error("expired jti survived the purge")
			}
			if got := count(t, db, `SELECT COUNT(*) FROM oauth2_jtis WHERE jti = ?`, "purge-jti-live"); got != 1 {
				t.Error("live jti was purged")
			}
			if err := e.st.ClientAssertionJWTValid(ctx, "purge-jti-live"); !errors.Is(err, fosite.ErrJTIKnown) {
				t.Errorf("live jti after purge: err = %v, want ErrJTIKnown", err)
			}
		})

		t.Run("group commit: 50 concurrent inserts", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			rows0, commits0 := store.BatchStats()
			const n = 50
			errs := parallel(n, func(i int) error {
				return e.st.CreateAccessTokenSession(ctx, fmt.Sprintf("batch-%02d", i),
					e.accessRequest(fmt.Sprintf("req-batch-%02d", i), fmt.Sprintf("sub-%02d", i), exp))
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("insert %d: %v", i, err)
				}
			}
			for i := 0; i < n; i++ {
				got, err := e.st.GetAccessTokenSession(ctx, fmt.Sprintf("batch-%02d", i), openid.NewDefaultSession())
				if err != nil {
					t.Errorf("read %d: %v", i, err)
					continue
				}
				if got.GetID() != fmt.Sprintf("req-batch-%02d", i) || got.GetSession().GetSubject() != fmt.Sprintf("sub-%02d", i) {
					t.Errorf("row %d holds request %s of %s", i, got.GetID(), got.GetSession().GetSubject())
				}
			}
			if c := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE kind = ? AND signature LIKE ?`, store.KindAccess, "batch-%"); c != n {
				t.Errorf("stored rows = %d, want %d", c, n)
			}
			rows1, commits1 := store.BatchStats()
			t.Logf("group commit: %d rows in %d commits", rows1-rows0, commits1-commits0)
			if rows1-rows0 < n {
				t.Errorf("the batcher saw %d rows, want at least %d", rows1-rows0, n)
			}
		})

		t.Run("group commit: a duplicate fails only its caller", func(t *testing.T) {
			e := newEnv(t, sh)
			exp := e.now.Add(time.Hour)
			if err := e.st.CreateAccessTokenSession(ctx, "dup-existing", e.accessRequest("req-original", "sub-original", exp)); err != nil {
				t.Fatal(err)
			}
			const n = 40
			for round := 0; round < 3; round++ {
				sigs := make([]string, n)
				for i := range sigs {
					sigs[i] = fmt.Sprintf("dup-r%d-%02d", round, i)
				}
				sigs[7] = "dup-existing"                      // already stored
				sigs[20] = fmt.Sprintf("dup-r%d-same", round) // two callers race
				sigs[33] = fmt.Sprintf("dup-r%d-same", round) // for one new signature
				errs := parallel(n, func(i int) error {
					return e.st.CreateAccessTokenSession(ctx, sigs[i], e.accessRequest(fmt.Sprintf("req-r%d-%02d", round, i), "sub", exp))
				})
				for i, err := range errs {
					switch i {
					case 7:
						if !errors.Is(err, fosite.ErrTokenSignatureMismatch) {
							t.Errorf("round %d: duplicate of a stored signature: err = %v, want ErrTokenSignatureMismatch", round, err)
						}
					case 20, 33:
					default:
						if err != nil {
							t.Errorf("round %d: insert %d failed beside a duplicate: %v", round, i, err)
						}
					}
				}
				if (errs[20] == nil) == (errs[33] == nil) {
					t.Errorf("round %d: racing one new signature: errs %v and %v, want exactly one failure", round, errs[20], errs[33])
				}
				for _, err := range []error{errs[20], errs[33]} {
					if err != nil && !errors.Is(err, fosite.ErrTokenSignatureMismatch) {
						t.Errorf("round %d: losing racer err = %v, want ErrTokenSignatureMismatch", round, err)
					}
				}
				for i, sig := range sigs {
					if i == 7 || i == 20 || i == 33 {
						continue
					}
					if _, err := e.st.GetAccessTokenSession(ctx, sig, openid.NewDefaultSession()); err != nil {
						t.Errorf("round %d: row %s unreadable: %v", round, sig, err)
					}
				}
			}
			orig, err := e.st.GetAccessTokenSession(ctx, "dup-existing", openid.NewDefaultSession())
			if err != nil || orig.GetID() != "req-original" || orig.GetSession().GetSubject() != "sub-original" {
				t.Fatalf("the stored token was changed by a duplicate: %v, %v", orig, err)
			}
		})

		t.Run("a cancelled caller gets its context error", func(t *testing.T) {
			e := newEnv(t, sh)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			err := e.st.CreateAccessTokenSession(cctx, "at-cancelled", e.accessRequest("req-cancel", "sub", e.now.Add(time.Hour)))
			if err == nil {
				// The batcher may commit before noticing the cancellation; then the row must be whole.
				if _, gerr := e.st.GetAccessTokenSession(ctx, "at-cancelled", openid.NewDefaultSession()); gerr != nil {
					t.Fatalf("insert reported success but the row is unreadable: %v", gerr)
				}
				return
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	})
}

// parallel runs fn n times at once, released together, and returns each call's error.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}
