package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

const sessionCookieName = "portcullis_session"

// beginBody is the JSON a sign-in page posts to /login/begin and /login/begin-any.
type beginBody struct {
	Username    string `json:"username"`
	Request     string `json:"request"`
	Conditional bool   `json:"conditional"`
}

// begins returns the bodies the page posted to a begin endpoint.
func (d *browserDevice) begins(path string) []beginBody {
	d.t.Helper()
	var out []beginBody
	for _, r := range d.sent(path) {
		var b beginBody
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			d.t.Fatalf("%s: body of %s %q: %v", d.name, path, r.Body, err)
		}
		out = append(out, b)
	}
	return out
}

// checkSignInClaims checks the claims of a passkey sign-in made in the browser: the user, acr
// "phr", a recent auth_time, and the amr that matches the kind of passkey the account page shows.
func checkSignInClaims(t *testing.T, s *testServer, d *browserDevice, c passkeyClaims, userID, username string) {
	t.Helper()
	if c.Subject != userID || c.Username != username {
		t.Fatalf("id token for %q (%s), want %s (%s)", c.Username, c.Subject, username, userID)
	}
	if c.ACR != "phr" {
		t.Fatalf("acr %q, want phr", c.ACR)
	}
	if age := time.Since(time.Unix(c.AuthTime, 0)); age < -time.Second || age > time.Minute {
		t.Fatalf("auth_time %d is %s old, want within the last minute", c.AuthTime, age)
	}
	// The account page says whether the passkey is synced; the amr must say the same.
	d.navigate(s.URL + "/account")
	d.waitPath(s.URL, "/account")
	rows := d.passkeyRows()
	if len(rows) != 1 {
		t.Fatalf("account page lists %d passkeys, want 1", len(rows))
	}
	want := map[string][]string{"Synced": {"swk", "user", "mfa"}, "Device-bound": {"hwk", "user", "mfa"}}[rows[0].Kind]
	if want == nil || !slices.Equal(c.AMR, want) {
		t.Fatalf("amr %v for a passkey the account page shows as %q (want %v)", c.AMR, rows[0].Kind, want)
	}
}

// expectSignedOut checks that the account page sends the browser to sign in. The sign-in page's
// autofill request is held off (see openSignIn): it would otherwise sign a device that holds a
// passkey straight back in.
func (d *browserDevice) expectSignedOut(base string) {
	d.t.Helper()
	d.presence(false)
	d.forgetRequests()
	d.navigate(base + "/account")
	d.waitPath(base, "/login")
	if n := len(d.sent("/account")); n != 1 {
		d.t.Fatalf("%s: %d requests for /account", d.name, n)
	}
	if n := len(d.sent("/login/finish")); n != 0 {
		d.t.Fatalf("%s: signed in again while checking the signed-out state", d.name)
	}
	// Leave the page, which ends its autofill request, before approval comes back on.
	d.navigate("about:blank")
	d.presence(true)
}

