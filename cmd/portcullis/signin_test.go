package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
)

// End-to-end tests of passkey sign-in over HTTP: the sign-in page, its ceremony endpoints and the
// authorize request they resume, driven as webauthn.js drives them, with a software
// authenticator (softkey_test.go) in place of the browser's WebAuthn API.

// Shared helpers of the passkey HTTP tests (signin, enroll, account); their names start with pk.

var pkCSRFMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// The JSON errors of the ceremony endpoints.
const (
	pkCSRFError     = "This page has expired. Reload it and try again."
	pkUnreadable    = "The request could not be read. Reload the page and try again."
	pkAccountStale  = "Confirm it's you with your passkey first, then add the new one."
	pkSignedOutJSON = "You are signed out. Sign in again."
)

// pkPage GETs a page that must answer 200 and returns its body and the CSRF token in its
// <meta name="csrf-token">, as webauthn.js reads it.
func pkPage(t *testing.T, b *browser, u string) (body, csrf string) {
	t.Helper()
	resp, body := b.get(u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, want 200: %s", u, resp.StatusCode, body)
	}
	m := pkCSRFMeta.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET %s: no csrf-token meta in the page", u)
	}
	return body, html.UnescapeString(m[1])
}

// pkReply is the answer to a script's POST.
type pkReply struct {
	Status  int
	Header  http.Header
	Cookies []*http.Cookie
	Body    []byte
}

// JSON decodes the reply's body into a map (nil if it is not a JSON object).
func (r pkReply) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// Str returns a string member of the reply's JSON object.
func (r pkReply) Str(name string) string {
	s, _ := r.JSON()[name].(string)
	return s
}

// Cookie returns the Set-Cookie of the reply named name, or nil.
func (r pkReply) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetCookie returns the raw Set-Cookie header line for name, parsed as a browser would.
func (r pkReply) SetCookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %q", name, r.Header.Values("Set-Cookie"))
	return nil
}

// pkPost POSTs body as JSON, as webauthn.js does: with the X-CSRF-Token header unless csrf is "".
// A []byte body is sent as it is.
func pkPost(t *testing.T, b *browser, u, csrf string, body any) pkReply {
	t.Helper()
	var data []byte
	if raw, ok := body.([]byte); ok {
		data = raw
	} else {
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return pkReply{Status: resp.StatusCode, Header: resp.Header, Cookies: resp.Cookies(), Body: out}
}

// pkWantError checks a script POST was refused with status and exactly the JSON {"error": msg}.
func pkWantError(t *testing.T, what string, r pkReply, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	want := map[string]any{"error": msg}
	if got := r.JSON(); !maps.Equal(got, want) {
		t.Fatalf("%s: body %s, want {\"error\": %q}", what, r.Body, msg)
	}
}

// pkWantOK checks a script POST succeeded with 200.
func pkWantOK(t *testing.T, what string, r pkReply) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200: %s", what, r.Status, r.Body)
	}
}

// pkPublicKey returns the publicKey member (the WebAuthn options) of a begin reply.
func pkPublicKey(t *testing.T, r pkReply) map[string]any {
	t.Helper()
	pk, ok := r.JSON()["publicKey"].(map[string]any)
	if !ok {
		t.Fatalf("begin reply without publicKey options: %s", r.Body)
	}
	return pk
}

