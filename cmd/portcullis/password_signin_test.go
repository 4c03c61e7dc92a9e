package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// passwordPage loads a sign-in page and returns its CSRF token.
func passwordPage(t *testing.T, b *browser, pageURL string) string {
	t.Helper()
	resp, body := b.get(pageURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", pageURL, resp.StatusCode)
	}
	m := csrfFieldRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on %s", pageURL)
	}
	return m[1]
}

// postPassword submits the password form and returns the status and page.
func postPassword(t *testing.T, b *browser, postURL, csrf, username, pw string) (int, string) {
	t.Helper()
	resp, body := b.postForm(postURL, url.Values{"csrf_token": {csrf}, "username": {username}, "password": {pw}})
	return resp.StatusCode, body
}

func TestPasswordSignInLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		s.createOrg(t, "initech", "optional")
		s.createOrg(t, "other", "off")
		const pw = "a perfectly long password"
		if _, err := s.importCSV(t, "initech", "username,password_hash\npeter,"+bcryptHash(t, pw)+"\n"); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		csrf := passwordPage(t, b, s.URL+"/o/initech/login")
		post := s.URL + "/o/initech/login/password"

		// Without the CSRF token nothing is checked.
		if status, _ := postPassword(t, b, post, "forged", "peter", pw); status != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d", status)
		}
		// Five wrong passwords, then even the right one waits; an unknown username behaves the same.
		for _, user := range []string{"peter", "nobody"} {
			for i := range 5 {
				if status, body := postPassword(t, b, post, csrf, user, "wrong password "+string(rune('a'+i))); status != http.StatusUnauthorized ||
					!strings.Contains(body, "do not match") {
					t.Fatalf("%s, wrong password %d: %d", user, i+1, status)
				}
			}
			status, body := postPassword(t, b, post, csrf, user, pw)
			if status != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") {
				t.Fatalf("%s after 5 failures: %d", user, status)
			}
		}
		if n := s.auditCount(t, "signin.failed", ""); n < 12 {
			t.Fatalf("%d signin.failed audit events, want at least 12", n)
		}
		// The password lock never locks the account's passkey sign-in.
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/o/initech/login/begin",
			bytes.NewReader([]byte(`{"username":"peter"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "publicKey") {
			t.Fatalf("passkey begin while the password is locked: %d %s", resp.StatusCode, raw)
		}

		// A user of one organisation is unknown in another.
		b2 := newBrowser(t)
		csrf2 := passwordPage(t, b2, s.URL+"/o/other/login")
		if status, _ := postPassword(t, b2, s.URL+"/o/other/login/password", csrf2, "peter", pw); status != http.StatusUnauthorized {
			t.Fatalf("peter at another organisation: %d", status)
		}

		// After a mandatory organisation's deadline, passwords are refused with what to do.
		s.createOrg(t, "late", "mandatory")
		if _, err := s.importCSV(t, "late", "username,password_hash\nlou,"+bcryptHash(t, pw)+"\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cli("orgs", "set-policy", "late", "--passwords-end", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "--yes"); err != nil {
			t.Fatal(err)
		}
		b3 := newBrowser(t)
		_, page := b3.get(s.URL + "/o/late/login")
		if strings.Contains(page, `id="password"`) {
			t.Fatal("the sign-in page offers a password after the deadline")
		}
		csrf3 := passwordPage(t, b3, s.URL+"/o/late/login")
		status, body := postPassword(t, b3, s.URL+"/o/late/login/password", csrf3, "lou", pw)
		if status != http.StatusForbidden || !strings.Contains(body, "Passwords no longer work for Late Ltd") ||
			!strings.Contains(body, "enrollment link") {
			t.Fatalf("password after the deadline: %d", status)
		}
	})
}

// TestPasswordSignInAndPhishingResistance: a relying party that sends acr_values=phr gets no
// password form, and a password session does not satisfy it.
func TestPasswordSignInAndPhishingResistance(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		org := s.createOrg(t, "cms", "off")
		const pw = "another long password"
		if _, err := s.importCSV(t, "cms", "username,password_hash\ncarla,"+bcryptHash(t, pw)+"\n"); err != nil {
			t.Fatal(err)
		}
		c := s.createClient("--name", "CMS", "--org", "cms", "--redirect-uri", callback)
		r := newRP(t, s, c)
		b := newBrowser(t)

		// Plain request: password sign-in leads straight back to the authorize request.
		_, _, _, resp := r.authorize(b)
		login := location(t, resp)
		csrf := passwordPage(t, b, s.URL+login.String())
		status, page := postPassword(t, b, s.URL+"/login/password?"+login.RawQuery, csrf, "carla", pw)
		// The page moves on by itself (not a redirect: see login.continueTo) to the request.
		resume := "/oauth2/auth/resume?" + strings.ReplaceAll(login.RawQuery, "&", "&amp;")
		if status != http.StatusOK || !strings.Contains(page, `http-equiv="refresh" content="0; url=`+resume+`"`) {
			t.Fatalf("password sign-in: %d %s", status, page)
		}
		resp, _ = b.get(s.URL + "/oauth2/auth/resume?" + login.RawQuery)
		if cb := location(t, resp); !strings.HasPrefix(cb.String(), callback) || cb.Query().Get("code") == "" {
			t.Fatalf("resume after a password sign-in went to %s", cb)
		}
		carla := s.user(t, org.ID, "carla")
		if n := s.auditCount(t, "signin.succeeded", carla.ID); n != 1 {
			t.Fatalf("%d signin.succeeded audit events", n)
		}

		// acr_values=phr: the password session is not enough, and the page offers no password.
		_, _, _, resp = r.authorize(b, oauth2.SetAuthURLParam("acr_values", "phr"))
		login = location(t, resp)
		if login.Path != "/login" {
			t.Fatalf("acr_values=phr with a password session went to %s", login)
		}
		_, page = b.get(s.URL + login.String())
		if strings.Contains(page, `id="password"`) || !strings.Contains(page, "asks you to sign in with a passkey") {
			t.Fatal("the sign-in page for acr_values=phr offers a password")
		}
		csrf = passwordPage(t, b, s.URL+login.String())
		if status, _ := postPassword(t, b, s.URL+"/login/password?"+login.RawQuery, csrf, "carla", pw); status != http.StatusForbidden {
			t.Fatalf("password for acr_values=phr: %d", status)
		}
	})
}
