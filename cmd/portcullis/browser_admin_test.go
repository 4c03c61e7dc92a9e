package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// apSelect sets a select (or any field) to value as a person choosing it would.
func (d *browserDevice) apSelect(selector, value string) {
	d.t.Helper()
	mustEval[bool](d, `(function(){var e=document.querySelector(`+jsString(selector)+`);e.value=`+jsString(value)+
		`;e.dispatchEvent(new Event("change",{bubbles:true}));return true})()`)
}

// Journey 6 in the browser: an organisation's admin signs in with a passkey, adds an app from
// the mobile template and a user, who enrols from the link on a phone and signs in to the app;
// the admin reviews the impact of a mandatory policy and applies it, confirms it's them with the
// passkey, starts the user's recovery, the user recovers on a new phone, the admin revokes that
// passkey and reads the audit trail of it all.
func TestBrowserAdminPages(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	acme := s.createOrg(t, "acme", "optional")
	out, err := s.cli("users", "create", "--org", "acme", "--username", "ada", "--display-name", "Ada Admin",
		"--role", "admin", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ada cliEnrollment
	if err := json.Unmarshal([]byte(out), &ada); err != nil {
		t.Fatal(err)
	}
	laptop := newBrowserDevice(t, "Ada's laptop", deviceBoundKeys)
	laptop.navigate(ada.EnrollmentURL)
	laptop.click("#passkey-create")
	laptop.waitPath(s.URL, "/account")
	// A fresh sign-in with the passkey at the organisation's sign-in page.
	laptop.deleteCookie(s.URL, sessionCookieName)
	laptop.openOrgSignIn(s.URL, "acme")
	laptop.click("#passkey-any")
	laptop.waitPath(s.URL, "/account")
	admin := s.URL + "/o/acme/admin"
	laptop.navigate(admin)
	laptop.waitPath(s.URL, "/o/acme/admin")
	if h := laptop.text("h1"); !strings.Contains(h, "overview") {
		t.Fatalf("overview heading %q", h)
	}
	laptop.shot("admin-overview")

	// An app from the mobile template, with a loopback redirect (RFC 8252 section 7.3).
	cb := newRPCallback(t)
	laptop.navigate(admin + "/apps")
	laptop.click("#template-mobile")
	laptop.waitPath(s.URL, "/o/acme/admin/apps/new")
	laptop.typeInto("#name", "Acme mobile")
	laptop.apSelect("#redirect_uris", cb.URL)
	laptop.click("details summary")
	laptop.click(`input[name="first_party"]`)
	laptop.click("#app-create")
	laptop.waitPath(s.URL, "/o/acme/admin/apps")
	clientID := laptop.text("#client-id")
	if clientID == "" || laptop.text("#client-secret") != "" || laptop.text("#discovery-url") != s.URL+"/.well-known/openid-configuration" {
		t.Fatalf("app page: id %q, discovery %q", clientID, laptop.text("#discovery-url"))
	}
	laptop.shot("admin-app-created")
	app := newRP(t, s, registered{ID: clientID}, oidc.ScopeOpenID, "profile")
	app.config.RedirectURL = cb.URL

	// A user, whose enrollment link is shown once.
	laptop.navigate(admin + "/users")
	laptop.click("#user-new")
	laptop.waitPath(s.URL, "/o/acme/admin/users/new")
	laptop.typeInto("#username", "bea")
	laptop.typeInto("#display_name", "Bea")
	laptop.click("#user-create")
	laptop.waitPath(s.URL, "/o/acme/admin/users")
	link := laptop.text("#issued-link")
	if !strings.HasPrefix(link, s.URL+"/enroll/") {
		t.Fatalf("enrollment link %q", link)
	}
	bea := s.user(t, acme.ID, "bea")

	// Bea enrols on her phone and signs in to the app with the new passkey.
	phone := newBrowserDevice(t, "Bea's phone", syncedKeys)
	phone.navigate(link)
	phone.click("#passkey-create")
	phone.waitPath(s.URL, "/account")
	phone.deleteCookie(s.URL, sessionCookieName)
	f := app.browserFlow()
	phone.openSignIn(s.URL, f.URL)
	phone.click("#passkey-any")
	if c := app.redeemBrowserCode(t, f, cb.waitCode(t, phone, f)); c.Subject != bea.ID || c.ACR != "phr" {
		t.Fatalf("Bea's sign-in to the app: %+v", c)
	}

	// The policy goes mandatory after the admin has seen who it affects.
	laptop.navigate(admin + "/policy")
	laptop.apSelect("#passkeys", "mandatory")
	laptop.click("#policy-preview")
	laptop.waitPath(s.URL, "/o/acme/admin/policy/preview")
	if impact := laptop.text("#impact"); impact == "" || laptop.text("#preview-mode") != "mandatory" {
		t.Fatalf("impact %q", impact)
	}
	laptop.shot("admin-policy-preview")
	if o, _ := directory.NewStore(s.env.db).GetOrg(t.Context(), acme.ID); o.Policy.Mode != policy.Optional {
		t.Fatalf("the preview changed the policy to %s", o.Policy.Mode)
	}
	laptop.click("#policy-apply")
	if got := laptop.waitPath(s.URL, "/o/acme/admin/policy"); got.Query().Get("done") != "saved" {
		t.Fatalf("policy apply ended at %s (%q)", got, laptop.text("main"))
	}
	if o, _ := directory.NewStore(s.env.db).GetOrg(t.Context(), acme.ID); o.Policy.Mode != policy.Mandatory {
		t.Fatalf("policy %s after apply", o.Policy.Mode)
	}

	// Minutes later the passkey check is stale: recovery is refused until Ada confirms it's her.
	if err := s.env.db.Exec(`UPDATE auth_sessions SET verified_at = ? WHERE user_id = ?`,
		time.Now().Add(-10*time.Minute).UTC(), ada.UserID).Error; err != nil {
		t.Fatal(err)
	}
	userPage := "/o/acme/admin/users/" + bea.ID
	laptop.navigate(s.URL + userPage)
	laptop.click("#recovery-start")
	laptop.waitPath(s.URL, userPage+"/recovery")
	if h := laptop.text("h1"); !strings.Contains(h, "Confirm it's you") {
		t.Fatalf("stale recovery: %q", h)
	}
	laptop.navigate(s.URL + userPage)
	laptop.click("#passkey-verify")
	laptop.waitPath(s.URL, userPage)
	if laptop.text("#fresh-check") == "" {
		t.Fatalf("no fresh check after Confirm it's you (status %q)", laptop.statusText())
	}
	laptop.click("#recovery-start")
	laptop.waitPath(s.URL, userPage+"/recovery")
	recoveryLink := laptop.text("#issued-link")
	if !strings.HasPrefix(recoveryLink, s.URL+"/recover/") {
		t.Fatalf("recovery link %q (%q)", recoveryLink, laptop.text("main"))
	}
	laptop.shot("admin-recovery-started")

	// Bea recovers on a new phone.
	newPhone := newBrowserDevice(t, "Bea's new phone", syncedKeys)
	s.recoverOnDevice(t, newPhone, recoveryLink)
	keys := s.passkeysOf(t, bea.ID)
	if len(keys) != 1 || keys[0].Name != "Bea's new phone" {
		t.Fatalf("after recovery: %+v", keys)
	}

	// The admin revokes that passkey.
	laptop.navigate(s.URL + userPage)
	laptop.click(`[id="passkey-` + keys[0].ID + `"] button`)
	if got := laptop.waitPath(s.URL, userPage); got.Query().Get("done") != "passkey" {
		t.Fatalf("revoke ended at %s", got)
	}
	if left := s.passkeysOf(t, bea.ID); len(left) != 0 {
		t.Fatalf("passkeys left %+v", left)
	}
	if asked := laptop.confirmations(); len(asked) < 3 {
		t.Fatalf("confirmations asked: %q", asked)
	}

	// The audit trail of it all.
	laptop.navigate(admin + "/audit?user=bea")
	trail := laptop.text("#events")
	for _, action := range []string{"user.created", "passkey.added", "signin.succeeded", "recovery.started", "passkey.removed"} {
		if !strings.Contains(trail, action) {
			t.Errorf("Bea's audit trail lacks %s: %s", action, trail)
		}
	}
	laptop.navigate(admin + "/audit?action=org.policy_changed")
	if trail := laptop.text("#events"); !strings.Contains(trail, "user:"+ada.UserID) {
		t.Errorf("the policy change is not in the log as Ada's: %s", trail)
	}
	laptop.navigate(admin + "/audit?action=client.created")
	if trail := laptop.text("#events"); !strings.Contains(trail, "Acme mobile") {
		t.Errorf("the app is not in the log: %s", trail)
	}
	laptop.shot("admin-audit")
}
