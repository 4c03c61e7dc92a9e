package main

// The admin Edit app page (issue 6): changes saved through the admin use case and audited,
// problems shown with their field, nothing of another organisation reachable.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/provider/clients"
)

func TestAdminPagesEditApp(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAPFixture(t, s)
		p := s.URL + "/o/acme/admin/apps/" + f.app
		store := clients.NewStore(s.env.db)
		get := func() clients.Client {
			t.Helper()
			c, err := store.Get(context.Background(), f.app)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		b := newBrowser(t)
		s.apSignIn(t, b, f.admin, "passkey", time.Now())
		csrf := apCSRF(t, b, p+"/edit")
		if csrf == "" {
			t.Fatal("the edit page has no CSRF token")
		}
		if resp, body := b.get(p + "/edit"); resp.StatusCode != 200 || !strings.Contains(body, `value="Acme web"`) ||
			!strings.Contains(body, "https://app.acme.example/cb") {
			t.Fatalf("edit page: %d", resp.StatusCode)
		}
		if _, body := b.get(p); !strings.Contains(body, `href="/o/acme/admin/apps/`+f.app+`/edit"`) {
			t.Error("the app page does not link to its edit page")
		}

		form := func(mut func(url.Values)) url.Values {
			v := url.Values{"name": {"Acme portal"}, "redirect_uris": {"https://app.acme.example/cb\nhttps://app.acme.example/cb2"},
				"post_logout_redirect_uris": {"https://app.acme.example/bye"}, "scopes": {"openid profile offline_access"},
				"first_party": {"true"}, "jwt_access_tokens": {"true"}, "access_token_lifetime": {"5m"},
				"refresh_token_lifetime": {"2d"}, "id_token_lifetime": {""}, "logo_uri": {"https://acme.example/logo.png"},
				"policy_uri": {"https://acme.example/privacy"}, "tos_uri": {"https://acme.example/terms"},
				"backchannel_logout_uri": {"https://app.acme.example/bc"}, "backchannel_logout_session_required": {"true"},
				"frontchannel_logout_uri": {"https://app.acme.example/fc"}}
			if mut != nil {
				mut(v)
			}
			return v
		}

		// Problems are shown with their field, and change nothing.
		for _, tc := range []struct {
			field, value, label string
		}{
			{"access_token_lifetime", "30s", "Access token lifetime"},
			{"refresh_token_lifetime", "soon", "Refresh token lifetime"},
			{"id_token_lifetime", "48h", "ID token lifetime"},
			{"redirect_uris", "http://app.acme.example/cb", "Redirect URIs"},
			{"logo_uri", "http://acme.example/logo.png", "Logo URL"},
		} {
			st, body := apPost(t, b, p+"/edit", csrf, form(func(v url.Values) { v.Set(tc.field, tc.value) }))
			if st != 400 || !strings.Contains(body, tc.label+":") ||
				!strings.Contains(body, `name="`+tc.field+`"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("%s %q: %d, want 400 naming %q", tc.field, tc.value, st, tc.label)
			}
		}
		if c := get(); c.Name != "Acme web" || c.Lifetimes != (clients.Lifetimes{}) {
			t.Fatalf("a refused edit changed the app: %+v", c)
		}

		// A stale passkey check changes nothing either.
		stale := newBrowser(t)
		s.apSignIn(t, stale, f.admin, "passkey", time.Now().Add(-6*time.Minute))
		if st, body := apPost(t, stale, p+"/edit", apCSRF(t, stale, p+"/edit"), form(nil)); st != 403 || !strings.Contains(body, "Confirm it") {
			t.Fatalf("edit with a stale passkey check: %d", st)
		}
		if get().Name != "Acme web" {
			t.Fatal("an edit with a stale passkey check was saved")
		}

		// Saved.
		st, body := apPost(t, b, p+"/edit", csrf, form(nil))
		if st != 200 || !strings.Contains(body, "The changes are saved.") || !strings.Contains(body, "Acme portal") {
			t.Fatalf("save: %d", st)
		}
		c := get()
		want := clients.Lifetimes{AccessToken: 5 * time.Minute, RefreshToken: 48 * time.Hour}
		if c.Name != "Acme portal" || len(c.RedirectURIs) != 2 || len(c.PostLogoutRedirectURIs) != 1 ||
			strings.Join(c.Scopes, " ") != "openid profile offline_access" || !c.FirstParty || !c.JWTAccessTokens || c.RequirePAR ||
			c.Lifetimes != want || c.LogoURI == "" || c.PolicyURI == "" || c.TOSURI == "" ||
			c.BackchannelLogoutURI == "" || !c.BackchannelLogoutSessionRequired || c.FrontchannelLogoutURI == "" ||
			c.FrontchannelLogoutSessionRequired {
			t.Fatalf("after save: %+v", c)
		}
		if c.Type() != "confidential" || len(c.SecretHash) == 0 || c.OrgID != f.acme.ID {
			t.Fatalf("the edit changed what it must not: %+v", c)
		}
		if _, body := b.get(p + "/edit"); !strings.Contains(body, `value="5m"`) || !strings.Contains(body, `value="2d"`) {
			t.Error("the edit page does not show the saved lifetimes")
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'client.updated' AND outcome = 'success' AND client_id = ? AND actor = ?`,
			f.app, "user:"+f.admin.ID); n != 1 {
			t.Errorf("%d client.updated events by the admin, want 1", n)
		}

		// Another organisation's app is not found, and stays as it was.
		foreign := s.URL + "/o/acme/admin/apps/" + f.foreignApp + "/edit"
		if resp, _ := b.get(foreign); resp.StatusCode != 404 {
			t.Errorf("another organisation's app's edit page: %d", resp.StatusCode)
		}
		if st, _ := apPost(t, b, foreign, csrf, form(nil)); st != 404 {
			t.Errorf("editing another organisation's app: %d", st)
		}
		if c, _ := store.Get(context.Background(), f.foreignApp); c.Name != "Other web" {
			t.Fatalf("another organisation's app changed: %+v", c)
		}
	})
}
