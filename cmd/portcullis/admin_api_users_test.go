package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
)

// TestAdminAPIUsers: create (with its enrollment link), validation naming the field, edit, the
// last-admin rule, disable (sessions end, tokens stop working), enable, enrollment links,
// passkeys and sessions.
func TestAdminAPIUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		created := s.api(t, f.rw, "POST", "/users", map[string]any{"username": "bob", "display_name": "Bob B",
			"email": "bob@example.com", "roles": []string{"editor"}, "valid_for": "24h"}).want(t, http.StatusCreated)
		link := created.str("enrollment_url")
		if !strings.HasPrefix(link, s.URL+"/enroll/") || created.body["emailed"] != false {
			t.Fatalf("create: %s", created.raw)
		}
		if resp, _ := newBrowser(t).get(link); resp.StatusCode != http.StatusOK {
			t.Fatalf("the enrollment link answers %d", resp.StatusCode)
		}
		bob := created.body["user"].(map[string]any)
		bobID := bob["id"].(string)
		if bob["username"] != "bob" || bob["status"] != "active" {
			t.Fatalf("created user: %v", bob)
		}
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"username": "has space"}, "username"},
			{map[string]any{"username": "carol", "email": "not-an-email"}, "email"},
			{map[string]any{"username": "carol", "roles": []string{"bad role"}}, "roles"},
			{map[string]any{"username": "carol", "valid_for": "forever"}, "valid_for"},
			{map[string]any{"username": "carol", "valid_for": "1000h"}, "valid_for"},
			{map[string]any{"username": "carol", "colour": "blue"}, "colour"},
			{map[string]any{"username": 7}, "username"},
		} {
			s.api(t, f.rw, "POST", "/users", tc.body).want(t, http.StatusBadRequest, "invalid_field", tc.field)
		}
		s.api(t, f.rw, "POST", "/users", []byte("{not json")).want(t, http.StatusBadRequest, "invalid_json")
		s.api(t, f.rw, "POST", "/users", map[string]any{"username": "bob"}).want(t, http.StatusConflict, "already_exists", "username")
		if n := opsCount(t, s, `SELECT COUNT(*) FROM users WHERE username = 'carol'`); n != 0 {
			t.Fatal("a refused create made a user")
		}
		if n := s.auditBy(t, "client:"+f.rwClient.ID, "user.created"); n != 1 {
			t.Fatalf("%d user.created events by the client", n)
		}

		got := s.api(t, f.rw, "GET", "/users/"+bobID, nil).want(t, http.StatusOK)
		if got.str("email") != "bob@example.com" || got.body["roles"].([]any)[0] != "editor" {
			t.Fatalf("get: %s", got.raw)
		}
		got = s.api(t, f.rw, "PATCH", "/users/"+bobID, map[string]any{"display_name": "Robert", "roles": []string{"admin", "editor"}}).
			want(t, http.StatusOK)
		if got.str("display_name") != "Robert" || len(got.body["roles"].([]any)) != 2 || got.str("email") != "bob@example.com" {
			t.Fatalf("patch: %s", got.raw)
		}
		s.api(t, f.rw, "PATCH", "/users/"+bobID, map[string]any{"status": "gone"}).want(t, http.StatusBadRequest, "invalid_field", "status")
		s.api(t, f.rw, "PATCH", "/users/"+bobID, map[string]any{"email": "@"}).want(t, http.StatusBadRequest, "invalid_field", "email")
		s.api(t, f.rw, "GET", "/users/nosuchuser", nil).want(t, http.StatusNotFound, "not_found")

		// Two admins: ann may be disabled; then bob, the last, may neither go nor lose the role.
		flow := signedInCodeFlow(t, s, newRP(t, s, f.app), s.user(t, f.acmeID, "ann"))
		s.api(t, f.rw, "PATCH", "/users/"+f.user, map[string]any{"status": "disabled"}).want(t, http.StatusOK)
		if _, err := newRP(t, s, f.app).refresh(flow.tok.RefreshToken); err == nil {
			t.Fatal("a disabled user's refresh token still works")
		}
		if st := userinfoStatus(t, s, flow.tok.AccessToken); st != http.StatusUnauthorized {
			t.Fatalf("userinfo with a disabled user's token: %d", st)
		}
		if _, err := session.NewStore(s.env.db, s.env.secret.Hasher("session")).Get(t.Context(), flow.sess.ID); !directory.IsNotFound(err) {
			t.Fatalf("the disabled user's session is live: %v", err)
		}
		if n := s.auditCount(t, "user.disabled", f.user); n != 1 {
			t.Fatalf("%d user.disabled events", n)
		}
		s.api(t, f.rw, "PATCH", "/users/"+bobID, map[string]any{"status": "disabled"}).want(t, http.StatusConflict, "last_admin")
		s.api(t, f.rw, "PATCH", "/users/"+bobID, map[string]any{"roles": []string{"editor"}}).want(t, http.StatusConflict, "last_admin")
		s.api(t, f.rw, "PATCH", "/users/"+f.user, map[string]any{"status": "active"}).want(t, http.StatusOK)
		if !s.user(t, f.acmeID, "ann").Active() {
			t.Fatal("ann is not enabled again")
		}

		// A new enrollment link for bob, who has no passkey; none for ann, who has one.
		again := s.api(t, f.rw, "POST", "/users/"+bobID+"/enrollment-link", nil).want(t, http.StatusCreated)
		if again.str("enrollment_url") == link || !strings.HasPrefix(again.str("enrollment_url"), s.URL+"/enroll/") {
			t.Fatalf("resend: %s", again.raw)
		}
		s.api(t, f.rw, "POST", "/users/"+bobID+"/enrollment-link", map[string]any{"valid_for": "1s"}).
			want(t, http.StatusBadRequest, "invalid_field", "valid_for")
		s.api(t, f.rw, "POST", "/users/"+f.user+"/enrollment-link", nil).want(t, http.StatusConflict, "already_enrolled")

		// Passkeys: listed newest first; an admin may remove even the last one.
		s.adminPasskey(t, f.user, "pk-ann-0", time.Now().Add(-time.Hour))
		keys := s.api(t, f.rw, "GET", "/users/"+f.user+"/passkeys?limit=1", nil).want(t, http.StatusOK)
		if it := keys.items(); len(it) != 1 || it[0]["id"] != f.passkeyID || keys.str("next_cursor") == "" {
			t.Fatalf("first page of passkeys: %s", keys.raw)
		}
		rest := s.api(t, f.rw, "GET", "/users/"+f.user+"/passkeys?limit=1&cursor="+keys.str("next_cursor"), nil).want(t, http.StatusOK)
		if it := rest.items(); len(it) != 1 || it[0]["id"] != "pk-ann-0" || rest.str("next_cursor") != "" {
			t.Fatalf("second page of passkeys: %s", rest.raw)
		}
		for _, id := range []string{f.passkeyID, "pk-ann-0"} {
			s.api(t, f.rw, "DELETE", "/users/"+f.user+"/passkeys/"+id, nil).want(t, http.StatusNoContent)
		}
		s.api(t, f.rw, "DELETE", "/users/"+f.user+"/passkeys/pk-ann-0", nil).want(t, http.StatusNotFound, "not_found")
		if n := opsCount(t, s, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, f.user); n != 0 {
			t.Fatalf("%d passkeys left", n)
		}

		// Sessions: ending one revokes the tokens issued in it.
		flow = signedInCodeFlow(t, s, newRP(t, s, f.app), s.user(t, f.acmeID, "ann"))
		sessions := s.api(t, f.rw, "GET", "/users/"+f.user+"/sessions", nil).want(t, http.StatusOK).items()
		if len(sessions) != 1 || sessions[0]["id"] != flow.sess.ID {
			t.Fatalf("sessions: %v", sessions)
		}
		s.api(t, f.rw, "DELETE", "/users/"+f.user+"/sessions/"+flow.sess.ID, nil).want(t, http.StatusNoContent)
		s.api(t, f.rw, "DELETE", "/users/"+f.user+"/sessions/"+flow.sess.ID, nil).want(t, http.StatusNotFound)
		if _, err := newRP(t, s, f.app).refresh(flow.tok.RefreshToken); err == nil {
			t.Fatal("the ended session's refresh token still works")
		}
		// Another user's session id under ann is not found.
		s.api(t, f.rw, "DELETE", "/users/"+bobID+"/sessions/"+f.sessionID, nil).want(t, http.StatusNotFound)
	})
}

