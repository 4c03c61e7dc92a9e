package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/store"
)

// codeSig is fosite's HMAC code signature: the part after the dot.
func codeSig(_ context.Context, code string) string {
	if i := strings.LastIndexByte(code, '.'); i >= 0 {
		return code[i+1:]
	}
	return ""
}

// gather issues one code the way the provider does: code, OpenID Connect and PKCE requests
// created in one transaction between GatherCode and FlushCode.
func gather(t *testing.T, db *database.DB, st *store.Store, code string, req *fosite.AuthorizeRequest) {
	t.Helper()
	sig := codeSig(context.Background(), code)
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		ctx = st.GatherCode(ctx)
		if err := st.CreateAuthorizeCodeSession(ctx, sig, req.Sanitize(nil)); err != nil {
			return err
		}
		if err := st.CreateOpenIDConnectSession(ctx, code, req.Sanitize([]string{"nonce"})); err != nil {
			return err
		}
		if err := st.CreatePKCERequestSession(ctx, sig, req.Sanitize([]string{"code_challenge", "code_challenge_method"})); err != nil {
			return err
		}
		return st.FlushCode(ctx)
	})
	if err != nil {
		t.Fatalf("issue code: %v", err)
	}
}

func TestGatheredCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sh := newShared(db)
		sh.st.CodeSignature = codeSig

		t.Run("one row, three requests", func(t *testing.T) {
			e := newEnv(t, sh)
			req := e.authorizeRequest("req-g1", "sub-g1", e.now.Add(time.Hour))
			req.Form.Set("code_challenge_method", "S256")
			gather(t, db, e.st, "key.g1sig", req)
			if n := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE request_id = ?`, "req-g1"); n != 1 {
				t.Fatalf("%d rows for one code, want 1", n)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM oauth2_tokens WHERE signature = ?`, "key.g1sig"); n != 0 {
				t.Fatal("the code itself is stored")
			}
			code, err := e.st.GetAuthorizeCodeSession(ctx, "g1sig", openid.NewDefaultSession())
			if err != nil {
				t.Fatal(err)
			}
			if code.GetRequestForm().Has("nonce") || code.GetRequestForm().Has("code_challenge") {
				t.Fatalf("code form %v carries another part's parameters", code.GetRequestForm())
			}
			if code.GetSession().GetSubject() != "sub-g1" {
				t.Fatalf("subject %q", code.GetSession().GetSubject())
			}
			pk, err := e.st.GetPKCERequestSession(ctx, "g1sig", openid.NewDefaultSession())
			if err != nil {
				t.Fatal(err)
			}
			if pk.GetRequestForm().Get("code_challenge") != req.Form.Get("code_challenge") ||
				pk.GetRequestForm().Get("code_challenge_method") != "S256" || pk.GetRequestForm().Has("nonce") {
				t.Fatalf("PKCE form %v", pk.GetRequestForm())
			}
			if pk.GetClient().GetID() != e.client.ID {
				t.Fatalf("PKCE client %q", pk.GetClient().GetID())
			}
			oidc, err := e.st.GetOpenIDConnectSession(ctx, "key.g1sig", fosite.NewAccessRequest(openid.NewDefaultSession()))
			if err != nil {
				t.Fatal(err)
			}
			if oidc.GetRequestForm().Get("nonce") != "n-0S6_WzA2Mj" || oidc.GetRequestForm().Has("code_challenge") {
				t.Fatalf("OpenID Connect form %v", oidc.GetRequestForm())
			}
			if !oidc.GetGrantedScopes().Has("openid") || oidc.GetSession().(*openid.DefaultSession).Claims.Subject != "sub-g1" {
				t.Fatalf("OpenID Connect request %+v", oidc)
			}
			// Deleted without a tracked exchange: written at once.
			if err := e.st.DeletePKCERequestSession(ctx, "g1sig"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.GetPKCERequestSession(ctx, "g1sig", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("PKCE after delete: %v", err)
			}
			if err := e.st.DeleteOpenIDConnectSession(ctx, "key.g1sig"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.GetOpenIDConnectSession(ctx, "key.g1sig", fosite.NewAccessRequest(openid.NewDefaultSession())); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("OpenID Connect after delete: %v", err)
			}
			// The code itself is untouched.
			if _, err := e.st.GetAuthorizeCodeSession(ctx, "g1sig", openid.NewDefaultSession()); err != nil {
				t.Fatalf("code after its parts were deleted: %v", err)
			}
		})

		t.Run("a failed exchange uses the PKCE challenge up", func(t *testing.T) {
			e := newEnv(t, sh)
			gather(t, db, e.st, "key.g2sig", e.authorizeRequest("req-g2", "sub-g2", e.now.Add(time.Hour)))
			xctx, done := e.st.TrackExchange(ctx)
			if _, err := e.st.GetAuthorizeCodeSession(xctx, "g2sig", openid.NewDefaultSession()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.GetPKCERequestSession(xctx, "g2sig", openid.NewDefaultSession()); err != nil {
				t.Fatal(err)
			}
			if err := e.st.DeletePKCERequestSession(xctx, "g2sig"); err != nil {
				t.Fatal(err)
			}
			// Gone for the rest of this request at once.
			if _, err := e.st.GetPKCERequestSession(xctx, "g2sig", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("PKCE in the same request after delete: %v", err)
			}
			if err := done(false); err != nil {
				t.Fatal(err)
			}
			// And for good, in a later request.
			if _, err := e.st.GetPKCERequestSession(ctx, "g2sig", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("PKCE after a failed exchange: %v", err)
			}
			if _, err := e.st.GetOpenIDConnectSession(ctx, "key.g2sig", fosite.NewAccessRequest(openid.NewDefaultSession())); err != nil {
				t.Fatalf("OpenID Connect part lost with the PKCE part: %v", err)
			}
		})

		t.Run("a successful exchange leaves only an inactive code", func(t *testing.T) {
			e := newEnv(t, sh)
			gather(t, db, e.st, "key.g3sig", e.authorizeRequest("req-g3", "sub-g3", e.now.Add(time.Hour)))
			xctx, done := e.st.TrackExchange(ctx)
			if _, err := e.st.GetAuthorizeCodeSession(xctx, "g3sig", openid.NewDefaultSession()); err != nil {
				t.Fatal(err)
			}
			if err := e.st.DeletePKCERequestSession(xctx, "g3sig"); err != nil {
				t.Fatal(err)
			}
			if err := e.st.InvalidateAuthorizeCodeSession(xctx, "g3sig"); err != nil {
				t.Fatal(err)
			}
			if err := e.st.DeleteOpenIDConnectSession(xctx, "key.g3sig"); err != nil {
				t.Fatal(err)
			}
			if err := done(true); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.GetAuthorizeCodeSession(ctx, "g3sig", openid.NewDefaultSession()); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Fatalf("second use of the code: %v", err)
			}
		})

		t.Run("nothing issued, nothing written", func(t *testing.T) {
			err := db.InTx(ctx, func(ctx context.Context) error {
				return sh.st.FlushCode(sh.st.GatherCode(ctx))
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}
