package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/passkey"
)

// End-to-end tests of the first-run setup link and of enrollment links over HTTP, with the CLI
// that issues them and a software authenticator (softkey_test.go).

var pkSetupLinkLine = regexp.MustCompile(`^setup link \(single use, valid 1h0m0s\): (http://localhost:\d+/setup/[A-Za-z0-9_-]+)\n$`)

// pkSetupLink issues a setup link with `portcullis setup-link`.
func pkSetupLink(t *testing.T, s *testServer) string {
	t.Helper()
	out, err := s.cli("setup-link")
	if err != nil {
		t.Fatalf("setup-link: %v", err)
	}
	m := pkSetupLinkLine.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(m[1], s.URL+"/setup/") {
		t.Fatalf("setup-link printed %q", out)
	}
	return m[1]
}

// pkWantGone checks a link's page is the 410 "This link no longer works" page with message.
func pkWantGone(t *testing.T, b *browser, link, message string) {
	t.Helper()
	resp, body := b.get(link)
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("GET %s: %d, want 410", link, resp.StatusCode)
	}
	body = html.UnescapeString(body)
	if !strings.Contains(body, "<h1>This link no longer works</h1>") || !strings.Contains(body, message) {
		t.Fatalf("GET %s: page without the expected message %q:\n%s", link, message, body)
	}
}

const (
	pkSetupGonePage  = "This setup link has expired or has been used already. Run `portcullis setup-link` on the server for a fresh one."
	pkEnrollGonePage = "This enrollment link has expired or has been used already. Ask your administrator for a new one."
	pkSetupGoneJSON  = "This setup link has expired or has been used already."
	pkEnrollGoneJSON = "This enrollment link has expired or has been used already."
	pkFinishGoneJSON = "This link has expired or has been used already."
)

