package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// waitPathPrefix waits until the page is a loaded document of the server under prefix.
func (d *browserDevice) waitPathPrefix(base, prefix string) string {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for {
		loc, _ := evalJS[string](d, `document.readyState === "complete" && !window.__portcullisLeft ? document.location.href : ""`)
		if strings.HasPrefix(loc, base+prefix) {
			return loc
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: waited for %s%s…, the page is %s (status %q)", d.name, base, prefix, d.location(), d.statusText())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// openOrgSignIn is openSignIn for an organisation's sign-in page (/o/{slug}/login): the page is
// loaded with approval off until its autofill request is pending.
func (d *browserDevice) openOrgSignIn(base, slug string) {
	d.t.Helper()
	d.presence(false)
	d.navigate(base + "/o/" + slug + "/login")
	d.waitPath(base, "/o/"+slug+"/login")
	deadline := time.Now().Add(browserStep)
	for {
		calls := d.webauthnCalls()
		if len(calls) == 1 && calls[0].Mediation == "conditional" && calls[0].State == "pending" {
			break
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: the sign-in page did not start one autofill request: %+v", d.name, calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond)
	d.presence(true)
}

// passkeyRefused checks that d's passkey no longer signs in.
func (d *browserDevice) passkeyRefused(base string) {
	d.t.Helper()
	before := d.cookie(base, sessionCookieName) // the ended session's cookie, if the browser kept it
	d.openSignIn(base, base+"/login")
	d.click("#passkey-any")
	if msg := d.waitStatusError(); msg == "" {
		d.t.Fatalf("%s: the old passkey was refused without a message", d.name)
	}
	if d.cookie(base, sessionCookieName) != before {
		d.t.Fatalf("%s: a refused passkey started a session", d.name)
	}
	d.expectSignedOut(base)
}

// recoverOnDevice opens a recovery link on d and creates its passkey there; d ends signed in.
func (s *testServer) recoverOnDevice(t *testing.T, d *browserDevice, link string) {
	t.Helper()
	if st := d.navigate(link); st != http.StatusOK {
		t.Fatalf("%s: recovery page %d", d.name, st)
	}
	d.typeInto("#passkey-name", d.name)
	d.click("#passkey-create")
	if got := d.waitPath(s.URL, "/account"); got.Query().Get("done") != "recovered" {
		t.Fatalf("%s: recovery ended at %s (status %q)", d.name, got, d.statusText())
	}
}

// An admin recovers a user whose laptop was lost: the laptop's passkey stops working, the user
// creates a passkey on a new phone through the shown link and signs in with it; the link then
// no longer works, and an expired link says so.
func TestBrowserAdminRecovery(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	laptop := newBrowserDevice(t, "Gus's laptop", deviceBoundKeys)
	e := s.enrollInBrowser(t, laptop, "gus")

	res, err := s.recoverCLI(t, "--org", "system", "--username", "gus", "--deliver", "show")
	if err != nil || res.PasskeysRemoved != 1 || res.SessionsEnded != 1 || res.RecoveryURL == "" {
		t.Fatalf("users recover: %+v, %v", res, err)
	}
	// The laptop was signed out at once, and its passkey no longer signs in.
	laptop.expectSignedOut(s.URL)
	laptop.passkeyRefused(s.URL)

	phone := newBrowserDevice(t, "Gus's new phone", syncedKeys)
	s.recoverOnDevice(t, phone, res.RecoveryURL)
	stored := s.passkeysOf(t, e.UserID)
	held := phone.credentials()
	if len(stored) != 1 || len(held) != 1 || stored[0].AddedVia != passkey.AddedViaRecovery ||
		!bytes.Equal(stored[0].CredentialID, held[0].CredentialID) || stored[0].Name != "Gus's new phone" {
		t.Fatalf("after recovery: stored %+v, the phone holds %d", stored, len(held))
	}
	if notice := phone.text("p.status"); !strings.Contains(notice, "recovered") {
		t.Fatalf("notice %q", notice)
	}
	phone.shot("account-after-recovery")

	// The new passkey signs in on its own.
	phone.click("nav form button") // Sign out
	phone.waitPath(s.URL, "/logout")
	phone.openSignIn(s.URL, s.URL+"/login")
	phone.click("#passkey-any")
	phone.waitPath(s.URL, "/account")
	// The sign-in recorded its passkey, which is what "I lost this device" goes by.
	var used []string
	if err := s.env.db.Raw(`SELECT passkey_id FROM auth_sessions WHERE user_id = ? AND ended_at IS NULL`, e.UserID).Scan(&used).Error; err != nil ||
		len(used) != 1 || used[0] != stored[0].ID {
		t.Fatalf("live sessions' passkeys %v, want [%s] (%v)", used, stored[0].ID, err)
	}

	// The used link says so, on any device.
	other := newBrowserDevice(t, "Someone else", deviceBoundKeys)
	if st := other.navigate(res.RecoveryURL); st != http.StatusGone {
		t.Fatalf("used link: %d", st)
	}
	if msg := other.text("main"); !strings.Contains(msg, "expired or has been used") || !strings.Contains(msg, "Contact your administrator") {
		t.Fatalf("used link page: %q", msg)
	}

	// An expired link says the same.
	res, err = s.recoverCLI(t, "--org", "system", "--username", "gus", "--keep-passkeys", "--valid-for", "1m")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.env.db.Exec(`UPDATE enrollment_links SET expires_at = ? WHERE purpose = 'recovery' AND used_at IS NULL`,
		time.Now().Add(-time.Second).UTC()).Error; err != nil {
		t.Fatal(err)
	}
	if st := other.navigate(res.RecoveryURL); st != http.StatusGone || !strings.Contains(other.text("main"), "Contact your administrator") {
		t.Fatalf("expired link: %d %q", st, other.text("main"))
	}
	other.shot("recovery-link-expired")
}

// Self-service recovery codes: the organisation allows them; the user creates them on the
// account page, loses the laptop, uses a code on a new phone (from the sign-in page's link),
// creates a passkey there and is signed in; the code cannot be used twice; from the phone, "I
// lost this device" ends the laptop's session; with codes turned off, a code is refused.
func TestBrowserRecoveryCodes(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	for _, args := range [][]string{{"orgs", "create", "--slug", "acme", "--name", "Acme"},
		{"orgs", "set-policy", "--passkeys", "optional", "--recovery-codes=true", "--yes", "acme"}} {
		if _, err := s.cli(args...); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.cli("users", "create", "--org", "acme", "--username", "hal", "--display-name", "Hal", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var hal cliEnrollment
	if err := json.Unmarshal([]byte(out), &hal); err != nil {
		t.Fatal(err)
	}
	laptop := newBrowserDevice(t, "Hal's laptop", deviceBoundKeys)
	laptop.navigate(hal.EnrollmentURL)
	laptop.click("#passkey-create")
	laptop.waitPath(s.URL, "/account")
	if notice := laptop.text("#recovery-codes-notice"); !strings.Contains(notice, "You have none yet") {
		t.Fatalf("no recovery-codes notice on the account page: %q", notice)
	}
	laptop.click("#recovery-codes-create")
	laptop.waitPath(s.URL, "/account/recovery-codes")
	codes := mustEval[[]string](laptop, `Array.from(document.querySelectorAll("#recovery-codes code")).map(function (e) { return e.textContent; })`)
	if len(codes) != 10 {
		t.Fatalf("%d codes shown, want 10", len(codes))
	}
	laptop.shot("recovery-codes")
	laptop.navigate(s.URL + "/account")
	if left := laptop.text("#recovery-codes-left"); !strings.Contains(left, "10 unused") {
		t.Fatalf("account page after creating codes: %q", left)
	}
	laptopKey := s.passkeysOf(t, hal.UserID)[0]

	// The laptop is lost. On a new phone, from the organisation's sign-in page.
	phone := newBrowserDevice(t, "Hal's phone", syncedKeys)
	useCode := func(d *browserDevice, code string) {
		d.openOrgSignIn(s.URL, "acme")
		d.click("#recover-code-link")
		d.waitPath(s.URL, "/o/acme/recover-code")
		d.typeInto("#username", "hal")
		d.typeInto("#code", code)
		d.click("#recover-code-submit")
	}
	useCode(phone, strings.ToLower(codes[2]))
	phone.waitPathPrefix(s.URL, "/recover/")
	phone.typeInto("#passkey-name", "Hal's phone")
	phone.click("#passkey-create")
	if got := phone.waitPath(s.URL, "/account"); got.Query().Get("done") != "recovered" {
		t.Fatalf("recovery by code ended at %s", got)
	}
	stored := s.passkeysOf(t, hal.UserID)
	if len(stored) != 2 || !slices.ContainsFunc(stored, func(c passkey.Credential) bool {
		return c.AddedVia == passkey.AddedViaRecovery && c.Name == "Hal's phone"
	}) {
		t.Fatalf("after recovery by code: %+v", stored)
	}
	if left := phone.text("#recovery-codes-left"); !strings.Contains(left, "9 unused") {
		t.Fatalf("codes left: %q", left)
	}

	// The same code again, on another device: refused, with the neutral message.
	thief := newBrowserDevice(t, "Someone else", deviceBoundKeys)
	useCode(thief, codes[2])
	thief.waitPath(s.URL, "/o/acme/recover-code")
	if msg := thief.text("#status"); !strings.Contains(msg, "do not match") {
		t.Fatalf("a used code: %q", msg)
	}

	// From the phone, "I lost this device" for the laptop's passkey ends the laptop's session.
	phone.click(`[id="passkey-` + laptopKey.ID + `"] form[action$="/lost"] button`)
	if got := phone.waitPath(s.URL, "/account"); got.Query().Get("done") != "lost" {
		t.Fatalf("lost device ended at %s (%q)", got, phone.text("p.status"))
	}
	if asked := phone.confirmations(); len(asked) != 1 || !strings.Contains(asked[0], laptopKey.Name) {
		t.Fatalf("confirmation %q", asked)
	}
	if rows := phone.passkeyRows(); len(rows) != 1 || rows[0].ID == laptopKey.ID {
		t.Fatalf("after the loss the phone lists %+v", rows)
	}
	laptop.expectSignedOut(s.URL)
	phone.navigate(s.URL + "/account")
	phone.waitPath(s.URL, "/account") // the phone's own session is untouched

	// Codes turned off: an unused code is refused with the same words.
	if _, err := s.cli("orgs", "set-policy", "--recovery-codes=false", "--yes", "acme"); err != nil {
		t.Fatal(err)
	}
	useCode(thief, codes[5])
	thief.waitPath(s.URL, "/o/acme/recover-code")
	if msg := thief.text("#status"); !strings.Contains(msg, "do not match") {
		t.Fatalf("a code while the organisation does not allow them: %q", msg)
	}
	var n int64
	if err := s.env.db.Raw(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, hal.UserID).Scan(&n).Error; err != nil || n != 9 {
		t.Fatalf("unused codes %d, want 9 (a refused code is not used up): %v", n, err)
	}
}