// TestAdminAPIUserPages: thousands of users page by cursor without repeats or gaps; search and
// the status filter narrow the list; bad paging parameters name the field.
func TestAdminAPIUserPages(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		const n = 1200
		var csv strings.Builder
		csv.WriteString("username,display_name,email\n")
		for i := range n {
			fmt.Fprintf(&csv, "user%04d,Person %d,p%d@example.com\n", i, i, i)
		}
		s.api(t, f.rw, "POST", "/users/import", csv.String()).want(t, http.StatusOK)
		seen := map[string]bool{}
		last, pages := "", 0
		for cursor := ""; ; pages++ {
			start := time.Now()
			got := s.api(t, f.rw, "GET", "/users?limit=200&cursor="+url.QueryEscape(cursor), nil).want(t, http.StatusOK)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("a page took %s", d)
			}
			for _, u := range got.items() {
				name := u["username"].(string)
				if seen[name] || name <= last && s.env.db.Dialect == "sqlite" {
					t.Fatalf("page %d: %q repeated or out of order after %q", pages, name, last)
				}
				seen[name], last = true, name
			}
			if cursor = got.str("next_cursor"); cursor == "" {
				break
			}
		}
		if len(seen) != n+1 || pages != 6 { // the imported users and ann; 1201 users in 7 pages of 200
			t.Fatalf("walked %d users in %d pages", len(seen), pages+1)
		}
		if got := s.api(t, f.rw, "GET", "/users", nil).want(t, http.StatusOK); len(got.items()) != 50 {
			t.Fatalf("default page: %d users", len(got.items()))
		}
		if got := s.api(t, f.rw, "GET", "/users?q=PERSON%201199", nil).want(t, http.StatusOK).items(); len(got) != 1 || got[0]["username"] != "user1199" {
			t.Fatalf("search by display name: %v", got)
		}
		if got := s.api(t, f.rw, "GET", "/users?q=p7%40example", nil).want(t, http.StatusOK).items(); len(got) != 1 {
			t.Fatalf("search by email: %v", got)
		}
		if got := s.api(t, f.rw, "GET", "/users?q=100%25", nil).want(t, http.StatusOK).items(); len(got) != 0 {
			t.Fatalf("a %% in the search is a wildcard: %v", got)
		}
		s.api(t, f.rw, "PATCH", "/users/"+s.user(t, f.acmeID, "user0001").ID, map[string]any{"status": "disabled"}).want(t, http.StatusOK)
		if got := s.api(t, f.rw, "GET", "/users?status=disabled", nil).want(t, http.StatusOK).items(); len(got) != 1 || got[0]["username"] != "user0001" {
			t.Fatalf("status filter: %v", got)
		}
		s.api(t, f.rw, "GET", "/users?status=gone", nil).want(t, http.StatusBadRequest, "invalid_field", "status")
		for _, l := range []string{"0", "201", "x"} {
			s.api(t, f.rw, "GET", "/users?limit="+l, nil).want(t, http.StatusBadRequest, "invalid_field", "limit")
		}
		s.api(t, f.rw, "GET", "/users?cursor=!!", nil).want(t, http.StatusBadRequest, "invalid_field", "cursor")
	})
}