// pkCredentialIDs returns the ids listed in options' allowCredentials or excludeCredentials.
func pkCredentialIDs(options map[string]any, member string) []string {
	var ids []string
	list, _ := options[member].([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// pkLoginPage is the URL of the sign-in page for a pending request ("" for none).
func pkLoginPage(s *testServer, request string) string {
	if request == "" {
		return s.URL + "/login"
	}
	return s.URL + "/login?request=" + url.QueryEscape(request)
}

// pkBegin begins a sign-in: username-first, or discoverable when username is "".
func pkBegin(t *testing.T, s *testServer, b *browser, csrf, username, request string) pkReply {
	t.Helper()
	if username == "" {
		return pkPost(t, b, s.URL+"/login/begin-any", csrf, map[string]any{"request": request})
	}
	return pkPost(t, b, s.URL+"/login/begin", csrf, map[string]any{"username": username, "request": request})
}

// pkFinish posts an assertion to /login/finish.
func pkFinish(t *testing.T, s *testServer, b *browser, csrf string, credential []byte, request string) pkReply {
	t.Helper()
	return pkPost(t, b, s.URL+"/login/finish", csrf, map[string]any{"credential": json.RawMessage(credential), "request": request})
}

// pkSignIn signs in as the sign-in page does: the page (for its CSRF token), begin (username-first,
// or discoverable when username is ""), the authenticator, finish. It returns finish's reply.
func pkSignIn(t *testing.T, s *testServer, b *browser, key *softKey, username, request string) pkReply {
	t.Helper()
	_, csrf := pkPage(t, b, pkLoginPage(s, request))
	begin := pkBegin(t, s, b, csrf, username, request)
	pkWantOK(t, "begin", begin)
	return pkFinish(t, s, b, csrf, key.get(t, begin.Body, false), request)
}

// pkEnrolled is a user created with `portcullis users create` who enrolled a passkey.
type pkEnrolled struct {
	ID, Username, OrgID string
	Key                 *softKey
	Browser             *browser // signed in by the enrollment
}

// pkEnroll creates a user with the CLI (extra flags appended) and creates key for them through
// the enrollment link, in a new browser that the enrollment signs in.
func pkEnroll(t *testing.T, s *testServer, username string, key *softKey, name string, extra ...string) pkEnrolled {
	t.Helper()
	out, err := s.cli(append([]string{"users", "create", "--username", username, "--output", "json"}, extra...)...)
	if err != nil {
		t.Fatalf("users create: %v", err)
	}
	var created struct {
		UserID string `json:"user_id"`
		OrgID  string `json:"org_id"`
		URL    string `json:"enrollment_url"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.URL, s.URL+"/enroll/") {
		t.Fatalf("users create output %q: %v", out, err)
	}
	b := newBrowser(t)
	_, csrf := pkPage(t, b, created.URL)
	begin := pkPost(t, b, created.URL+"/begin", csrf, map[string]any{})
	pkWantOK(t, "enroll begin", begin)
	fin := pkPost(t, b, created.URL+"/finish", csrf, map[string]any{"credential": json.RawMessage(key.create(t, begin.Body)), "name": name})
	pkWantOK(t, "enroll finish", fin)
	if got := fin.Str("redirect"); got != "/account" {
		t.Fatalf("enroll finish redirect %q, want /account", got)
	}
	return pkEnrolled{ID: created.UserID, Username: username, OrgID: created.OrgID, Key: key, Browser: b}
}

// pkAuditRow is a stored audit event.
type pkAuditRow struct {
	ID                                      int64
	OrgID, Actor, Action, Outcome, UserID   string
	ClientID, IP, UserAgent, RequestID, Raw string
}

// Details decodes the event's details.
func (r pkAuditRow) Details() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.Raw), &m)
	return m
}

// pkAudit returns the audit events of an action for a user ("" for events without one), oldest first.
func pkAudit(t *testing.T, s *testServer, action, userID string) []pkAuditRow {
	t.Helper()
	var rows []pkAuditRow
	err := s.env.db.Conn(context.Background()).Raw(`SELECT id, org_id, actor, action, outcome, user_id, client_id, ip,
		user_agent, request_id, details AS raw FROM audit_events WHERE action = ? AND user_id = ? ORDER BY id`, action, userID).
		Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// pkWantAudit checks a user has exactly n events of action and returns the newest.
func pkWantAudit(t *testing.T, s *testServer, action, userID string, n int) pkAuditRow {
	t.Helper()
	rows := pkAudit(t, s, action, userID)
	if len(rows) != n {
		t.Fatalf("audit %s for user %q: %d events, want %d: %+v", action, userID, len(rows), n, rows)
	}
	if n == 0 {
		return pkAuditRow{}
	}
	return rows[n-1]
}

// pkSessionToken returns the browser's session cookie for the server ("" without one).
func pkSessionToken(s *testServer, b *browser) string {
	u, _ := url.Parse(s.URL)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "portcullis_session" {
			return c.Value
		}
	}
	return ""
}

// pkSession returns the live session of the browser's cookie.
func pkSession(t *testing.T, s *testServer, b *browser) session.Session {
	t.Helper()
	token := pkSessionToken(s, b)
	if token == "" {
		t.Fatal("the browser has no session cookie")
	}
	sess, err := session.NewStore(s.env.db, s.env.secret.Hasher("session")).Lookup(context.Background(), token, time.Hour)
	if err != nil {
		t.Fatalf("session of the browser's cookie: %v", err)
	}
	return sess
}

// pkSetCookie puts a cookie in the browser's jar; a negative maxAge removes it.
func pkSetCookie(s *testServer, b *browser, name, value string, maxAge int) {
	u, _ := url.Parse(s.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", MaxAge: maxAge}})
}

// pkCookieValue returns a cookie of the browser's jar ("" without one).
func pkCookieValue(s *testServer, b *browser, name string) string {
	u, _ := url.Parse(s.URL)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// pkPasskeys lists a user's passkeys.
func pkPasskeys(t *testing.T, s *testServer, userID string) []passkey.Credential {
	t.Helper()
	cs, err := s.app.passkeys.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// pkWantSessionCookie checks the sign-in session cookie a reply sets: HttpOnly, SameSite=Lax,
// Path=/, not Secure on this http://localhost server, and persistent.
func pkWantSessionCookie(t *testing.T, r pkReply) {
	t.Helper()
	c := r.SetCookie(t, "portcullis_session")
	if c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.Domain != "" ||
		c.Expires.Before(time.Now().Add(24*time.Hour)) {
		t.Fatalf("session cookie %+v: want a value, HttpOnly, SameSite=Lax, Path=/, no Domain, an expiry", c)
	}
}

// pkCeremonyCookie is the name of the ceremony cookie on an http://localhost server.
const pkCeremonyCookie = "portcullis_ceremony"

func TestSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		r := newRP(t, s, c)
		for i, tc := range []struct {
			name         string
			discoverable bool
			synced       bool
			wantAMR      []string
		}{
			{"username first, device-bound passkey", false, false, []string{"hwk", "user", "mfa"}},
			{"username first, synced passkey", false, true, []string{"swk", "user", "mfa"}},
			{"discoverable, device-bound passkey", true, false, []string{"hwk", "user", "mfa"}},
			{"discoverable, synced passkey", true, true, []string{"swk", "user", "mfa"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := pkEnroll(t, s, fmt.Sprintf("signin%d", i), newSoftKey(s.URL, tc.synced), "")
				pk := pkPasskeys(t, s, u.ID)[0]
				b := newBrowser(t)

				// Not signed in: the authorize request is parked and the browser sent to sign in.
				verifier, nonce, state, resp := r.authorize(b)
				login := location(t, resp)
				request := login.Query().Get("request")
				if login.Path != "/login" || request == "" {
					t.Fatalf("authorize redirected to %s, want /login?request=…", login)
				}
				body, csrf := pkPage(t, b, s.URL+login.String())
				if !strings.Contains(body, "Sign in to Web app") || !strings.Contains(body, `data-request="`+html.EscapeString(request)+`"`) {
					t.Fatalf("sign-in page does not name the client or carry the request:\n%s", body)
				}

				// Begin.
				username, wantMessage := u.Username, "This account is protected by a passkey. Use it to continue."
				if tc.discoverable {
					username, wantMessage = "", "Choose your passkey."
				}
				begin := pkBegin(t, s, b, csrf, username, request)
				pkWantOK(t, "begin", begin)
				if got := begin.Str("message"); got != wantMessage {
					t.Fatalf("begin message %q, want %q", got, wantMessage)
				}
				opts := pkPublicKey(t, begin)
				wantAllow := []string{u.Key.ID()}
				if tc.discoverable {
					wantAllow = nil
				}
				if opts["rpId"] != "localhost" || opts["userVerification"] != "required" || opts["challenge"] == "" ||
					!slices.Equal(pkCredentialIDs(opts, "allowCredentials"), wantAllow) {
					t.Fatalf("request options %v: want rpId localhost, userVerification required, allowCredentials %v", opts, wantAllow)
				}
				cer := begin.SetCookie(t, pkCeremonyCookie)
				if cer.Value == "" || !cer.HttpOnly || cer.SameSite != http.SameSiteStrictMode || cer.Path != "/" || cer.MaxAge != 300 {
					t.Fatalf("ceremony cookie %+v: want HttpOnly, SameSite=Strict, Path=/, Max-Age=300", cer)
				}

				// Finish: a session, and the way back to the pending request.
				before := time.Now().Add(-time.Second).Truncate(time.Second)
				fin := pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), request)
				pkWantOK(t, "finish", fin)
				if got, want := fin.Str("redirect"), "/oauth2/auth/resume?request="+url.QueryEscape(request); got != want {
					t.Fatalf("finish redirect %q, want %q", got, want)
				}
				pkWantSessionCookie(t, fin)
				if cc := fin.SetCookie(t, pkCeremonyCookie); cc.MaxAge >= 0 || cc.Value != "" {
					t.Fatalf("the ceremony cookie was not cleared: %+v", cc)
				}
				sess := pkSession(t, s, b)
				if sess.UserID != u.ID || sess.OrgID != directory.SystemOrgID || sess.Method != "passkey" || sess.ACR != "phr" ||
					!slices.Equal(sess.AMR, tc.wantAMR) || sess.VerifiedAt.IsZero() {
					t.Fatalf("session %+v", sess)
				}

				// Resume: a code, tokens, and an ID token that says how the user signed in.
				resp, _ = b.get(s.URL + fin.Str("redirect"))
				code := codeFrom(t, resp, state)
				tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				idt, err := r.verifier.Verify(ctx, raw)
				if err != nil {
					t.Fatalf("verify id token: %v", err)
				}
				var claims struct {
					AuthTime int64    `json:"auth_time"`
					AMR      []string `json:"amr"`
					ACR      string   `json:"acr"`
					SID      string   `json:"sid"`
					Username string   `json:"preferred_username"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if idt.Subject != u.ID || idt.Nonce != nonce || claims.ACR != "phr" || !slices.Equal(claims.AMR, tc.wantAMR) ||
					claims.SID != sess.ID || claims.Username != u.Username ||
					claims.AuthTime < before.Unix() || claims.AuthTime > time.Now().Unix() {
					t.Fatalf("id token sub %q nonce %q claims %+v; want sub %s, acr phr, amr %v, sid %s, auth_time from %d",
						idt.Subject, idt.Nonce, claims, u.ID, tc.wantAMR, sess.ID, before.Unix())
				}

				// Audited: the enrollment's sign-in, then this one.
				ev := pkWantAudit(t, s, "signin.succeeded", u.ID, 2)
				d := ev.Details()
				if ev.Outcome != "success" || ev.OrgID != directory.SystemOrgID || ev.Actor != "user:"+u.ID ||
					d["method"] != "passkey" || d["sid"] != sess.ID || d["passkey"] != pk.ID || d["synced"] != tc.synced {
					t.Fatalf("signin.succeeded event %+v details %v", ev, d)
				}
				pkWantAudit(t, s, "signin.failed", u.ID, 0)

				// The passkey's use is recorded.
				after := pkPasskeys(t, s, u.ID)[0]
				if after.LastUsedAt == nil || (!tc.synced && after.SignCount != 2) || (tc.synced && after.SignCount != 0) {
					t.Fatalf("passkey after sign-in: last used %v, sign count %d", after.LastUsedAt, after.SignCount)
				}
			})
		}
	})
}