func TestSetupLink(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		link := pkSetupLink(t, s)
		b := newBrowser(t)
		body, csrf := pkPage(t, b, link)
		if !strings.Contains(body, "<h1>Set up Portcullis</h1>") || !strings.Contains(body, `data-begin="`+strings.TrimPrefix(link, s.URL)+`/begin"`) {
			t.Fatalf("setup page:\n%s", body)
		}

		// Refused begins create no user.
		for _, tc := range []struct {
			name   string
			csrf   string
			body   any
			status int
			msg    string
		}{
			{"without the CSRF header", "", map[string]any{"username": "admin", "display_name": "Ada Admin"}, http.StatusForbidden, pkCSRFError},
			{"username with a space", csrf, map[string]any{"username": "ad min", "display_name": "Ada Admin"}, http.StatusBadRequest,
				"Choose a username of 1 to 64 letters, digits or . _ @ + - (no spaces)."},
			{"no display name", csrf, map[string]any{"username": "admin", "display_name": "  "}, http.StatusBadRequest,
				"Enter your name (up to 100 characters)."},
			{"body not JSON", csrf, []byte("username=admin"), http.StatusBadRequest, pkUnreadable},
		} {
			t.Run("begin "+tc.name, func(t *testing.T) {
				r := pkPost(t, b, link+"/begin", tc.csrf, tc.body)
				pkWantError(t, "begin", r, tc.status, tc.msg)
				if _, err := directory.NewStore(s.env.db).GetUserByUsername(ctx, directory.SystemOrgID, "admin"); !directory.IsNotFound(err) {
					t.Fatalf("a refused begin created the user (err %v)", err)
				}
			})
		}

		key := newSoftKey(s.URL, false)
		begin := pkPost(t, b, link+"/begin", csrf, map[string]any{"username": " admin ", "display_name": "Ada Admin"})
		pkWantOK(t, "begin", begin)
		opts := pkPublicKey(t, begin)
		user, _ := opts["user"].(map[string]any)
		rp, _ := opts["rp"].(map[string]any)
		sel, _ := opts["authenticatorSelection"].(map[string]any)
		if rp["id"] != "localhost" || user["name"] != "admin" || user["displayName"] != "Ada Admin" || user["id"] == "" ||
			sel["residentKey"] != "required" || sel["userVerification"] != "required" || len(pkCredentialIDs(opts, "excludeCredentials")) != 0 {
			t.Fatalf("creation options %v", opts)
		}

		t.Run("retry with another username", func(t *testing.T) {
			r := pkPost(t, b, link+"/begin", csrf, map[string]any{"username": "root", "display_name": "Ada Admin"})
			pkWantError(t, "begin", r, http.StatusBadRequest, "Setup already started with the username admin; use that username.")
			if _, err := directory.NewStore(s.env.db).GetUserByUsername(ctx, directory.SystemOrgID, "root"); !directory.IsNotFound(err) {
				t.Fatalf("the retry created a second user (err %v)", err)
			}
		})

		// Retrying with the same username begins again for the same user.
		begin = pkPost(t, b, link+"/begin", csrf, map[string]any{"username": "admin", "display_name": "Ada Admin"})
		pkWantOK(t, "begin again", begin)
		if again, _ := pkPublicKey(t, begin)["user"].(map[string]any); again["id"] != user["id"] {
			t.Fatalf("the retry began for user handle %v, the first begin for %v", again["id"], user["id"])
		}
		fin := pkPost(t, b, link+"/finish", csrf, map[string]any{"credential": json.RawMessage(key.create(t, begin.Body)), "name": "Laptop"})
		pkWantOK(t, "finish", fin)
		if fin.Str("redirect") != "/account" {
			t.Fatalf("finish redirect %q, want /account", fin.Str("redirect"))
		}
		pkWantSessionCookie(t, fin)

		admin, err := directory.NewStore(s.env.db).GetUserByUsername(ctx, directory.SystemOrgID, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(admin.Roles, []string{"admin"}) || admin.DisplayName != "Ada Admin" || !admin.Active() {
			t.Fatalf("first admin %+v", admin)
		}
		pks := pkPasskeys(t, s, admin.ID)
		if len(pks) != 1 || pks[0].Name != "Laptop" || pks[0].AddedVia != passkey.AddedViaSetup || pks[0].Synced() {
			t.Fatalf("admin's passkeys %+v", pks)
		}

		// Signed in: the account page lists the new passkey.
		resp, page := b.get(s.URL + "/account")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /account: %d", resp.StatusCode)
		}
		if !strings.Contains(page, `<tr id="passkey-`+pks[0].ID+`">`) || !strings.Contains(page, "<td>Laptop</td>") ||
			!strings.Contains(page, "(setup)") || !strings.Contains(page, "<strong>Ada Admin</strong> · admin") {
			t.Fatalf("account page does not list the passkey:\n%s", page)
		}
		if sess := pkSession(t, s, b); sess.UserID != admin.ID || sess.ACR != "phr" {
			t.Fatalf("session %+v", sess)
		}

		// Audited.
		if ev := pkWantAudit(t, s, "passkey.added", admin.ID, 1); ev.Details()["via"] != "setup" || ev.Details()["passkey"] != pks[0].ID {
			t.Fatalf("passkey.added %+v", ev)
		}
		pkWantAudit(t, s, "setup.completed", admin.ID, 1)
		if ev := pkWantAudit(t, s, "signin.succeeded", admin.ID, 1); ev.Details()["via"] != "setup" {
			t.Fatalf("signin.succeeded %+v", ev)
		}

		// Used: the link is gone, for the page and both endpoints, in any browser.
		t.Run("used link", func(t *testing.T) {
			pkWantGone(t, b, link, pkSetupGonePage)
			pkWantGone(t, newBrowser(t), link, pkSetupGonePage)
			r := pkPost(t, b, link+"/begin", csrf, map[string]any{"username": "admin", "display_name": "Ada Admin"})
			pkWantError(t, "begin", r, http.StatusGone, pkSetupGoneJSON)
			r = pkPost(t, b, link+"/finish", csrf, map[string]any{"credential": json.RawMessage(`{}`)})
			pkWantError(t, "finish", r, http.StatusGone, pkFinishGoneJSON)
			if n := len(pkPasskeys(t, s, admin.ID)); n != 1 {
				t.Fatalf("admin has %d passkeys, want 1", n)
			}
		})

		// An administrator exists: no more setup links.
		t.Run("setup-link after an admin exists", func(t *testing.T) {
			out, err := s.cli("setup-link")
			if err == nil || !strings.Contains(err.Error(), "an administrator already exists: sign in at "+s.URL+"/login") {
				t.Fatalf("setup-link: %q, %v; want the error that an administrator exists", out, err)
			}
			if out != "" {
				t.Fatalf("setup-link printed %q", out)
			}
		})

		// The admin signs in with the passkey.
		pkWantOK(t, "sign in", pkSignIn(t, s, newBrowser(t), key, "admin", ""))
	})
}

