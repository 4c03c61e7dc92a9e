package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// orgEnrollment creates a user in an organisation with the CLI and returns the enrollment link.
func (s *testServer) orgEnrollment(t *testing.T, org, username string) cliEnrollment {
	t.Helper()
	out, err := s.cli("users", "create", "--org", org, "--username", username, "--display-name", "Test "+username, "--output", "json")
	if err != nil {
		t.Fatalf("users create: %v", err)
	}
	var e cliEnrollment
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.EnrollmentURL == "" {
		t.Fatalf("users create output %q: %v", out, err)
	}
	return e
}

// TestBrowserEnrollmentUnderEachPolicy: a new user opens their enrollment link. Mandatory: a
// passkey, no other way. Optional: a passkey, or "Do this later" with a password. Off: a password.
func TestBrowserEnrollmentUnderEachPolicy(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	for _, mode := range []string{"off", "optional", "mandatory"} {
		t.Run(mode, func(t *testing.T) {
			slug := "enrol-" + mode
			org := s.createOrg(t, slug, mode)
			e := s.orgEnrollment(t, slug, "newbie")
			d := newBrowserDevice(t, "newbie's PC ("+mode+")", deviceBoundKeys)
			d.navigate(e.EnrollmentURL)
			hasPasskey, hasPassword := d.text("#passkey-create") != "", d.text("#password-set") != ""
			want := map[string][2]bool{"off": {false, true}, "optional": {true, true}, "mandatory": {true, false}}[mode]
			if hasPasskey != want[0] || hasPassword != want[1] {
				t.Fatalf("enrollment page offers passkey %v, password %v; want %v", hasPasskey, hasPassword, want)
			}
			d.shot("enroll-" + mode)
			if mode == "mandatory" {
				d.click("#passkey-create")
				d.waitPath(s.URL, "/account")
				if len(s.passkeysOf(t, e.UserID)) != 1 {
					t.Fatal("no passkey after enrollment")
				}
				return
			}
			if mode == "optional" {
				d.click("#password-section summary")
			}
			// A password that breaks the rules is refused with the reason; the link still works.
			d.typeInto("#new-password", "newbie123456")
			d.typeInto("#confirm-password", "newbie123456")
			d.click("#password-set")
			d.waitPath(s.URL, "/enroll/"+e.EnrollmentURL[strings.LastIndex(e.EnrollmentURL, "/")+1:]+"/password")
			if msg := d.text("p.status.error"); !strings.Contains(strings.ToLower(msg), "username") {
				t.Fatalf("a password made of the username: %q", msg)
			}
			d.typeInto("#new-password", "maple quartz lantern")
			d.typeInto("#confirm-password", "maple quartz lantern")
			d.click("#password-set")
			d.waitPath(s.URL, "/account")
			u := s.user(t, org.ID, "newbie")
			if !u.HasPassword || (mode == "optional") != (u.PasskeySkippedAt != nil) {
				t.Fatalf("after setting a password: %+v", u)
			}
			if n := s.auditCount(t, "password.set", u.ID); n != 1 {
				t.Fatalf("%d password.set audit events", n)
			}
			// The link is used up.
			if status := d.navigate(e.EnrollmentURL); status != 410 {
				t.Fatalf("used enrollment link: %d", status)
			}
			// The organisation's own sign-in page takes the password.
			d.deleteCookie(s.URL, sessionCookieName)
			d.navigate(s.URL + "/o/" + slug + "/login")
			if h := d.text("h1"); h != "Sign in to "+org.Name {
				t.Fatalf("organisation sign-in page heading %q", h)
			}
			d.passwordSignIn("newbie", "maple quartz lantern")
			if mode == "optional" {
				// Asked again; this time "Do this later" once more.
				d.waitPath(s.URL, "/o/"+slug+"/login/passkey")
				d.click("#passkey-skip")
			}
			d.waitPath(s.URL, "/account")
		})
	}
}

