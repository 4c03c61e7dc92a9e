package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// passkeyRow is a row of the account page's passkey table.
type passkeyRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
}

// passkeyRows reads the passkey table of the account page.
func (d *browserDevice) passkeyRows() []passkeyRow {
	d.t.Helper()
	return mustEval[[]passkeyRow](d, `Array.from(document.querySelectorAll('tr[id^="passkey-"]')).map(function (tr) {
		var c = tr.cells;
		return { id: tr.id.slice("passkey-".length), name: c[0].textContent.trim(), provider: c[1].textContent.trim(), kind: c[2].textContent.trim() };
	})`)
}

// sessionRow is a row of the account page's table of sessions.
type sessionRow struct {
	Device  string `json:"device"`
	Current bool   `json:"current"`
	How     string `json:"how"`
}

// sessionRows reads the "Where you're signed in" table of the account page.
func (d *browserDevice) sessionRows() []sessionRow {
	d.t.Helper()
	return mustEval[[]sessionRow](d, `(function () {
		var h = Array.from(document.querySelectorAll("h2")).find(function (e) { return e.textContent.indexOf("signed in") >= 0; });
		var table = h && h.nextElementSibling;
		if (!table || table.tagName !== "TABLE") { return []; }
		return Array.from(table.tBodies[0].rows).map(function (tr) {
			var badge = tr.cells[0].querySelector(".badge");
			return { device: tr.cells[0].firstChild.textContent.trim(), current: !!badge && badge.textContent.trim() === "this device",
				how: tr.cells[3].textContent.trim() };
		});
	})()`)
}

// passkeysOf returns the user's passkeys as the server stores them.
func (s *testServer) passkeysOf(t *testing.T, userID string) []passkey.Credential {
	t.Helper()
	creds, err := s.app.passkeys.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// checkAccountShows checks that the account page lists exactly the stored passkeys of the user,
// with their provider and kind, and the current session as "this device"; and that the device's
// authenticator holds each passkey made on it (the ids in mine).
func checkAccountShows(t *testing.T, s *testServer, d *browserDevice, userID string, mine int) []passkey.Credential {
	t.Helper()
	stored := s.passkeysOf(t, userID)
	rows := d.passkeyRows()
	if len(rows) != len(stored) {
		t.Fatalf("account page lists %d passkeys, the server stores %d: %+v", len(rows), len(stored), rows)
	}
	for _, c := range stored {
		i := slices.IndexFunc(rows, func(r passkeyRow) bool { return r.ID == c.ID })
		if i < 0 {
			t.Fatalf("passkey %s (%s) is not on the account page: %+v", c.ID, c.Name, rows)
		}
		r := rows[i]
		kind := "Device-bound"
		if c.Synced() {
			kind = "Synced"
		}
		if r.Provider == "" || r.Provider != c.Provider || r.Name != c.Name || r.Kind != kind {
			t.Fatalf("account page row %+v, stored provider %q name %q kind %s", r, c.Provider, c.Name, kind)
		}
	}
	sessions := d.sessionRows()
	current := slices.IndexFunc(sessions, func(r sessionRow) bool { return r.Current })
	if current < 0 || sessions[current].How != "passkey" || sessions[current].Device != "Chrome on Linux" {
		t.Fatalf("sessions table %+v: want this device (Chrome on Linux), signed in with a passkey", sessions)
	}
	held := d.credentials()
	if len(held) != mine {
		t.Fatalf("%s's authenticator holds %d passkeys, want %d", d.name, len(held), mine)
	}
	for _, h := range held {
		if !h.IsResidentCredential || h.RpID != "localhost" {
			t.Fatalf("authenticator credential: resident %v, RP ID %q; want a discoverable credential for localhost", h.IsResidentCredential, h.RpID)
		}
		if !slices.ContainsFunc(stored, func(c passkey.Credential) bool { return bytes.Equal(c.CredentialID, h.CredentialID) }) {
			t.Fatalf("the authenticator's credential %x is not stored for the user", h.CredentialID)
		}
	}
	return stored
}

// TestBrowserSetupFirstAdmin creates the first administrator from `portcullis setup-link` in
// Chromium: a real passkey on a virtual platform authenticator, then the account page.
func TestBrowserSetupFirstAdmin(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		link := s.cliSetupLink(t)
		d := newBrowserDevice(t, "Admin laptop", deviceBoundKeys)
		if status := d.navigate(link); status != http.StatusOK {
			t.Fatalf("setup page: HTTP %d", status)
		}
		if h := d.text("h1"); h != "Set up Portcullis" {
			t.Fatalf("setup page heading %q", h)
		}
		d.typeInto("#setup-username", "admin")
		d.typeInto("#setup-name", "Ada Admin")
		d.typeInto("#passkey-name", "Admin laptop")
		d.shot("setup")
		d.click("#passkey-create")
		d.waitPath(s.URL, "/account")
		d.shot("account")

		if got := d.text("main p"); got != "Ada Admin · admin" {
			t.Fatalf("account page names %q, want the new administrator", got)
		}
		u, err := directory.NewStore(s.env.db).GetUserByUsername(context.Background(), directory.SystemOrgID, "admin")
		if err != nil {
			t.Fatalf("the administrator was not created: %v", err)
		}
		if !slices.Contains(u.Roles, "admin") || u.DisplayName != "Ada Admin" {
			t.Fatalf("created user %+v: want the admin role and the name entered", u)
		}
		stored := checkAccountShows(t, s, d, u.ID, 1)
		if stored[0].Name != "Admin laptop" || stored[0].AddedVia != passkey.AddedViaSetup || !stored[0].UserVerified {
			t.Fatalf("stored passkey %+v", stored[0])
		}
		if held := d.credentials(); held[0].UserName != "admin" {
			t.Fatalf("the authenticator's passkey is for %q, want admin", held[0].UserName)
		}
		if d.cookie(s.URL, "portcullis_session") == "" {
			t.Fatal("no session cookie after setup")
		}

		// An administrator exists now: no more setup links, and the used one is dead.
		if out, err := s.cli("setup-link"); err == nil || !strings.Contains(err.Error(), "administrator already exists") {
			t.Fatalf("second setup-link: %q, %v; want an error that an administrator already exists", out, err)
		}
		if status := d.navigate(link); status != http.StatusGone {
			t.Fatalf("used setup link: HTTP %d, want 410", status)
		}
		if h := d.text("h1"); h != "This link no longer works" {
			t.Fatalf("used setup link shows %q", h)
		}
		d.shot("error-used-setup-link")
	})
}