// TestAdminAPIImport: a CSV import previews, applies, names bad lines, and refuses to disable the
// last admin.
func TestAdminAPIImport(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		file := "username,display_name,email,roles\ncarl,Carl,carl@example.com,editor\ndora,Dora,,\n"
		dry := s.api(t, f.rw, "POST", "/users/import?dry_run=true", file).want(t, http.StatusOK)
		if dry.body["dry_run"] != true || !strings.Contains(strings.Join(toStrings(dry.body["summary"]), "\n"), "2 users will be created") {
			t.Fatalf("dry run: %s", dry.raw)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM users WHERE username IN ('carl', 'dora')`); n != 0 {
			t.Fatal("a dry run created users")
		}
		res := s.api(t, f.rw, "POST", "/users/import", file).want(t, http.StatusOK)
		created, _ := res.body["created"].([]any)
		if len(created) != 2 || created[0].(map[string]any)["delivery"] != "shown" {
			t.Fatalf("import: %s", res.raw)
		}
		bad := s.api(t, f.rw, "POST", "/users/import", "username,email\nemil,not-an-email\n").want(t, http.StatusBadRequest, "invalid_csv")
		if p, _ := bad.body["problems"].([]any); len(p) != 1 || p[0].(map[string]any)["line"] != float64(2) {
			t.Fatalf("bad file: %s", bad.raw)
		}
		s.api(t, f.rw, "POST", "/users/import?mode=full-sync", "username\ncarl\n").want(t, http.StatusConflict, "last_admin")
		s.api(t, f.rw, "POST", "/users/import?mode=sideways", file).want(t, http.StatusBadRequest, "invalid_field", "mode")
		s.api(t, f.rw, "POST", "/users/import?dry_run=maybe", file).want(t, http.StatusBadRequest, "invalid_field", "dry_run")
		s.api(t, f.rw, "POST", "/users/import", map[string]any{"username": "x"}).want(t, http.StatusUnsupportedMediaType)
		if n := s.auditBy(t, "client:"+f.rwClient.ID, "users.imported"); n != 1 {
			t.Fatalf("%d users.imported events by the client", n)
		}
	})
}

func toStrings(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestAdminAPIRecovery: POST /users/{id}/recovery revokes the user's passkeys, sessions and tokens
// and shows a single-use recovery link once; email needs a verified address and a mail server.
func TestAdminAPIRecovery(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAdminFixture(t, s)
		path := "/users/" + f.user + "/recovery"
		s.api(t, f.rw, "POST", path, map[string]any{"delivery": "post"}).want(t, http.StatusBadRequest, "invalid_field", "delivery")
		s.api(t, f.rw, "POST", path, map[string]any{"delivery": "email"}).want(t, http.StatusBadRequest, "invalid_field", "delivery")
		s.api(t, f.rw, "POST", path, map[string]any{"valid_for": "400h"}).want(t, http.StatusBadRequest, "invalid_field", "valid_for")
		s.api(t, f.globex, "POST", path, nil).want(t, http.StatusNotFound)
		s.api(t, f.ro, "POST", path, nil).want(t, http.StatusForbidden, "insufficient_scope")

		got := s.api(t, f.rw, "POST", path, nil).want(t, http.StatusCreated)
		if !strings.HasPrefix(got.str("recovery_url"), s.URL+"/recover/") || got.body["passkeys_removed"] != float64(1) ||
			got.body["sessions_ended"] != float64(1) || got.str("delivery") != "show" {
			t.Fatalf("recovery: %s", got.raw)
		}
		if st := userinfoStatus(t, s, f.userToken); st != http.StatusUnauthorized {
			t.Fatalf("the user's access token after recovery: %d", st)
		}
		if resp, body := newBrowser(t).get(got.str("recovery_url")); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Recover your account") {
			t.Fatalf("recovery link: %d", resp.StatusCode)
		}
		if n := s.auditBy(t, "client:"+f.rwClient.ID, "recovery.started"); n != 1 {
			t.Fatalf("%d recovery.started events by the client", n)
		}
	})
}