// TestSetupLinkAfterAdminExists: a setup link makes the instance's first administrator. Links
// issued before one existed (`serve` prints a fresh one at every start until then, and
// `setup-link` can be run twice) stop working once the first administrator exists.
func TestSetupLinkAfterAdminExists(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		first, second := pkSetupLink(t, s), pkSetupLink(t, s)
		b := newBrowser(t)
		_, csrf := pkPage(t, b, first)
		begin := pkPost(t, b, first+"/begin", csrf, map[string]any{"username": "ada", "display_name": "Ada"})
		pkWantOK(t, "begin", begin)
		fin := pkPost(t, b, first+"/finish", csrf, map[string]any{"credential": json.RawMessage(newSoftKey(s.URL, true).create(t, begin.Body))})
		pkWantOK(t, "finish", fin)
		if ok, err := enroll.AdminExists(ctx, s.env.db); err != nil || !ok {
			t.Fatalf("AdminExists after setup: %v, %v", ok, err)
		}

		b2 := newBrowser(t)
		_, csrf2 := pkPage(t, b2, s.URL+"/login")
		t.Run("page", func(t *testing.T) { pkWantGone(t, b2, second, pkSetupGonePage) })
		t.Run("begin", func(t *testing.T) {
			r := pkPost(t, b2, second+"/begin", csrf2, map[string]any{"username": "mallory", "display_name": "Mallory"})
			if _, err := directory.NewStore(s.env.db).GetUserByUsername(ctx, directory.SystemOrgID, "mallory"); !directory.IsNotFound(err) {
				t.Errorf("the other setup link created a second administrator (err %v)", err)
			}
			pkWantError(t, "begin with the other setup link", r, http.StatusGone, pkSetupGoneJSON)
		})
	})
}

func TestSetupLinkExpired(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		past := func() time.Time { return time.Now().Add(-2 * time.Hour) }
		fakeClock := &enroll.Links{DB: s.env.db, Hasher: s.env.secret.Hasher("link"), Now: past}
		for _, tc := range []struct {
			name  string
			setup bool
			issue func(t *testing.T) string // returns the link
		}{
			{"setup link past expires_at", true, func(t *testing.T) string {
				link := pkSetupLink(t, s)
				if err := s.env.db.Conn(ctx).Exec(`UPDATE enrollment_links SET expires_at = ? WHERE purpose = ?`,
					time.Now().UTC().Add(-time.Second), enroll.PurposeSetup).Error; err != nil {
					t.Fatal(err)
				}
				return link
			}},
			{"setup link issued two hours ago for one hour", true, func(t *testing.T) string {
				token, err := fakeClock.Create(ctx, enroll.PurposeSetup, "", "system", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return s.URL + "/setup/" + token
			}},
			{"enrollment link past expires_at", false, func(t *testing.T) string {
				out, err := s.cli("users", "create", "--username", "late1", "--valid-for", "1m", "--output", "json")
				if err != nil {
					t.Fatal(err)
				}
				var created struct {
					UserID string `json:"user_id"`
					URL    string `json:"enrollment_url"`
				}
				if err := json.Unmarshal([]byte(out), &created); err != nil {
					t.Fatal(err)
				}
				if err := s.env.db.Conn(ctx).Exec(`UPDATE enrollment_links SET expires_at = ? WHERE user_id = ?`,
					time.Now().UTC().Add(-time.Second), created.UserID).Error; err != nil {
					t.Fatal(err)
				}
				return created.URL
			}},
			{"enrollment link issued two hours ago for one hour", false, func(t *testing.T) string {
				u := s.createUser("late2")
				token, err := fakeClock.Create(ctx, enroll.PurposeEnrollment, u.ID, "test", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return s.URL + "/enroll/" + token
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				link := tc.issue(t)
				b := newBrowser(t)
				_, csrf := pkPage(t, b, s.URL+"/login") // a CSRF token for this browser
				page, beginMsg := pkEnrollGonePage, pkEnrollGoneJSON
				body := map[string]any{}
				if tc.setup {
					page, beginMsg = pkSetupGonePage, pkSetupGoneJSON
					body = map[string]any{"username": "admin", "display_name": "Ada Admin"}
				}
				pkWantGone(t, b, link, page)
				pkWantError(t, "begin", pkPost(t, b, link+"/begin", csrf, body), http.StatusGone, beginMsg)
				pkWantError(t, "finish", pkPost(t, b, link+"/finish", csrf, map[string]any{"credential": json.RawMessage(`{}`)}),
					http.StatusGone, pkFinishGoneJSON)
				if tc.setup {
					if _, err := directory.NewStore(s.env.db).GetUserByUsername(ctx, directory.SystemOrgID, "admin"); !directory.IsNotFound(err) {
						t.Fatalf("an expired setup link created the admin (err %v)", err)
					}
				}
			})
		}
	})
}