// TestSignInUnknownUsername: an unknown username, a user without passkeys and a disabled user get
// a begin answer that cannot be told from a real account's, and fail only at finish, with the
// same plain message as an unregistered passkey.
func TestSignInUnknownUsername(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		alice := pkEnroll(t, s, "alice", newSoftKey(s.URL, true), "")
		s.createUser("nopasskey")
		carol := pkEnroll(t, s, "carol", newSoftKey(s.URL, false), "")
		if err := directory.NewStore(s.env.db).SetStatus(ctx, carol.ID, directory.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		_, csrf := pkPage(t, b, s.URL+"/login")
		ref := pkBegin(t, s, b, csrf, alice.Username, "")
		pkWantOK(t, "begin for a real account", ref)
		refOpts := pkPublicKey(t, ref)
		refAllow := refOpts["allowCredentials"].([]any)
		refEntry := refAllow[0].(map[string]any)

		for _, tc := range []struct{ name, username string }{
			{"unknown username", "nobody"},
			{"user without passkeys", "nopasskey"},
			{"disabled user", "carol"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				failedBefore := len(pkAudit(t, s, "signin.failed", ""))
				begin := pkBegin(t, s, b, csrf, tc.username, "")
				pkWantOK(t, "begin", begin)
				if got, want := slices.Sorted(maps.Keys(begin.JSON())), slices.Sorted(maps.Keys(ref.JSON())); !slices.Equal(got, want) {
					t.Fatalf("reply members %v, a real account's %v", got, want)
				}
				if begin.Str("message") != ref.Str("message") {
					t.Fatalf("message %q, a real account's %q", begin.Str("message"), ref.Str("message"))
				}
				if begin.Header.Get("Content-Type") != ref.Header.Get("Content-Type") || begin.Cookie(pkCeremonyCookie) == nil {
					t.Fatalf("headers %v, a real account's %v", begin.Header, ref.Header)
				}
				opts := pkPublicKey(t, begin)
				if got, want := slices.Sorted(maps.Keys(opts)), slices.Sorted(maps.Keys(refOpts)); !slices.Equal(got, want) {
					t.Fatalf("options members %v, a real account's %v", got, want)
				}
				for _, k := range []string{"rpId", "userVerification", "timeout"} {
					if opts[k] != refOpts[k] {
						t.Fatalf("options %s = %v, a real account's %v", k, opts[k], refOpts[k])
					}
				}
				allow, _ := opts["allowCredentials"].([]any)
				if len(allow) < 1 || len(allow) > 2 {
					t.Fatalf("allowCredentials has %d entries, want 1 or 2 like a real account", len(allow))
				}
				for _, a := range allow {
					entry := a.(map[string]any)
					if got, want := slices.Sorted(maps.Keys(entry)), slices.Sorted(maps.Keys(refEntry)); !slices.Equal(got, want) {
						t.Fatalf("allowCredentials entry members %v, a real account's %v", got, want)
					}
					id, err := base64.RawURLEncoding.DecodeString(entry["id"].(string))
					if err != nil || len(id) < 16 || len(id) > 64 {
						t.Fatalf("credential id %q (%d bytes, %v): want base64url of 16 to 64 bytes, as real ids", entry["id"], len(id), err)
					}
					if entry["type"] != "public-key" || len(entry["transports"].([]any)) == 0 {
						t.Fatalf("allowCredentials entry %v", entry)
					}
				}
				// Asked again, the same list, as a real account's would be.
				againReply := pkBegin(t, s, b, csrf, tc.username, "")
				again := pkPublicKey(t, againReply)
				if !slices.Equal(pkCredentialIDs(again, "allowCredentials"), pkCredentialIDs(opts, "allowCredentials")) {
					t.Fatalf("allowCredentials changed between two begins: %v then %v", pkCredentialIDs(opts, "allowCredentials"),
						pkCredentialIDs(again, "allowCredentials"))
				}
				if again["challenge"] == opts["challenge"] {
					t.Fatal("two begins got the same challenge")
				}

				// Finish with a real passkey (of another account): refused like an unregistered one.
				fin := pkFinish(t, s, b, csrf, alice.Key.get(t, againReply.Body, true), "")
				pkWantError(t, "finish", fin, http.StatusUnauthorized, passkey.ErrNotRecognised.Error())
				if fin.Cookie("portcullis_session") != nil {
					t.Fatal("a failed sign-in set a session cookie")
				}
				failed := pkAudit(t, s, "signin.failed", "")
				if len(failed) != failedBefore+1 {
					t.Fatalf("%d signin.failed events without a user, want %d", len(failed), failedBefore+1)
				}
				d := failed[len(failed)-1].Details()
				if failed[len(failed)-1].Outcome != "failure" || d["method"] != "passkey" || d["reason"] == "" {
					t.Fatalf("signin.failed event %+v", failed[len(failed)-1])
				}
			})
		}

		// The real account's passkey, signing in for the real account, works on the same page.
		ref = pkBegin(t, s, b, csrf, alice.Username, "")
		fin := pkFinish(t, s, b, csrf, alice.Key.get(t, ref.Body, false), "")
		pkWantOK(t, "finish for the real account", fin)
		if fin.Str("redirect") != "/account" {
			t.Fatalf("redirect %q, want /account", fin.Str("redirect"))
		}

		t.Run("unregistered passkey for a real account", func(t *testing.T) {
			// The same message as the decoys get.
			_, csrf := pkPage(t, b, s.URL+"/login")
			begin := pkBegin(t, s, b, csrf, alice.Username, "")
			fin := pkFinish(t, s, b, csrf, pkRegisteredElsewhere(t, s).get(t, begin.Body, true), "")
			pkWantError(t, "finish with an unregistered passkey", fin, http.StatusUnauthorized, passkey.ErrNotRecognised.Error())
			// The sign-in was begun for alice (the ceremony names her): the refusal is hers in
			// the audit log, so that an administrator sees the attempts on her account.
			ev := pkWantAudit(t, s, "signin.failed", alice.ID, 1)
			if ev.OrgID != directory.SystemOrgID || ev.Outcome != "failure" {
				t.Fatalf("signin.failed event %+v", ev)
			}
		})
	})
}

