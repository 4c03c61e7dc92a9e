package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
)

// createOrg creates an organisation with the CLI and sets its passkey mode.
func (s *testServer) createOrg(t *testing.T, slug, mode string, policy ...string) directory.Org {
	t.Helper()
	if _, err := s.cli("orgs", "create", "--slug", slug, "--name", strings.ToUpper(slug[:1])+slug[1:]+" Ltd"); err != nil {
		t.Fatalf("orgs create: %v", err)
	}
	if mode != "off" || len(policy) > 0 {
		args := append([]string{"orgs", "set-policy", slug, "--passkeys", mode, "--yes"}, policy...)
		if _, err := s.cli(args...); err != nil {
			t.Fatalf("orgs set-policy: %v", err)
		}
	}
	o, err := directory.NewStore(s.env.db).GetOrgBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// bcryptHash is a legacy password hash as another application would export it.
func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// importCSV runs `users import` on a file holding csv and decodes its JSON output.
func (s *testServer) importCSV(t *testing.T, org, csv string, args ...string) (importJSON, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := s.cli(append([]string{"users", "import", "--org", org, path, "--output", "json"}, args...)...)
	if err != nil {
		return importJSON{}, err
	}
	var res importJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("import output %q: %v", out, err)
	}
	return res, nil
}

func (s *testServer) user(t *testing.T, orgID, username string) directory.User {
	t.Helper()
	u, err := directory.NewStore(s.env.db).GetUserByUsername(context.Background(), orgID, username)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return u
}

func (s *testServer) auditCount(t *testing.T, action, userID string) int64 {
	t.Helper()
	var n int64
	q := `SELECT COUNT(*) FROM audit_events WHERE action = ?`
	args := []any{action}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	if err := s.env.db.Conn(context.Background()).Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOrgsCLI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		out, err := s.cli("orgs", "create", "--slug", "acme", "--name", "Acme Ltd")
		if err != nil || !strings.Contains(out, "passkeys off") || !strings.Contains(out, s.URL+"/o/acme/login") {
			t.Fatalf("orgs create: %q, %v", out, err)
		}
		if _, err := s.cli("orgs", "create", "--slug", "acme", "--name", "Again"); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("duplicate slug: %v", err)
		}
		if _, err := s.cli("orgs", "create", "--slug", "Acme!", "--name", "Bad"); err == nil || !strings.Contains(err.Error(), "slug") {
			t.Fatalf("bad slug: %v", err)
		}
		out, err = s.cli("orgs", "list")
		if err != nil || !strings.Contains(out, "system") || !strings.Contains(out, "mandatory") || !strings.Contains(out, "acme") {
			t.Fatalf("orgs list: %q, %v", out, err)
		}

		// Two password users and one with nothing yet.
		csv := "username,display_name,email,password_hash\n" +
			"ann,Ann,ann@example.com," + bcryptHash(t, "ann's long password") + "\n" +
			"bob,Bob,bob@example.com," + bcryptHash(t, "bob's long password") + "\n" +
			"cyd,Cyd,cyd@example.com,\n"
		if _, err := s.importCSV(t, "acme", csv); err != nil {
			t.Fatalf("import: %v", err)
		}
		out, err = s.cli("orgs", "adoption", "acme")
		if err != nil || !strings.Contains(out, "3 active users") || !strings.Contains(out, "password only:          2") ||
			!strings.Contains(out, "neither (need a link):  1") {
			t.Fatalf("adoption: %q, %v", out, err)
		}

		// Without --yes the impact is shown and nothing changes.
		out, err = s.cli("orgs", "set-policy", "acme", "--passkeys", "mandatory")
		if err != nil {
			t.Fatalf("set-policy preview: %v", err)
		}
		for _, want := range []string{"off -> mandatory",
			"2 users have no passkey and will be required to create one at their next sign-in",
			"1 user has neither a passkey nor a password and needs an enrollment link",
			"nothing changed: run again with --yes"} {
			if !strings.Contains(out, want) {
				t.Fatalf("preview %q lacks %q", out, want)
			}
		}
		if o := s.orgBySlug(t, "acme"); o.Policy.Mode != "off" {
			t.Fatalf("policy changed without --yes: %s", o.Policy.Mode)
		}
		out, err = s.cli("orgs", "set-policy", "acme", "--passkeys", "mandatory", "--passwords-end", "2031-01-01",
			"--allow-synced=false", "--remind-after", "72h", "--yes")
		if err != nil || !strings.Contains(out, "policy applied") {
			t.Fatalf("set-policy --yes: %q, %v", out, err)
		}
		o := s.orgBySlug(t, "acme")
		if o.Policy.Mode != "mandatory" || o.Policy.AllowSynced || o.Policy.PasswordsEndAt == nil ||
			o.Policy.PasswordsEndAt.Format("2006-01-02") != "2031-01-01" || !o.Policy.RequireUV {
			t.Fatalf("policy after apply: %+v", o.Policy)
		}
		if n := s.auditCount(t, "org.policy_changed", ""); n != 1 {
			t.Fatalf("%d org.policy_changed audit events, want 1", n)
		}
		out, err = s.cli("orgs", "show", "acme", "--output", "json")
		var shown orgJSON
		if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.Passkeys != "mandatory" || shown.AllowSynced {
			t.Fatalf("orgs show: %q, %v", out, err)
		}

		// A deadline belongs to mandatory only; a bad mode names the flag.
		if _, err := s.cli("orgs", "set-policy", "acme", "--passkeys", "optional", "--yes"); err == nil ||
			!strings.Contains(err.Error(), "policy") {
			t.Fatalf("optional with a deadline: %v", err)
		}
		if _, err := s.cli("orgs", "set-policy", "acme", "--passkeys", "sometimes"); err == nil || !strings.Contains(err.Error(), "--passkeys") {
			t.Fatalf("bad mode: %v", err)
		}
		if _, err := s.cli("orgs", "show", "nope"); err == nil || !strings.Contains(err.Error(), "no organisation") {
			t.Fatalf("unknown org: %v", err)
		}
	})
}