func TestEnrollmentLink(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		out, err := s.cli("users", "create", "--username", "bob", "--display-name", "Bob Builder", "--output", "json")
		if err != nil {
			t.Fatal(err)
		}
		var created struct {
			UserID    string    `json:"user_id"`
			Username  string    `json:"username"`
			OrgID     string    `json:"org_id"`
			URL       string    `json:"enrollment_url"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatalf("users create output %q: %v", out, err)
		}
		if created.Username != "bob" || created.OrgID != directory.SystemOrgID || !strings.HasPrefix(created.URL, s.URL+"/enroll/") ||
			created.ExpiresAt.Sub(time.Now().Add(7*24*time.Hour)).Abs() > time.Minute {
			t.Fatalf("users create: %+v", created)
		}
		link := created.URL

		b := newBrowser(t)
		body, csrf := pkPage(t, b, link)
		if !strings.Contains(body, "<h1>Welcome, Bob Builder</h1>") || !strings.Contains(body, "Create a passkey for <strong>bob</strong>") {
			t.Fatalf("enrollment page:\n%s", body)
		}
		other := newBrowser(t)
		_, otherCSRF := pkPage(t, other, s.URL+"/login")

		for _, tc := range []struct {
			name, csrf string
			body       any
			status     int
			msg        string
		}{
			{"without the CSRF header", "", map[string]any{}, http.StatusForbidden, pkCSRFError},
			{"with another browser's CSRF token", otherCSRF, map[string]any{}, http.StatusForbidden, pkCSRFError},
			{"body not JSON", csrf, []byte("x"), http.StatusBadRequest, pkUnreadable},
		} {
			t.Run("begin "+tc.name, func(t *testing.T) {
				r := pkPost(t, b, link+"/begin", tc.csrf, tc.body)
				pkWantError(t, "begin", r, tc.status, tc.msg)
				if r.Cookie(pkCeremonyCookie) != nil {
					t.Fatal("a refused begin set a ceremony cookie")
				}
			})
		}

		// Two browsers open the link; the first to finish uses it up.
		key, late := newSoftKey(s.URL, false), newSoftKey(s.URL, true)
		b2 := newBrowser(t)
		_, csrf2 := pkPage(t, b2, link)
		begin2 := pkPost(t, b2, link+"/begin", csrf2, map[string]any{})
		pkWantOK(t, "begin in a second browser", begin2)

		begin := pkPost(t, b, link+"/begin", csrf, map[string]any{})
		pkWantOK(t, "begin", begin)
		opts := pkPublicKey(t, begin)
		if u, _ := opts["user"].(map[string]any); u["name"] != "bob" || u["displayName"] != "Bob Builder" {
			t.Fatalf("creation options %v", opts)
		}
		cred := key.create(t, begin.Body)
		pkWantError(t, "finish without the CSRF header", pkPost(t, b, link+"/finish", "", map[string]any{"credential": json.RawMessage(cred)}),
			http.StatusForbidden, pkCSRFError)
		fin := pkPost(t, b, link+"/finish", csrf, map[string]any{"credential": json.RawMessage(cred), "name": ""})
		pkWantOK(t, "finish", fin)
		if fin.Str("redirect") != "/account" {
			t.Fatalf("finish redirect %q", fin.Str("redirect"))
		}
		pkWantSessionCookie(t, fin)

		pks := pkPasskeys(t, s, created.UserID)
		if len(pks) != 1 || pks[0].AddedVia != passkey.AddedViaEnrollment || pks[0].Name != passkey.ProviderDeviceBound {
			t.Fatalf("bob's passkeys %+v; want one, added via enrollment, named %q", pks, passkey.ProviderDeviceBound)
		}
		resp, page := b.get(s.URL + "/account")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<tr id="passkey-`+pks[0].ID+`">`) ||
			!strings.Contains(page, "<td>"+passkey.ProviderDeviceBound+"</td>") || !strings.Contains(page, "(enrollment)") {
			t.Fatalf("account page (%d) does not list the passkey:\n%s", resp.StatusCode, page)
		}
		if ev := pkWantAudit(t, s, "passkey.added", created.UserID, 1); ev.Details()["via"] != "enrollment" {
			t.Fatalf("passkey.added %+v", ev)
		}
		pkWantAudit(t, s, "enrollment.completed", created.UserID, 1)
		pkWantAudit(t, s, "signin.succeeded", created.UserID, 1)

		t.Run("used link", func(t *testing.T) {
			pkWantGone(t, b, link, pkEnrollGonePage)
			pkWantError(t, "begin", pkPost(t, b, link+"/begin", csrf, map[string]any{}), http.StatusGone, pkEnrollGoneJSON)
			// The second browser's ceremony was begun before the link was used: finishing it now
			// is refused and stores nothing.
			fin := pkPost(t, b2, link+"/finish", csrf2, map[string]any{"credential": json.RawMessage(late.create(t, begin2.Body))})
			pkWantError(t, "finish in the second browser", fin, http.StatusGone, pkFinishGoneJSON)
			if fin.Cookie("portcullis_session") != nil {
				t.Fatal("a refused enrollment set a session cookie")
			}
			if n := len(pkPasskeys(t, s, created.UserID)); n != 1 {
				t.Fatalf("bob has %d passkeys, want 1", n)
			}
			pkWantAudit(t, s, "enrollment.completed", created.UserID, 1)
		})

		// Bob signs in with the passkey he enrolled.
		pkWantOK(t, "sign in", pkSignIn(t, s, newBrowser(t), key, "bob", ""))
	})
}