// pkRegisteredElsewhere returns a passkey that is registered to nobody on this server (its
// authenticator created it for another user handle, as on another site's server).
func pkRegisteredElsewhere(t *testing.T, s *testServer) *softKey {
	t.Helper()
	k := newSoftKey(s.URL, false)
	opts := fmt.Sprintf(`{"challenge":"AAAA","rp":{"id":"localhost","name":"x"},"user":{"id":%q,"name":"x","displayName":"x"},
		"pubKeyCredParams":[{"type":"public-key","alg":-7}]}`, base64.RawURLEncoding.EncodeToString([]byte("someone-else")))
	k.create(t, []byte(opts))
	return k
}

// TestSignInOtherOrganisation: a user of one organisation never signs in to another's clients,
// whichever way they try; in their own organisation the same passkey works.
func TestSignInOtherOrganisation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		if err := s.env.db.Conn(ctx).Exec(`INSERT INTO organisations (id, slug, name, passkey_mode, created_at) VALUES (?, ?, ?, ?, ?)`,
			"org-acme", "acme", "Acme", "mandatory", time.Now().UTC()).Error; err != nil {
			t.Fatal(err)
		}
		dave := pkEnroll(t, s, "dave", newSoftKey(s.URL, false), "", "--org", "acme")
		if dave.OrgID != "org-acme" {
			t.Fatalf("dave is in organisation %q, want org-acme", dave.OrgID)
		}
		system := s.createClient("--name", "System app", "--redirect-uri", callback)
		acme := s.createClient("--name", "Acme app", "--redirect-uri", callback, "--org", "acme")

		for _, tc := range []struct {
			name         string
			client       *registered // nil: no pending request (the account page, system organisation)
			discoverable bool
			wantOK       bool
		}{
			{"username first to a system-org client", &system, false, false},
			{"discoverable to a system-org client", &system, true, false},
			{"discoverable without a pending request", nil, true, false},
			{"username first to its own organisation's client", &acme, false, true},
			{"discoverable to its own organisation's client", &acme, true, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newBrowser(t)
				var request, state string
				var r *rp
				if tc.client != nil {
					r = newRP(t, s, *tc.client)
					var resp *http.Response
					_, _, state, resp = r.authorize(b)
					request = location(t, resp).Query().Get("request")
				}
				_, csrf := pkPage(t, b, pkLoginPage(s, request))
				username := dave.Username
				if tc.discoverable {
					username = ""
				}
				begin := pkBegin(t, s, b, csrf, username, request)
				pkWantOK(t, "begin", begin)
				// Username first to the system organisation: "dave" is not one of its users, so the
				// options list decoys; the passkey is sent anyway.
				failedOrg := len(pkAudit(t, s, "signin.failed", dave.ID)) + len(pkAudit(t, s, "signin.failed", ""))
				fin := pkFinish(t, s, b, csrf, dave.Key.get(t, begin.Body, true), request)
				if !tc.wantOK {
					pkWantError(t, "finish", fin, http.StatusUnauthorized, passkey.ErrNotRecognised.Error())
					if fin.Cookie("portcullis_session") != nil {
						t.Fatal("a refused sign-in set a session cookie")
					}
					if n := len(pkAudit(t, s, "signin.failed", dave.ID)) + len(pkAudit(t, s, "signin.failed", "")); n != failedOrg+1 {
						t.Fatalf("%d signin.failed events, want %d", n, failedOrg+1)
					}
					if request != "" {
						// Still not signed in: resuming goes back to the sign-in page.
						resp, _ := b.get(s.URL + "/oauth2/auth/resume?request=" + url.QueryEscape(request))
						if l := location(t, resp); l.Path != "/login" {
							t.Fatalf("resume after a refused sign-in went to %s", l)
						}
					}
					return
				}
				pkWantOK(t, "finish", fin)
				resp, _ := b.get(s.URL + fin.Str("redirect"))
				codeFrom(t, resp, state)
				if sess := pkSession(t, s, b); sess.OrgID != "org-acme" || sess.UserID != dave.ID {
					t.Fatalf("session %+v", sess)
				}
			})
		}
		// Every refusal is audited in the organisation the sign-in was for.
		for _, ev := range append(pkAudit(t, s, "signin.failed", dave.ID), pkAudit(t, s, "signin.failed", "")...) {
			if ev.OrgID != directory.SystemOrgID || ev.Outcome != "failure" {
				t.Fatalf("signin.failed event %+v", ev)
			}
		}
	})
}