// TestBrowserTightenedPolicyRefusesSyncedPasskey: an organisation that accepted synced passkeys
// stops accepting them. The change is previewed first; afterwards a synced passkey is refused at
// sign-in and at registration, with a message that says why and what to use instead.
func TestBrowserTightenedPolicyRefusesSyncedPasskey(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	s.createOrg(t, "tight", "mandatory")
	r, cb := orgRP(t, s, "tight")
	phone := newBrowserDevice(t, "sam's phone", syncedKeys)
	e := s.orgEnrollment(t, "tight", "sam")
	phone.navigate(e.EnrollmentURL)
	phone.click("#passkey-create")
	phone.waitPath(s.URL, "/account")

	out, err := s.cli("orgs", "set-policy", "tight", "--allow-synced=false")
	if err != nil || !strings.Contains(out, "1 user has only passkeys the new policy refuses") ||
		!strings.Contains(out, "1 passkey accepted today will be refused at sign-in (1 synced)") {
		t.Fatalf("preview: %q, %v", out, err)
	}
	if _, err := s.cli("orgs", "set-policy", "tight", "--allow-synced=false", "--yes"); err != nil {
		t.Fatal(err)
	}

	phone.deleteCookie(s.URL, sessionCookieName)
	f := r.browserFlow()
	phone.openSignIn(s.URL, f.URL)
	phone.click("#passkey-any")
	msg := phone.waitStatusError()
	if !strings.Contains(msg, "synced") || !strings.Contains(strings.ToLower(msg), "security key") {
		t.Fatalf("synced passkey after tightening: %q", msg)
	}
	cb.noCallback(t)

	// A new synced passkey is refused at registration, and nothing is stored.
	e2 := s.orgEnrollment(t, "tight", "sue")
	phone2 := newBrowserDevice(t, "sue's phone", syncedKeys)
	phone2.navigate(e2.EnrollmentURL)
	phone2.click("#passkey-create")
	msg = phone2.waitStatusError()
	if !strings.Contains(msg, "synced") {
		t.Fatalf("synced registration under a device-bound policy: %q", msg)
	}
	if n := len(s.passkeysOf(t, e2.UserID)); n != 0 {
		t.Fatalf("%d passkeys stored for a refused registration", n)
	}
	// A device-bound one is fine, with the same link.
	laptop := newBrowserDevice(t, "sue's laptop", deviceBoundKeys)
	laptop.navigate(e2.EnrollmentURL)
	laptop.click("#passkey-create")
	laptop.waitPath(s.URL, "/account")
}

// TestBrowserImportJoinersAndLeavers: a CSV import creates joiners, one of whom opens the
// enrollment link in a browser, creates a passkey and signs in to a relying party; a leavers import
// then disables him: his refresh token stops working and his browser session is over.
func TestBrowserImportJoinersAndLeavers(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	org := s.createOrg(t, "hooli", "mandatory")
	res, err := s.importCSV(t, "hooli", "username,display_name,email,roles\n"+
		"gavin,Gavin,gavin@example.com,admin\nrichard,Richard,richard@example.com,editor\n")
	if err != nil || len(res.Created) != 2 {
		t.Fatalf("joiners: %+v, %v", res, err)
	}
	var link string
	for _, c := range res.Created {
		if c.Username == "richard" {
			link = c.EnrollmentURL
		}
	}
	d := newBrowserDevice(t, "richard's laptop", deviceBoundKeys)
	d.navigate(link)
	d.click("#passkey-create")
	d.waitPath(s.URL, "/account")

	cb := newRPCallback(t)
	c := s.createClient("--name", "Hooli app", "--org", "hooli", "--type", "public", "--redirect-uri", cb.URL)
	r := newRP(t, s, c, "openid", "offline_access")
	r.config.RedirectURL = cb.URL
	f := r.browserFlow()
	d.navigate(f.URL) // signed in already: straight back with a code
	code := cb.waitCode(t, d, f)
	tok, err := r.config.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v (refresh token %q)", err, tok.RefreshToken)
	}

	if _, err := s.importCSV(t, "hooli", "username\nrichard\n", "--mode", "leavers"); err != nil {
		t.Fatal(err)
	}
	if s.user(t, org.ID, "richard").Active() {
		t.Fatal("the leaver is still active")
	}
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("the leaver's refresh token still works")
	}
	d.expectSignedOut(s.URL)
	// And his passkey no longer signs him in.
	f = r.browserFlow()
	d.openSignIn(s.URL, f.URL)
	d.click("#passkey-any")
	if msg := d.waitStatusError(); msg == "" {
		t.Fatal("no error for a disabled user's passkey")
	}
	cb.noCallback(t)
}