func (s *testServer) orgBySlug(t *testing.T, slug string) directory.Org {
	t.Helper()
	o, err := directory.NewStore(s.env.db).GetOrgBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestUsersImport(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		org := s.createOrg(t, "globex", "optional")
		dir := directory.NewStore(s.env.db)

		// A bad file names every bad line and applies nothing.
		bad := "username,email,roles\nann,ann@example.com,editor\nbob,not-an-email,\nann,again@example.com,\n"
		_, err := s.importCSV(t, "globex", bad)
		if err == nil || !strings.Contains(err.Error(), "line 3: email") || !strings.Contains(err.Error(), "line 4") {
			t.Fatalf("bad file: %v", err)
		}
		if users, _ := dir.ListUsers(ctx, org.ID); len(users) != 0 {
			t.Fatalf("a failed import created %d users", len(users))
		}

		joiners := "username,display_name,email,roles,password_hash\n" +
			"ann,Ann Archer,ann@example.com,editor;admin," + bcryptHash(t, "a long legacy password") + "\n" +
			"bob,Bob Baker,bob@example.com,admin,\n" +
			"dan,Dan Dale,,,\n"
		dry, err := s.importCSV(t, "globex", joiners, "--dry-run")
		if err != nil || !dry.DryRun || len(dry.Created) != 0 || !strings.Contains(strings.Join(dry.Summary, "\n"), "3 users will be created") {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if users, _ := dir.ListUsers(ctx, org.ID); len(users) != 0 {
			t.Fatalf("a dry run created %d users", len(users))
		}
		res, err := s.importCSV(t, "globex", joiners)
		if err != nil || len(res.Created) != 3 {
			t.Fatalf("import joiners: %+v, %v", res, err)
		}
		for _, c := range res.Created {
			if !strings.HasPrefix(c.EnrollmentURL, s.URL+"/enroll/") || c.Delivery != "shown" {
				t.Fatalf("joiner %+v: want a shown enrollment link", c)
			}
			if resp, _ := newBrowser(t).get(c.EnrollmentURL); resp.StatusCode != http.StatusOK {
				t.Fatalf("enrollment link of %s: %d", c.Username, resp.StatusCode)
			}
		}
		ann := s.user(t, org.ID, "ann")
		if !ann.HasPassword || len(ann.Roles) != 2 || ann.DisplayName != "Ann Archer" || !ann.EmailVerified {
			t.Fatalf("ann after import: %+v", ann)
		}
		if s.user(t, org.ID, "bob").HasPassword {
			t.Fatal("bob has a password he was never given")
		}

		// The same file again changes nothing; a new display name is an update.
		again, err := s.importCSV(t, "globex", "username,display_name\nann,Ann B. Archer\nbob,Bob Baker\ndan,Dan Dale\n")
		if err != nil || again.Updated != 1 || len(again.Created) != 0 {
			t.Fatalf("update: %+v, %v", again, err)
		}
		if got := s.user(t, org.ID, "ann"); got.DisplayName != "Ann B. Archer" || len(got.Roles) != 2 || !got.HasPassword {
			t.Fatalf("ann after update: %+v", got)
		}

		// A leaver is disabled: sessions end and refresh tokens stop working.
		c := s.createClient("--name", "Globex app", "--org", "globex", "--redirect-uri", callback)
		r := newRP(t, s, c)
		f := signedInCodeFlow(t, s, r, ann)
		if f.tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		leavers, err := s.importCSV(t, "globex", "username\nann\n", "--mode", "leavers")
		if err != nil || leavers.Disabled != 1 {
			t.Fatalf("leavers: %+v, %v", leavers, err)
		}
		if got := s.user(t, org.ID, "ann"); got.Active() {
			t.Fatal("the leaver is still active")
		}
		if _, err := r.refresh(f.tok.RefreshToken); err == nil {
			t.Fatal("a leaver's refresh token still works")
		}
		if got := userinfoStatus(t, s, f.tok.AccessToken); got != http.StatusUnauthorized {
			t.Fatalf("userinfo with a leaver's access token: %d", got)
		}
		st := session.NewStore(s.env.db, s.env.secret.Hasher("session"))
		if _, err := st.Get(ctx, f.sess.ID); !directory.IsNotFound(err) {
			t.Fatalf("the leaver's session is not ended: %v", err)
		}
		if n := s.auditCount(t, "user.disabled", ann.ID); n != 1 {
			t.Fatalf("%d user.disabled audit events", n)
		}
		// Unknown leavers are a line error; full-sync disables whoever is missing.
		if _, err := s.importCSV(t, "globex", "username\nzed\n", "--mode", "leavers"); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("unknown leaver: %v", err)
		}
		// A file that would disable the last admin is refused, whole.
		if _, err := s.importCSV(t, "globex", "username,display_name\ncarl,Carl\n", "--mode", "full-sync"); err == nil ||
			!strings.Contains(err.Error(), "every active admin") {
			t.Fatalf("full-sync without the admin: %v", err)
		}
		if _, err := dir.GetUserByUsername(ctx, org.ID, "carl"); !directory.IsNotFound(err) {
			t.Fatal("a refused import created carl")
		}
		sync, err := s.importCSV(t, "globex", "username,display_name\nbob,Bob Baker\ncarl,Carl\n", "--mode", "full-sync")
		if err != nil || len(sync.Created) != 1 || sync.Disabled != 1 {
			t.Fatalf("full-sync: %+v, %v", sync, err)
		}
		if s.user(t, org.ID, "dan").Active() {
			t.Fatal("full-sync left dan, who is not in the file, active")
		}
	})
}