// TestSignInCeremonyBinding: a ceremony is bound to the browser that began it, finishes once, and
// the endpoints refuse requests without the page's CSRF token.
func TestSignInCeremonyBinding(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		u := pkEnroll(t, s, "erin", newSoftKey(s.URL, false), "")
		expired := passkey.ErrCeremonyExpired.Error()

		t.Run("replayed finish", func(t *testing.T) {
			b := newBrowser(t)
			_, csrf := pkPage(t, b, s.URL+"/login")
			begin := pkBegin(t, s, b, csrf, u.Username, "")
			ceremony := pkCookieValue(s, b, pkCeremonyCookie)
			cred := u.Key.get(t, begin.Body, false)
			pkWantOK(t, "first finish", pkFinish(t, s, b, csrf, cred, ""))
			if pkCookieValue(s, b, pkCeremonyCookie) != "" {
				t.Fatal("the ceremony cookie survived its finish")
			}
			failed := len(pkAudit(t, s, "signin.failed", ""))
			// The same request again, ceremony cookie and all.
			pkSetCookie(s, b, pkCeremonyCookie, ceremony, 300)
			pkWantError(t, "replayed finish", pkFinish(t, s, b, csrf, cred, ""), http.StatusUnauthorized, expired)
			if n := len(pkAudit(t, s, "signin.failed", "")); n != failed+1 {
				t.Fatalf("%d signin.failed events, want %d", n, failed+1)
			}
		})

		t.Run("finish without the ceremony cookie", func(t *testing.T) {
			b := newBrowser(t)
			_, csrf := pkPage(t, b, s.URL+"/login")
			begin := pkBegin(t, s, b, csrf, u.Username, "")
			pkSetCookie(s, b, pkCeremonyCookie, "", -1)
			failed := len(pkAudit(t, s, "signin.failed", ""))
			fin := pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), "")
			pkWantError(t, "finish", fin, http.StatusUnauthorized, expired)
			if n := len(pkAudit(t, s, "signin.failed", "")); n != failed+1 {
				t.Fatalf("%d signin.failed events, want %d", n, failed+1)
			}
		})

		t.Run("ceremony of another browser", func(t *testing.T) {
			b1, b2 := newBrowser(t), newBrowser(t)
			_, csrf1 := pkPage(t, b1, s.URL+"/login")
			_, csrf2 := pkPage(t, b2, s.URL+"/login")
			begin := pkBegin(t, s, b1, csrf1, u.Username, "")
			fin := pkFinish(t, s, b2, csrf2, u.Key.get(t, begin.Body, false), "")
			pkWantError(t, "finish in another browser", fin, http.StatusUnauthorized, expired)
		})

		t.Run("CSRF", func(t *testing.T) {
			b, other := newBrowser(t), newBrowser(t)
			_, csrf := pkPage(t, b, s.URL+"/login")
			_, otherCSRF := pkPage(t, other, s.URL+"/login")
			for _, tc := range []struct{ name, path, csrf string }{
				{"begin without the header", "/login/begin", ""},
				{"begin with another browser's token", "/login/begin", otherCSRF},
				{"begin-any without the header", "/login/begin-any", ""},
				{"finish without the header", "/login/finish", ""},
				{"finish with another browser's token", "/login/finish", otherCSRF},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := pkPost(t, b, s.URL+tc.path, tc.csrf, map[string]any{"username": u.Username})
					pkWantError(t, tc.path, r, http.StatusForbidden, pkCSRFError)
					if r.Cookie(pkCeremonyCookie) != nil {
						t.Fatal("a refused request touched the ceremony cookie")
					}
				})
			}
			// Refused before the ceremony was taken: the ceremony still finishes with the token.
			begin := pkBegin(t, s, b, csrf, u.Username, "")
			cred := u.Key.get(t, begin.Body, false)
			pkWantError(t, "finish without the header", pkFinish(t, s, b, "", cred, ""), http.StatusForbidden, pkCSRFError)
			pkWantOK(t, "finish with the header", pkFinish(t, s, b, csrf, cred, ""))
			// A request body that is not JSON.
			pkWantError(t, "begin with a broken body", pkPost(t, b, s.URL+"/login/begin", csrf, []byte("{")),
				http.StatusBadRequest, pkUnreadable)
		})

		// Every successful sign-in above was audited: the enrollment's, "replayed finish" and "CSRF".
		pkWantAudit(t, s, "signin.succeeded", u.ID, 3)
	})
}