// TestBrowserEnrollmentLink enrolls a user from the link of `portcullis users create`.
func TestBrowserEnrollmentLink(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	e := s.cliCreateUser(t, "bob", "Bob Builder")
	d := newBrowserDevice(t, "Bob's phone", syncedKeys)
	if status := d.navigate(e.EnrollmentURL); status != http.StatusOK {
		t.Fatalf("enrollment page: HTTP %d", status)
	}
	if h, who := d.text("h1"), d.text("main p strong"); h != "Welcome, Bob Builder" || who != "bob" {
		t.Fatalf("enrollment page: heading %q, user %q", h, who)
	}
	d.typeInto("#passkey-name", "Bob's phone")
	d.shot("enroll")
	d.click("#passkey-create")
	d.waitPath(s.URL, "/account")

	if got := d.text("main p"); got != "Bob Builder · bob" {
		t.Fatalf("account page names %q", got)
	}
	stored := checkAccountShows(t, s, d, e.UserID, 1)
	if stored[0].Name != "Bob's phone" || stored[0].AddedVia != passkey.AddedViaEnrollment || !stored[0].Synced() {
		t.Fatalf("stored passkey %+v: want the name entered, added by enrollment, synced", stored[0])
	}

	// The link is used up: on this device and on any other.
	if status := d.navigate(e.EnrollmentURL); status != http.StatusGone || d.text("h1") != "This link no longer works" {
		t.Fatalf("used enrollment link: HTTP %d, %q", status, d.text("h1"))
	}
	other := newBrowserDevice(t, "someone else", deviceBoundKeys)
	if status := other.navigate(e.EnrollmentURL); status != http.StatusGone {
		t.Fatalf("used enrollment link on another device: HTTP %d", status)
	}
	if n := len(other.credentials()); n != 0 {
		t.Fatalf("a dead link created %d passkeys", n)
	}
	if n := len(s.passkeysOf(t, e.UserID)); n != 1 {
		t.Fatalf("bob has %d passkeys after the link was reused, want 1", n)
	}
}