// TestRolesAndOrgScopes: the "roles" scope puts the user's roles in the ID token and userinfo, the
// "org" scope their organisation's id and name; without the scopes neither appears.
func TestRolesAndOrgScopes(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		org := s.createOrg(t, "umbrella", "mandatory")
		u := s.createUser("alice", func(u *directory.User) { u.OrgID, u.Roles = org.ID, []string{"editor", "admin"} })
		c := s.createClient("--name", "Umbrella app", "--org", "umbrella", "--redirect-uri", callback)
		type claims struct {
			Roles   *[]string `json:"roles"`
			OrgID   string    `json:"org_id"`
			OrgName string    `json:"org_name"`
		}
		for _, tc := range []struct {
			scopes []string
			want   bool
		}{{[]string{"openid", "org", "roles"}, true}, {[]string{"openid", "profile"}, false}} {
			f := signedInCodeFlow(t, s, newRP(t, s, c, tc.scopes...), u)
			var got claims
			if err := f.idToken.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if !tc.want {
				if got.Roles != nil || got.OrgID != "" || got.OrgName != "" {
					t.Fatalf("scopes %v released %+v", tc.scopes, got)
				}
				continue
			}
			if got.Roles == nil || strings.Join(*got.Roles, ",") != "admin,editor" || got.OrgID != org.ID || got.OrgName != "Umbrella Ltd" {
				t.Fatalf("scopes %v: %+v", tc.scopes, got)
			}
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+f.tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var info claims
			err = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if err != nil || info.Roles == nil || len(*info.Roles) != 2 || info.OrgName != "Umbrella Ltd" {
				t.Fatalf("userinfo: %+v, %v", info, err)
			}
		}
	})
}
