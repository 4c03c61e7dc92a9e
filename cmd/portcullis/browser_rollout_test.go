package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// orgRP is a relying party (public client, PKCE) of one organisation.
func orgRP(t *testing.T, s *testServer, org string) (*rp, *rpCallback) {
	t.Helper()
	cb := newRPCallback(t)
	c := s.createClient("--name", "App of "+org, "--org", org, "--type", "public", "--redirect-uri", cb.URL)
	r := newRP(t, s, c, oidc.ScopeOpenID, "profile")
	r.config.RedirectURL = cb.URL
	return r, cb
}

// passwordSignIn fills in the sign-in page's password form and submits it. Where passkeys are on,
// the password sits behind "Use a password instead".
func (d *browserDevice) passwordSignIn(username, password string) {
	d.t.Helper()
	if mustEval[bool](d, `!!document.getElementById("password-section")`) {
		d.click("#password-section summary")
	}
	d.typeInto("#username", username)
	d.typeInto("#password", password)
	d.click("#password-submit")
}

func (s *testServer) hashOf(t *testing.T, userID string) string {
	t.Helper()
	var h string
	if err := s.env.db.Conn(context.Background()).Raw(`SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&h).Error; err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBrowserPasswordUsersUnderEachPolicy: a user imported with a legacy (bcrypt) password signs
// in to a relying party in an organisation at Off, Optional and Mandatory, and the next sign-ins
// behave as the policy says.
func TestBrowserPasswordUsersUnderEachPolicy(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	const pw = "correct horse battery staple"
	for _, mode := range []string{"off", "optional", "mandatory"} {
		t.Run(mode, func(t *testing.T) {
			slug := "org-" + mode
			org := s.createOrg(t, slug, mode)
			if _, err := s.importCSV(t, slug, "username,display_name,password_hash\npat,Pat,"+bcryptHash(t, pw)+"\n"); err != nil {
				t.Fatalf("import: %v", err)
			}
			pat := s.user(t, org.ID, "pat")
			r, cb := orgRP(t, s, slug)
			d := newBrowserDevice(t, "pat's PC ("+mode+")", deviceBoundKeys)

			// A wrong password is refused with a plain message and no code.
			f := r.browserFlow()
			d.navigate(f.URL)
			d.waitPath(s.URL, "/login")
			d.passwordSignIn("pat", "not the password at all")
			d.waitPath(s.URL, "/login/password")
			if msg := d.statusText(); !strings.Contains(msg, "do not match") {
				t.Fatalf("wrong password: %q", msg)
			}
			cb.noCallback(t)

			d.passwordSignIn("pat", pw)
			switch mode {
			case "off":
				c := r.redeemBrowserCode(t, f, cb.waitCode(t, d, f))
				if c.ACR != "0" || !slices.Equal(c.AMR, []string{"pwd"}) || c.Subject != pat.ID {
					t.Fatalf("password sign-in claims: %+v", c)
				}
				if h := s.hashOf(t, pat.ID); !strings.HasPrefix(h, "$argon2id$") {
					t.Fatalf("the imported bcrypt hash was not upgraded: %.12s…", h)
				}
			case "optional":
				d.waitPath(s.URL, "/login/passkey")
				if h := d.text("h1"); h != "Sign in faster with a passkey" {
					t.Fatalf("prompt heading %q", h)
				}
				d.shot("passkey-prompt-optional")
				d.click("#passkey-skip") // "Do this later"
				c := r.redeemBrowserCode(t, f, cb.waitCode(t, d, f))
				if c.ACR != "0" {
					t.Fatalf("acr %q after a password", c.ACR)
				}
				if u := s.user(t, org.ID, "pat"); u.PasskeySkippedAt == nil {
					t.Fatal("Do this later was not recorded")
				}
				// Asked again at the next sign-in (the default: every sign-in); this time yes.
				d.deleteCookie(s.URL, sessionCookieName)
				f = r.browserFlow()
				d.navigate(f.URL)
				d.waitPath(s.URL, "/login")
				d.passwordSignIn("pat", pw)
				d.waitPath(s.URL, "/login/passkey")
				d.click("#passkey-create")
				cb.waitCode(t, d, f)
				if len(s.passkeysOf(t, pat.ID)) != 1 || !s.user(t, org.ID, "pat").HasPassword {
					t.Fatal("optional: want one passkey and the password kept as a fallback")
				}
			case "mandatory":
				d.waitPath(s.URL, "/login/passkey")
				if h := d.text("h1"); h != "Create a passkey to continue" || d.text("#passkey-skip") != "" {
					t.Fatalf("mandatory prompt: heading %q, skip %q", h, d.text("#passkey-skip"))
				}
				d.shot("passkey-prompt-mandatory")
				// Without a passkey there is no way round to the app: resuming the request
				// directly finds no session and asks to sign in.
				prompt := d.location()
				pu, _ := url.Parse(prompt)
				d.navigate(s.URL + "/oauth2/auth/resume?request=" + url.QueryEscape(pu.Query().Get("request")))
				d.waitPath(s.URL, "/login")
				cb.noCallback(t)
				d.navigate(prompt)
				d.click("#passkey-create")
				cb.waitCode(t, d, f)
				if len(s.passkeysOf(t, pat.ID)) != 1 {
					t.Fatal("no passkey after the mandatory prompt")
				}
				if s.user(t, org.ID, "pat").HasPassword {
					t.Fatal("mandatory: the password outlived the first passkey")
				}
				if n := s.auditCount(t, "password.removed", pat.ID); n != 1 {
					t.Fatalf("%d password.removed audit events", n)
				}
			}
			if mode == "off" {
				return
			}
			// The next sign-in is a passkey sign-in ("Sign in with a passkey"), acr phr.
			d.deleteCookie(s.URL, sessionCookieName)
			f = r.browserFlow()
			d.openSignIn(s.URL, f.URL)
			d.click("#passkey-any")
			if c := r.redeemBrowserCode(t, f, cb.waitCode(t, d, f)); c.ACR != "phr" || c.Subject != pat.ID {
				t.Fatalf("passkey sign-in after the prompt: %+v", c)
			}
			if mode == "mandatory" {
				// The old password no longer signs in.
				d.deleteCookie(s.URL, sessionCookieName)
				f = r.browserFlow()
				d.openSignIn(s.URL, f.URL)
				d.presence(false)
				d.passwordSignIn("pat", pw)
				d.waitPath(s.URL, "/login/password")
				if msg := d.statusText(); !strings.Contains(msg, "do not match") {
					t.Fatalf("password after it was retired: %q", msg)
				}
				cb.noCallback(t)
				d.presence(true)
			}
		})
	}
}