// TestBrowserSignInToRelyingParty signs in to a relying party (code flow with PKCE, public
// client) in the three ways the sign-in page offers, each on a device that holds the passkey.
func TestBrowserSignInToRelyingParty(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	r, cb := browserRP(t, s)

	for _, tc := range []struct {
		name, username string
		kind           authKind
	}{
		{"username first", "ann", deviceBoundKeys},
		{"usernameless", "ben", syncedKeys},
		{"autofill", "cyd", deviceBoundKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newBrowserDevice(t, tc.username+"'s laptop", tc.kind)
			e := s.enrollInBrowser(t, d, tc.username)
			d.deleteCookie(s.URL, sessionCookieName) // signed out: only the passkey is left
			d.forgetRequests()
			f := r.browserFlow()

			switch tc.name {
			case "username first":
				login := d.openSignIn(s.URL, f.URL)
				if login.Query().Get("request") == "" || d.text("h1") != "Sign in to Browser test app" {
					t.Fatalf("sign-in page %s: %q", login, d.text("h1"))
				}
				d.shot("login")
				d.typeInto("#username", tc.username)
				d.click("#username-form button[type=submit]")
			case "usernameless":
				d.openSignIn(s.URL, f.URL)
				d.click("#passkey-any")
			case "autofill":
				// The autofill request starts as the page loads; the person picks the passkey from
				// the username field's suggestions. Chromium's virtual environment picks it by
				// itself: nothing is clicked.
				d.startNavigation(f.URL)
			}
			code := cb.waitCode(t, d, f)

			// Which ceremony signed in, as the page sent it to the server.
			begin, beginAny, finish := d.begins("/login/begin"), d.begins("/login/begin-any"), d.sent("/login/finish")
			if len(finish) != 1 {
				t.Fatalf("%d requests to /login/finish, want 1", len(finish))
			}
			if len(beginAny) == 0 || !beginAny[0].Conditional {
				t.Fatalf("the sign-in page did not start an autofill request as it loaded: %+v", beginAny)
			}
			switch tc.name {
			case "username first":
				if len(begin) != 1 || begin[0].Username != tc.username || begin[0].Request == "" || len(beginAny) != 1 {
					t.Fatalf("username first: begin %+v, begin-any %+v", begin, beginAny)
				}
			case "usernameless":
				if len(begin) != 0 || len(beginAny) != 2 || beginAny[1].Conditional || beginAny[1].Request == "" {
					t.Fatalf("usernameless: begin %+v, begin-any %+v", begin, beginAny)
				}
			case "autofill":
				if len(begin) != 0 || len(beginAny) != 1 || beginAny[0].Request == "" {
					t.Fatalf("autofill: begin %+v, begin-any %+v", begin, beginAny)
				}
			}

			c := r.redeemBrowserCode(t, f, code)
			checkSignInClaims(t, s, d, c, e.UserID, tc.username)
		})
	}
}

// TestBrowserPromptLoginAndACR checks that acr_values=phr is met by a passkey session (code at
// once) and that prompt=login asks for a new passkey ceremony, which gives a newer auth_time.
func TestBrowserPromptLoginAndACR(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	r, cb := browserRP(t, s)
	d := newBrowserDevice(t, "Dee's laptop", deviceBoundKeys)
	e := s.enrollInBrowser(t, d, "dee")

	// Signed in with a passkey (enrollment): acr_values=phr is already met.
	d.forgetRequests()
	f := r.browserFlow(oauth2.SetAuthURLParam("acr_values", "phr"))
	d.navigate(f.URL)
	first := r.redeemBrowserCode(t, f, cb.waitCode(t, d, f))
	if n := len(d.sent("/login")); n != 0 {
		t.Fatalf("acr_values=phr with a passkey session went through the sign-in page (%d times)", n)
	}
	checkSignInClaims(t, s, d, first, e.UserID, "dee")

	// auth_time has a resolution of a second: let one pass.
	time.Sleep(time.Until(time.Unix(first.AuthTime+1, 0)) + 50*time.Millisecond)

	// prompt=login: the existing session is not enough.
	d.forgetRequests()
	f = r.browserFlow(oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("acr_values", "phr"))
	login := d.openSignIn(s.URL, f.URL)
	if login.Query().Get("request") == "" {
		t.Fatalf("prompt=login led to %s, want the sign-in page for the request", login)
	}
	cb.noCallback(t)
	d.click("#passkey-any")
	second := r.redeemBrowserCode(t, f, cb.waitCode(t, d, f))
	if len(d.sent("/login/finish")) != 1 {
		t.Fatal("prompt=login was answered without a new passkey ceremony")
	}
	if second.AuthTime <= first.AuthTime {
		t.Fatalf("auth_time after prompt=login %d, want later than %d", second.AuthTime, first.AuthTime)
	}
	if second.SID == first.SID {
		t.Fatal("the new sign-in kept the old session id")
	}
	checkSignInClaims(t, s, d, second, e.UserID, "dee")
	// The new sign-in replaced the session on this device.
	if rows := d.sessionRows(); len(rows) != 1 || !rows[0].Current {
		t.Fatalf("sessions after prompt=login: %+v, want only the new one", rows)
	}
}