// /login/finish runs in one transaction, and a refusal must still commit what it decided: the
// ceremony stays used and a passkey whose counter went backwards stays flagged.
func TestSignInRefusalIsKept(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		u := pkEnroll(t, s, "fay", newSoftKey(s.URL, false), "")
		b := newBrowser(t)
		_, csrf := pkPage(t, b, s.URL+"/login")

		// A normal sign-in moves the stored counter on.
		begin := pkBegin(t, s, b, csrf, u.Username, "")
		pkWantOK(t, "first finish", pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), ""))

		// A copy of the authenticator that counts from further back.
		begin = pkBegin(t, s, b, csrf, u.Username, "")
		ceremony := pkCookieValue(s, b, pkCeremonyCookie)
		u.Key.mu.Lock()
		ahead := u.Key.cred.Counter
		u.Key.cred.Counter = 0
		u.Key.mu.Unlock()
		failed := len(pkAudit(t, s, "signin.failed", u.ID))
		pkWantError(t, "finish with a lower counter", pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), ""),
			http.StatusUnauthorized, passkey.ErrCounterRegression.Error())
		if n := len(pkAudit(t, s, "signin.failed", u.ID)); n != failed+1 {
			t.Fatalf("%d signin.failed events, want %d", n, failed+1)
		}
		var flagged []bool
		if err := s.env.db.Raw(`SELECT flagged FROM passkeys WHERE user_id = ?`, u.ID).Scan(&flagged).Error; err != nil {
			t.Fatal(err)
		}
		if len(flagged) != 1 || !flagged[0] {
			t.Fatalf("passkey flags after the regression: %v, want [true]", flagged)
		}

		// The refused ceremony was used up: the same ceremony with a good counter is refused as
		// expired, before the passkey is even looked at.
		u.Key.mu.Lock()
		u.Key.cred.Counter = ahead + 10
		u.Key.mu.Unlock()
		pkSetCookie(s, b, pkCeremonyCookie, ceremony, 300)
		pkWantError(t, "the refused ceremony again", pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), ""),
			http.StatusUnauthorized, passkey.ErrCeremonyExpired.Error())

		// And the flag holds for a new ceremony whatever the counter says.
		begin = pkBegin(t, s, b, csrf, u.Username, "")
		pkWantError(t, "flagged passkey", pkFinish(t, s, b, csrf, u.Key.get(t, begin.Body, false), ""),
			http.StatusUnauthorized, passkey.ErrCounterRegression.Error())
		pkWantAudit(t, s, "signin.succeeded", u.ID, 2) // the enrollment's and the first finish
	})
}
