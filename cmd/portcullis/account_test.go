package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/passkey"
)

// End-to-end tests of the account page over HTTP: passkeys (rename, remove, add after a fresh
// passkey check), sessions (end one, end all others) and sign-out, each audited.

// pkForm posts an account form with the page's CSRF token (csrf "" sends none) and checks the
// 303 to want; it then follows the redirect and returns the page, unescaped.
func pkForm(t *testing.T, s *testServer, b *browser, path, csrf string, form url.Values, want string) string {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if csrf != "" {
		form.Set("csrf_token", csrf)
	}
	resp, body := b.postForm(s.URL+path, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("POST %s: %d to %q, want 303 to %q: %s", path, resp.StatusCode, resp.Header.Get("Location"), want, body)
	}
	if want == "/login" {
		return ""
	}
	resp, body = b.get(s.URL + want)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", want, resp.StatusCode)
	}
	return html.UnescapeString(body)
}

// pkWantSignedOut checks the browser's session no longer opens the account page.
func pkWantSignedOut(t *testing.T, s *testServer, b *browser) {
	t.Helper()
	resp, _ := b.get(s.URL + "/account")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET /account: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// pkPasskeyName returns the name of a passkey (by our id) of a user, "" if it is gone.
func pkPasskeyName(t *testing.T, s *testServer, userID, id string) string {
	t.Helper()
	for _, c := range pkPasskeys(t, s, userID) {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

const (
	pkNoticeRenamed = "Passkey renamed."
	pkErrName       = "A passkey name must be 1 to 64 characters."
	pkErrMissing    = "That passkey or session no longer exists."
	pkErrExpired    = "The form expired. Please try again."
	pkErrLast       = "You cannot remove your only passkey: you would not be able to sign in. Add another passkey first."
)

func TestAccount(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		erin := pkEnroll(t, s, "erin", newSoftKey(s.URL, false), "Laptop")
		frank := pkEnroll(t, s, "frank", newSoftKey(s.URL, false), "Frank's key")
		b := erin.Browser
		pk1 := pkPasskeys(t, s, erin.ID)[0].ID
		frankPK := pkPasskeys(t, s, frank.ID)[0].ID

		t.Run("signed out", func(t *testing.T) {
			nb := newBrowser(t)
			pkWantSignedOut(t, s, nb)
			_, csrf := pkPage(t, nb, s.URL+"/login")
			// Forms go to sign in and change nothing; script calls get JSON.
			pkForm(t, s, nb, "/account/passkeys/"+pk1+"/rename", csrf, url.Values{"name": {"Stolen"}}, "/login")
			pkForm(t, s, nb, "/account/passkeys/"+pk1+"/remove", csrf, nil, "/login")
			if got := pkPasskeyName(t, s, erin.ID, pk1); got != "Laptop" {
				t.Fatalf("passkey name %q after a signed-out rename", got)
			}
			for _, path := range []string{"/account/passkeys/begin", "/account/passkeys/finish", "/account/verify/begin", "/account/verify/finish"} {
				pkWantError(t, path, pkPost(t, nb, s.URL+path, csrf, map[string]any{}), http.StatusUnauthorized, pkSignedOutJSON)
			}
		})

		page, csrf := pkPage(t, b, s.URL+"/account")
		if !strings.Contains(page, `<tr id="passkey-`+pk1+`">`) || strings.Contains(page, frankPK) {
			t.Fatalf("account page lists the wrong passkeys:\n%s", page)
		}

		t.Run("rename", func(t *testing.T) {
			renamed := 0
			for _, tc := range []struct {
				name, id, newName, redirect, message string
				ok                                   bool
			}{
				{"valid", pk1, "Work laptop", "/account?done=renamed", pkNoticeRenamed, true},
				{"spaces trimmed", pk1, "  Desk  ", "/account?done=renamed", pkNoticeRenamed, true},
				{"empty", pk1, "   ", "/account?error=name", pkErrName, false},
				{"65 characters", pk1, strings.Repeat("x", 65), "/account?error=name", pkErrName, false},
				{"another user's passkey", frankPK, "Mine now", "/account?error=missing", pkErrMissing, false},
				{"unknown passkey", "no-such-passkey", "Ghost", "/account?error=missing", pkErrMissing, false},
				{"without the CSRF token", pk1, "Forged", "/account?error=expired", pkErrExpired, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					token := csrf
					if tc.name == "without the CSRF token" {
						token = ""
					}
					before := map[string]string{pk1: pkPasskeyName(t, s, erin.ID, pk1), frankPK: pkPasskeyName(t, s, frank.ID, frankPK)}
					page := pkForm(t, s, b, "/account/passkeys/"+tc.id+"/rename", token, url.Values{"name": {tc.newName}}, tc.redirect)
					if !strings.Contains(page, tc.message) {
						t.Fatalf("page after the rename does not say %q:\n%s", tc.message, page)
					}
					after := map[string]string{pk1: pkPasskeyName(t, s, erin.ID, pk1), frankPK: pkPasskeyName(t, s, frank.ID, frankPK)}
					want := before
					if tc.ok {
						renamed++
						want = map[string]string{pk1: strings.TrimSpace(tc.newName), frankPK: before[frankPK]}
						if !strings.Contains(page, `value="`+strings.TrimSpace(tc.newName)+`"`) {
							t.Fatalf("the account page does not show the new name:\n%s", page)
						}
					}
					if after[pk1] != want[pk1] || after[frankPK] != want[frankPK] {
						t.Fatalf("names after: %v, want %v", after, want)
					}
					ev := pkWantAudit(t, s, "passkey.renamed", erin.ID, renamed)
					if tc.ok && (ev.Details()["passkey"] != pk1 || ev.Details()["name"] != strings.TrimSpace(tc.newName) || ev.Actor != "user:"+erin.ID) {
						t.Fatalf("passkey.renamed event %+v", ev)
					}
				})
			}
			pkWantAudit(t, s, "passkey.renamed", frank.ID, 0)
		})

		t.Run("remove the only passkey", func(t *testing.T) {
			page := pkForm(t, s, b, "/account/passkeys/"+pk1+"/remove", csrf, nil, "/account?error=last")
			if !strings.Contains(page, pkErrLast) || !strings.Contains(page, "cannot remove your only passkey") {
				t.Fatalf("page after removing the only passkey:\n%s", page)
			}
			page = pkForm(t, s, b, "/account/passkeys/"+frankPK+"/remove", csrf, nil, "/account?error=missing")
			if !strings.Contains(page, pkErrMissing) {
				t.Fatalf("page after removing another user's passkey:\n%s", page)
			}
			if len(pkPasskeys(t, s, erin.ID)) != 1 || len(pkPasskeys(t, s, frank.ID)) != 1 {
				t.Fatal("a refused removal removed a passkey")
			}
			pkWantAudit(t, s, "passkey.removed", erin.ID, 0)
		})

		key2 := newSoftKey(s.URL, true)
		var pk2 string
		t.Run("add a passkey", func(t *testing.T) {
			sess := pkSession(t, s, b)
			// The enrollment's passkey check is fresh, but not for long: make it six minutes old.
			if err := s.env.db.Conn(ctx).Exec(`UPDATE auth_sessions SET verified_at = ? WHERE id = ?`,
				time.Now().UTC().Add(-6*time.Minute), sess.ID).Error; err != nil {
				t.Fatal(err)
			}
			page, _ := pkPage(t, b, s.URL+"/account")
			if !strings.Contains(page, `id="passkey-verify"`) || strings.Contains(page, `id="passkey-create"`) {
				t.Fatalf("with a stale check, the page should offer the check, not the add:\n%s", page)
			}
			pkWantError(t, "add begin with a stale check", pkPost(t, b, s.URL+"/account/passkeys/begin", csrf, map[string]any{}),
				http.StatusForbidden, pkAccountStale)
			pkWantError(t, "add finish with a stale check",
				pkPost(t, b, s.URL+"/account/passkeys/finish", csrf, map[string]any{"credential": json.RawMessage(`{}`)}),
				http.StatusForbidden, pkAccountStale)
			pkWantError(t, "check begin without the CSRF header", pkPost(t, b, s.URL+"/account/verify/begin", "", map[string]any{}),
				http.StatusForbidden, pkCSRFError)

			// A passkey of another user does not confirm it's erin.
			vb := pkPost(t, b, s.URL+"/account/verify/begin", csrf, map[string]any{})
			pkWantOK(t, "check begin", vb)
			vf := pkPost(t, b, s.URL+"/account/verify/finish", csrf, map[string]any{"credential": json.RawMessage(frank.Key.get(t, vb.Body, true))})
			pkWantError(t, "check with frank's passkey", vf, http.StatusUnauthorized, "That passkey did not confirm it's you. Try again.")
			pkWantAudit(t, s, "passkey.check_failed", erin.ID, 1)
			pkWantError(t, "add begin after a failed check", pkPost(t, b, s.URL+"/account/passkeys/begin", csrf, map[string]any{}),
				http.StatusForbidden, pkAccountStale)

			// A fresh check with erin's passkey.
			vb = pkPost(t, b, s.URL+"/account/verify/begin", csrf, map[string]any{})
			pkWantOK(t, "check begin", vb)
			if vb.Str("message") != "Confirm it's you with your passkey." ||
				!slices.Equal(pkCredentialIDs(pkPublicKey(t, vb), "allowCredentials"), []string{erin.Key.ID()}) {
				t.Fatalf("check begin: %s", vb.Body)
			}
			vf = pkPost(t, b, s.URL+"/account/verify/finish", csrf, map[string]any{"credential": json.RawMessage(erin.Key.get(t, vb.Body, false))})
			pkWantOK(t, "check finish", vf)
			if vf.Str("redirect") != "/account" {
				t.Fatalf("check finish redirect %q", vf.Str("redirect"))
			}
			if ev := pkWantAudit(t, s, "passkey.checked", erin.ID, 1); ev.Details()["sid"] != sess.ID {
				t.Fatalf("passkey.checked %+v", ev)
			}
			if v := pkSession(t, s, b).VerifiedAt; time.Since(v) > time.Minute {
				t.Fatalf("session verified at %v after the check", v)
			}
			page, _ = pkPage(t, b, s.URL+"/account")
			if !strings.Contains(page, `id="passkey-create"`) {
				t.Fatalf("after the check, the page should offer to add a passkey:\n%s", page)
			}

			// Add: the options exclude erin's passkey, so her authenticator refuses to make a second.
			ab := pkPost(t, b, s.URL+"/account/passkeys/begin", csrf, map[string]any{})
			pkWantOK(t, "add begin", ab)
			opts := pkPublicKey(t, ab)
			if u, _ := opts["user"].(map[string]any); u["name"] != "erin" ||
				!slices.Equal(pkCredentialIDs(opts, "excludeCredentials"), []string{erin.Key.ID()}) {
				t.Fatalf("add options %v", opts)
			}
			if _, err := erin.Key.Create(ab.Body); err == nil || !strings.HasPrefix(err.Error(), "InvalidStateError") {
				t.Fatalf("the existing passkey's authenticator made a second passkey (err %v)", err)
			}
			af := pkPost(t, b, s.URL+"/account/passkeys/finish", csrf, map[string]any{"credential": json.RawMessage(key2.create(t, ab.Body)), "name": "Phone"})
			pkWantOK(t, "add finish", af)
			if af.Str("redirect") != "/account?done=added" {
				t.Fatalf("add finish redirect %q", af.Str("redirect"))
			}
			var names []string
			for _, c := range pkPasskeys(t, s, erin.ID) {
				names = append(names, c.Name)
				if c.Name == "Phone" {
					pk2 = c.ID
					if c.AddedVia != passkey.AddedViaAccount || !c.Synced() {
						t.Fatalf("new passkey %+v", c)
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"Desk", "Phone"}) {
				t.Fatalf("erin's passkeys %v, want Desk and Phone", names)
			}
			page, _ = pkPage(t, b, s.URL+af.Str("redirect"))
			page = html.UnescapeString(page)
			if !strings.Contains(page, "Passkey added.") || !strings.Contains(page, `<tr id="passkey-`+pk2+`">`) ||
				!strings.Contains(page, `<tr id="passkey-`+pk1+`">`) || !strings.Contains(page, "<td>Synced</td>") {
				t.Fatalf("account page after adding:\n%s", page)
			}
			ev := pkWantAudit(t, s, "passkey.added", erin.ID, 2)
			if ev.Details()["via"] != "account" || ev.Details()["passkey"] != pk2 || ev.Details()["synced"] != true {
				t.Fatalf("passkey.added %+v", ev)
			}
		})

		t.Run("remove refused with a stale check", func(t *testing.T) {
			sess := pkSession(t, s, b)
			fresh := sess.VerifiedAt
			if err := s.env.db.Conn(ctx).Exec(`UPDATE auth_sessions SET verified_at = ? WHERE id = ?`,
				time.Now().UTC().Add(-6*time.Minute), sess.ID).Error; err != nil {
				t.Fatal(err)
			}
			page := pkForm(t, s, b, "/account/passkeys/"+pk1+"/remove", csrf, nil, "/account?error=verify")
			if !strings.Contains(html.UnescapeString(page), "first confirm it's you") || len(pkPasskeys(t, s, erin.ID)) != 2 {
				t.Fatalf("a stale session removed a passkey, or the page does not say why:\n%s", page)
			}
			if err := s.env.db.Conn(ctx).Exec(`UPDATE auth_sessions SET verified_at = ? WHERE id = ?`, fresh, sess.ID).Error; err != nil {
				t.Fatal(err)
			}
		})

		t.Run("remove one of two", func(t *testing.T) {
			page := pkForm(t, s, b, "/account/passkeys/"+pk1+"/remove", csrf, nil, "/account?done=removed")
			if !strings.Contains(page, "Passkey removed.") || strings.Contains(page, `<tr id="passkey-`+pk1+`">`) ||
				!strings.Contains(page, `<tr id="passkey-`+pk2+`">`) {
				t.Fatalf("account page after removing:\n%s", page)
			}
			if ev := pkWantAudit(t, s, "passkey.removed", erin.ID, 1); ev.Details()["passkey"] != pk1 {
				t.Fatalf("passkey.removed %+v", ev)
			}

			// The removed passkey no longer signs in: discoverable (the authenticator still
			// offers it) and username-first (no longer allowed, sent anyway).
			nb := newBrowser(t)
			pkWantError(t, "discoverable sign-in with the removed passkey", pkSignIn(t, s, nb, erin.Key, "", ""),
				http.StatusUnauthorized, passkey.ErrNotRecognised.Error())
			_, ncsrf := pkPage(t, nb, s.URL+"/login")
			begin := pkBegin(t, s, nb, ncsrf, "erin", "")
			if got := pkCredentialIDs(pkPublicKey(t, begin), "allowCredentials"); !slices.Equal(got, []string{key2.ID()}) {
				t.Fatalf("allowCredentials %v, want only the remaining passkey %s", got, key2.ID())
			}
			pkWantError(t, "username-first sign-in with the removed passkey", pkFinish(t, s, nb, ncsrf, erin.Key.get(t, begin.Body, true), ""),
				http.StatusUnauthorized, passkey.ErrNotRecognised.Error())
			if pkSessionToken(s, nb) != "" {
				t.Fatal("a refused sign-in left a session cookie")
			}
			// The remaining one does, and is now the only one.
			pkWantOK(t, "sign in with the remaining passkey", pkSignIn(t, s, newBrowser(t), key2, "erin", ""))
			pkForm(t, s, b, "/account/passkeys/"+pk2+"/remove", csrf, nil, "/account?error=last")
		})

		t.Run("sessions", func(t *testing.T) {
			b2, b3 := newBrowser(t), newBrowser(t)
			pkWantOK(t, "sign in b2", pkSignIn(t, s, b2, key2, "", ""))
			pkWantOK(t, "sign in b3", pkSignIn(t, s, b3, key2, "erin", ""))
			sid1, sid2, sid3 := pkSession(t, s, b).ID, pkSession(t, s, b2).ID, pkSession(t, s, b3).ID
			frankSID := pkSession(t, s, frank.Browser).ID

			page, _ := pkPage(t, b, s.URL+"/account")
			if !strings.Contains(page, `action="/account/sessions/`+sid2+`/end"`) || !strings.Contains(page, `action="/account/sessions/`+sid3+`/end"`) ||
				strings.Contains(page, `action="/account/sessions/`+sid1+`/end"`) || strings.Contains(page, frankSID) ||
				!strings.Contains(page, `action="/account/sessions/end-others"`) {
				t.Fatalf("account page sessions:\n%s", page)
			}

			// Another user's session: not erin's to end.
			page = pkForm(t, s, b, "/account/sessions/"+frankSID+"/end", csrf, nil, "/account?error=missing")
			if !strings.Contains(page, pkErrMissing) {
				t.Fatalf("page after ending another user's session:\n%s", page)
			}
			if resp, _ := frank.Browser.get(s.URL + "/account"); resp.StatusCode != http.StatusOK {
				t.Fatalf("frank's session ended by erin: /account %d", resp.StatusCode)
			}
			pkForm(t, s, b, "/account/sessions/"+sid2+"/end", "", nil, "/account?error=expired")
			if resp, _ := b2.get(s.URL + "/account"); resp.StatusCode != http.StatusOK {
				t.Fatal("a session was ended without the CSRF token")
			}
			pkWantAudit(t, s, "session.ended", erin.ID, 0)

			// End one.
			page = pkForm(t, s, b, "/account/sessions/"+sid2+"/end", csrf, nil, "/account?done=ended")
			if !strings.Contains(page, "Session ended.") || strings.Contains(page, sid2) {
				t.Fatalf("page after ending a session:\n%s", page)
			}
			pkWantSignedOut(t, s, b2)
			ev := pkWantAudit(t, s, "session.ended", erin.ID, 1)
			if d := ev.Details(); d["sid"] != sid2 || d["reason"] != "account" || ev.Actor != "user:"+erin.ID {
				t.Fatalf("session.ended %+v", ev)
			}

			// End all others: every live session of erin's but this one (b3's, and those of the
			// sign-ins above).
			var others []string
			if err := s.env.db.Conn(ctx).Raw(`SELECT id FROM auth_sessions WHERE user_id = ? AND id <> ? AND ended_at IS NULL ORDER BY id`,
				erin.ID, sid1).Scan(&others).Error; err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(others, sid3) {
				t.Fatalf("live sessions %v without b3's %s", others, sid3)
			}
			page = pkForm(t, s, b, "/account/sessions/end-others", csrf, nil, "/account?done=ended-others")
			if !strings.Contains(page, "All your other sessions have been ended.") || strings.Contains(page, `action="/account/sessions/end-others"`) {
				t.Fatalf("page after ending the others:\n%s", page)
			}
			pkWantSignedOut(t, s, b3)
			if resp, _ := b.get(s.URL + "/account"); resp.StatusCode != http.StatusOK {
				t.Fatalf("this session ended with the others: %d", resp.StatusCode)
			}
			if resp, _ := frank.Browser.get(s.URL + "/account"); resp.StatusCode != http.StatusOK {
				t.Fatalf("frank's session ended with erin's others: %d", resp.StatusCode)
			}
			ev = pkWantAudit(t, s, "session.ended", erin.ID, 2)
			var sids []string
			for _, v := range ev.Details()["sids"].([]any) {
				sids = append(sids, v.(string))
			}
			slices.Sort(sids)
			if !slices.Equal(sids, others) || ev.Details()["reason"] != "account: all others" {
				t.Fatalf("session.ended %+v, want sids %v", ev, others)
			}
		})

		t.Run("sign out", func(t *testing.T) {
			sid := pkSession(t, s, b).ID
			resp, body := b.postForm(s.URL+"/logout", url.Values{})
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<h1>Not signed out</h1>") {
				t.Fatalf("POST /logout without the CSRF token: %d\n%s", resp.StatusCode, body)
			}
			resp, body = b.postForm(s.URL+"/logout", url.Values{"csrf_token": {"forged"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("POST /logout with a forged CSRF token: %d\n%s", resp.StatusCode, body)
			}
			if resp, _ := b.get(s.URL + "/account"); resp.StatusCode != http.StatusOK {
				t.Fatalf("a refused sign-out ended the session: /account %d", resp.StatusCode)
			}
			pkWantAudit(t, s, "session.ended", erin.ID, 2)

			resp, body = b.postForm(s.URL+"/logout", url.Values{"csrf_token": {csrf}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>You are signed out</h1>") {
				t.Fatalf("POST /logout: %d\n%s", resp.StatusCode, body)
			}
			cleared := false
			for _, c := range resp.Cookies() {
				cleared = cleared || (c.Name == "portcullis_session" && c.MaxAge < 0)
			}
			if !cleared || pkSessionToken(s, b) != "" {
				t.Fatalf("the session cookie was not cleared: %v", resp.Header.Values("Set-Cookie"))
			}
			// The session is over on the server, not only in this browser.
			var ended int64
			if err := s.env.db.Conn(ctx).Raw(`SELECT COUNT(*) FROM auth_sessions WHERE id = ? AND ended_at IS NOT NULL`, sid).Scan(&ended).Error; err != nil || ended != 1 {
				t.Fatalf("session %s ended: %d (%v)", sid, ended, err)
			}
			pkWantSignedOut(t, s, b)
			ev := pkWantAudit(t, s, "session.ended", erin.ID, 3)
			if d := ev.Details(); d["sid"] != sid || d["reason"] != "sign-out" {
				t.Fatalf("session.ended %+v", ev)
			}
		})
	})
}