// TestBrowserRemovedPasskeyCannotSignIn removes, on one device, the passkey of another device;
// the other device's passkey then no longer signs in.
func TestBrowserRemovedPasskeyCannotSignIn(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	laptop := newBrowserDevice(t, "Eve's laptop", deviceBoundKeys)
	e := s.enrollInBrowser(t, laptop, "eve")

	// Eve adds a passkey on her tablet from its account page. The tablet has no passkey yet, so
	// its signed-in session is made directly in the store (as a sign-in from another device
	// would), freshly verified so that the page offers "Add a passkey".
	tablet := newBrowserDevice(t, "Eve's tablet", syncedKeys)
	now := time.Now().UTC()
	token, _, err := session.NewStore(s.env.db, s.env.secret.Hasher("session")).Create(context.Background(), session.Session{
		UserID: e.UserID, OrgID: directory.SystemOrgID, Method: "passkey", AMR: []string{"hwk", "user", "mfa"}, ACR: "phr",
		AuthTime: now, VerifiedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tablet.setCookie(s.URL, sessionCookieName, token)
	tablet.navigate(s.URL + "/account")
	tablet.waitPath(s.URL, "/account")
	tablet.typeInto("#passkey-name", "Eve's tablet")
	tablet.click("#passkey-create")
	if got := tablet.waitPath(s.URL, "/account"); got.Query().Get("done") != "added" {
		t.Fatalf("adding a passkey on the tablet ended at %s (status %q)", got, tablet.statusText())
	}
	stored := s.passkeysOf(t, e.UserID)
	held := tablet.credentials()
	if len(stored) != 2 || len(held) != 1 {
		t.Fatalf("eve has %d passkeys stored, the tablet holds %d; want 2 and 1", len(stored), len(held))
	}
	i := slices.IndexFunc(stored, func(c passkey.Credential) bool { return bytes.Equal(c.CredentialID, held[0].CredentialID) })
	if i < 0 || stored[i].Name != "Eve's tablet" || stored[i].AddedVia != passkey.AddedViaAccount {
		t.Fatalf("the tablet's passkey is not stored as added from the account page: %+v", stored)
	}
	tabletKey := stored[i]
	tablet.click("nav form button") // Sign out
	tablet.waitPath(s.URL, "/logout")
	if h := tablet.text("h1"); h != "You are signed out" {
		t.Fatalf("sign-out page %q", h)
	}

	// On the laptop, remove the tablet's passkey. Removing needs no fresh check.
	laptop.navigate(s.URL + "/account")
	if n := len(laptop.passkeyRows()); n != 2 {
		t.Fatalf("the laptop's account page lists %d passkeys, want 2", n)
	}
	laptop.click(`[id="passkey-` + tabletKey.ID + `"] form[action$="/remove"] button`)
	if got := laptop.waitPath(s.URL, "/account"); got.Query().Get("done") != "removed" {
		t.Fatalf("removing ended at %s (%q)", got, laptop.text("p.status"))
	}
	if asked := laptop.confirmations(); len(asked) != 1 || !strings.Contains(asked[0], "Eve's tablet") {
		t.Fatalf("confirmation asked %q, want one naming the passkey", asked)
	}
	if notice := laptop.text("p.status"); notice != "Passkey removed." {
		t.Fatalf("notice %q", notice)
	}
	if rows := laptop.passkeyRows(); len(rows) != 1 || rows[0].ID == tabletKey.ID {
		t.Fatalf("after removal the account page lists %+v", rows)
	}

	// The tablet still holds the passkey, but the server no longer accepts it.
	if len(tablet.credentials()) != 1 {
		t.Fatal("the tablet's authenticator lost its passkey")
	}
	tablet.forgetRequests()
	tablet.openSignIn(s.URL, s.URL+"/login")
	tablet.click("#passkey-any")
	msg := tablet.waitStatusError()
	if msg != "This passkey is not registered for this account." {
		t.Fatalf("tablet sign-in error %q", msg)
	}
	tablet.shot("login-error-removed-passkey")
	if !tablet.buttonsEnabled() {
		t.Fatal("after the error the sign-in buttons stay disabled: no way to try again")
	}
	if finish := tablet.sent("/login/finish"); len(finish) != 1 {
		t.Fatalf("%d requests to /login/finish, want the one the server refused", len(finish))
	}
	if loc := tablet.location(); !strings.HasPrefix(loc, s.URL+"/login") {
		t.Fatalf("after the refusal the tablet is at %s", loc)
	}
	if tablet.cookie(s.URL, sessionCookieName) != "" {
		t.Fatal("the refused sign-in left a session cookie")
	}
	tablet.expectSignedOut(s.URL)
}

// TestBrowserOtherDeviceCannotSignIn tries to sign in on a device whose authenticator has no
// passkey for the account.
func TestBrowserOtherDeviceCannotSignIn(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	r, cb := browserRP(t, s)
	s.enrollInBrowser(t, newBrowserDevice(t, "Fay's laptop", deviceBoundKeys), "fay")

	stranger := newBrowserDevice(t, "a borrowed laptop", deviceBoundKeys)
	f := r.browserFlow()
	stranger.openSignIn(s.URL, f.URL)
	stranger.typeInto("#username", "fay")
	stranger.click("#username-form button[type=submit]")
	msg := stranger.waitStatusError()
	if !strings.HasPrefix(msg, "The passkey prompt was closed or timed out") {
		t.Fatalf("error shown %q", msg)
	}
	stranger.shot("login-error-no-passkey")
	if !stranger.buttonsEnabled() {
		t.Fatal("after the error the sign-in buttons stay disabled: no way to try again")
	}
	begin := stranger.begins("/login/begin")
	if len(begin) != 1 || begin[0].Username != "fay" {
		t.Fatalf("begin requests %+v", begin)
	}
	if n := len(stranger.sent("/login/finish")); n != 0 {
		t.Fatalf("%d requests to /login/finish without a passkey", n)
	}
	// The prompt ended the page's autofill request; with no passkey chosen, the page starts it
	// again, once. (Chromium's virtual environment ends an autofill request at once on a device
	// without passkeys, as a browser showing suggestions would not: the page must not start it
	// again after that.)
	stranger.waitAutofillAgain()
	time.Sleep(300 * time.Millisecond) // anything that would follow the error
	if any := stranger.begins("/login/begin-any"); len(any) != 2 || !any[1].Conditional || any[1].Request != begin[0].Request {
		t.Fatalf("begin-any requests %+v, want the page's autofill and one more after the failed prompt", any)
	}
	cb.noCallback(t)
	if loc := stranger.location(); !strings.HasPrefix(loc, s.URL+"/login?request=") {
		t.Fatalf("the browser moved to %s", loc)
	}
	if stranger.cookie(s.URL, sessionCookieName) != "" {
		t.Fatal("a session cookie without a passkey")
	}
	if n := len(stranger.credentials()); n != 0 {
		t.Fatalf("the stranger's authenticator holds %d passkeys", n)
	}
}

// TestBrowserAccountPage renames a passkey, lists the session and signs out.
func TestBrowserAccountPage(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	d := newBrowserDevice(t, "Gus's laptop", deviceBoundKeys)
	e := s.enrollInBrowser(t, d, "gus")
	key := s.passkeysOf(t, e.UserID)[0]

	d.typeInto(`[id="rename-`+key.ID+`"]`, "Work laptop")
	d.click(`[id="passkey-` + key.ID + `"] form[action$="/rename"] button`)
	if got := d.waitPath(s.URL, "/account"); got.Query().Get("done") != "renamed" {
		t.Fatalf("renaming ended at %s", got)
	}
	if notice := d.text("p.status"); notice != "Passkey renamed." {
		t.Fatalf("notice %q", notice)
	}
	if rows := d.passkeyRows(); len(rows) != 1 || rows[0].Name != "Work laptop" {
		t.Fatalf("account page lists %+v after renaming", rows)
	}
	if got := s.passkeysOf(t, e.UserID)[0].Name; got != "Work laptop" {
		t.Fatalf("stored name %q", got)
	}
	d.shot("account-renamed")

	sessions := d.sessionRows()
	if len(sessions) != 1 || !sessions[0].Current || sessions[0].Device != "Chrome on Linux" || sessions[0].How != "passkey" {
		t.Fatalf("sessions table %+v, want this device only", sessions)
	}
	if !strings.Contains(d.text("table:nth-of-type(2) tbody tr td"), "this device") {
		t.Fatalf("the current session is not marked: %q", d.text("table:nth-of-type(2) tbody tr td"))
	}

	token := d.cookie(s.URL, sessionCookieName)
	d.click("nav form button") // Sign out
	d.waitPath(s.URL, "/logout")
	if h := d.text("h1"); h != "You are signed out" {
		t.Fatalf("sign-out page %q", h)
	}
	d.shot("signed-out")
	if d.cookie(s.URL, sessionCookieName) != "" {
		t.Fatal("the session cookie is still there after signing out")
	}
	d.expectSignedOut(s.URL)
	// The session itself has ended, not only the cookie.
	d.setCookie(s.URL, sessionCookieName, token)
	d.expectSignedOut(s.URL)
}
