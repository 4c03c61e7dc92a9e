package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
)

// storePasskey stores a passkey row for a user (the real ceremonies are in the browser tests).
func (s *testServer) storePasskey(t *testing.T, userID, id string) {
	t.Helper()
	if err := s.env.db.Exec(`INSERT INTO passkeys (id, user_id, credential_id, public_key, name, added_via, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, userID, "cred-"+id, []byte{1}, "Key "+id, passkey.AddedViaEnrollment, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
}

func (s *testServer) recoverCLI(t *testing.T, args ...string) (recoverJSON, error) {
	t.Helper()
	out, err := s.cli(append([]string{"users", "recover", "--output", "json"}, args...)...)
	if err != nil {
		return recoverJSON{}, err
	}
	var res recoverJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("users recover output %q: %v", out, err)
	}
	return res, nil
}

// `users recover` ends every session and revokes every token at once, removes the passkeys unless
// told to keep them, and shows a single-use recovery link; email needs a verified address.
func TestUsersRecoverCLI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		r := newRP(t, s, c)
		u := s.createUser("lost-phone")
		s.storePasskey(t, u.ID, "phone")
		s.storePasskey(t, u.ID, "laptop")

		// The phone signs in to the app and gets tokens.
		phone := newBrowser(t)
		phoneSession := s.signIn(phone, u, "passkey", []string{"swk", "user", "mfa"}, "phr", time.Now().Add(-time.Second))
		verifier, _, state, resp := r.authorize(phone)
		tok, err := r.config.Exchange(ctx, codeFrom(t, resp, state), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}

		res, err := s.recoverCLI(t, "--org", "system", "--username", "lost-phone", "--deliver", "show")
		if err != nil {
			t.Fatal(err)
		}
		if res.PasskeysRemoved != 2 || res.SessionsEnded != 1 || res.TokensRevoked == 0 || res.Delivery != "show" ||
			!strings.HasPrefix(res.RecoveryURL, s.URL+"/recover/") || res.Emailed {
			t.Fatalf("users recover: %+v", res)
		}
		if _, err := r.refresh(tok.RefreshToken); err == nil {
			t.Fatal("the refresh token still works after recovery started")
		}
		if _, err := s.app.sessions.Get(ctx, phoneSession.ID); err == nil {
			t.Fatal("the phone's session is still live")
		}
		if n, _ := s.app.passkeys.Count(ctx, u.ID); n != 0 {
			t.Fatalf("%d passkeys left", n)
		}
		if got, _ := phone.get(s.URL + "/account"); got.StatusCode != http.StatusSeeOther {
			t.Fatalf("the phone's browser still gets the account page: %d", got.StatusCode)
		}
		// The link opens the recovery page, once per token; a made-up token is gone.
		firstURL := res.RecoveryURL
		b := newBrowser(t)
		if got, body := b.get(res.RecoveryURL); got.StatusCode != http.StatusOK || !strings.Contains(body, "Recover your account") {
			t.Fatalf("recovery page: %d", got.StatusCode)
		}
		if got, body := b.get(s.URL + "/recover/made-up"); got.StatusCode != http.StatusGone || !strings.Contains(body, "Contact your administrator") {
			t.Fatalf("made-up link: %d %s", got.StatusCode, body)
		}

		// --keep-passkeys keeps them, and still ends sessions.
		s.storePasskey(t, u.ID, "tablet")
		s.signIn(newBrowser(t), u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now())
		res, err = s.recoverCLI(t, "--org", "system", "--username", "lost-phone", "--keep-passkeys", "--valid-for", "1h")
		if err != nil || res.PasskeysRemoved != 0 || res.SessionsEnded != 1 {
			t.Fatalf("keep passkeys: %+v, %v", res, err)
		}
		if n, _ := s.app.passkeys.Count(ctx, u.ID); n != 1 {
			t.Fatalf("--keep-passkeys left %d passkeys", n)
		}
		// Only the newest recovery link works.
		if got, _ := b.get(firstURL); got.StatusCode != http.StatusGone {
			t.Fatalf("the earlier recovery link after a new one: %d", got.StatusCode)
		}
		if got, _ := b.get(res.RecoveryURL); got.StatusCode != http.StatusOK {
			t.Fatalf("the newest recovery link: %d", got.StatusCode)
		}
		// Delivered by email through a real relay: the link is in the message, not in the output.
		sink := startMailSink(t)
		emailed, err := s.recoverCLI(t, append([]string{"--org", "system", "--username", "lost-phone", "--deliver", "email"}, sink.flags()...)...)
		if err != nil || !emailed.Emailed || emailed.RecoveryURL != "" {
			t.Fatalf("recovery by email: %+v, %v", emailed, err)
		}
		if msgs := sink.messages(); len(msgs) == 0 || msgs[len(msgs)-1].To[0] != u.Email || !strings.Contains(msgs[len(msgs)-1].Data, s.URL+"/recover/") {
			t.Fatalf("recovery email: %+v", msgs)
		}

		// Email: refused for an unverified address (before anything changes), and without SMTP.
		unverified := s.createUser("unverified", func(u *directory.User) { u.EmailVerified = false })
		s.storePasskey(t, unverified.ID, "u1")
		_, err = s.recoverCLI(t, "--org", "system", "--username", "unverified", "--deliver", "email")
		if err == nil || !strings.Contains(err.Error(), "no verified email address") || !strings.Contains(err.Error(), "--deliver show") {
			t.Fatalf("email to an unverified address: %v", err)
		}
		if n, _ := s.app.passkeys.Count(ctx, unverified.ID); n != 1 {
			t.Fatal("a refused recovery removed passkeys")
		}
		if _, err := s.recoverCLI(t, "--org", "system", "--username", "lost-phone", "--deliver", "email"); err == nil ||
			!strings.Contains(err.Error(), "smtp-host") {
			t.Fatalf("email without SMTP: %v", err)
		}
		for _, bad := range [][]string{{"--org", "system"}, {"--username", "x"}, {"--org", "nope", "--username", "x"},
			{"--org", "system", "--username", "nobody"}, {"--org", "system", "--username", "x", "--valid-for", "200h"},
			{"--org", "system", "--username", "x", "--deliver", "post"}} {
			if _, err := s.recoverCLI(t, bad...); err == nil {
				t.Errorf("users recover %v: accepted", bad)
			}
		}
	})
}

// orgs set-policy --recovery-codes turns self-service codes on and off; orgs show says so.
func TestRecoveryCodesPolicyCLI(t *testing.T) {
	s := startServer(t, "sqlite:"+t.TempDir()+"/p.db", "")
	if _, err := s.cli("orgs", "create", "--slug", "acme", "--name", "Acme"); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.cli("orgs", "show", "acme"); !strings.Contains(out, "recovery codes:     not allowed") {
		t.Fatalf("default: %s", out)
	}
	if _, err := s.cli("orgs", "set-policy", "--recovery-codes=true", "--yes", "acme"); err != nil {
		t.Fatal(err)
	}
	out, _ := s.cli("orgs", "show", "--output", "json", "acme")
	var j orgJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil || !j.RecoveryCodes {
		t.Fatalf("after --recovery-codes=true: %s (%v)", out, err)
	}
	if _, err := s.cli("orgs", "set-policy", "--recovery-codes=false", "--yes", "acme"); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.cli("orgs", "show", "acme"); !strings.Contains(out, "not allowed") {
		t.Fatalf("after --recovery-codes=false: %s", out)
	}
}

// "I lost this device" (without a browser): the passkey goes, its sessions end and their tokens
// are revoked; other sessions stay; the last passkey is refused; a stale check is refused.
func TestLostDeviceEndsItsSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c := s.createClient("--name", "Web app", "--redirect-uri", callback)
		r := newRP(t, s, c)
		u := s.createUser("eve")
		s.storePasskey(t, u.ID, "phone")
		s.storePasskey(t, u.ID, "laptop")
		st := session.NewStore(s.env.db, s.env.secret.Hasher("session"))
		start := func(b *browser, passkeyID string, verified time.Time) session.Session {
			token, sess, err := st.Create(ctx, session.Session{UserID: u.ID, OrgID: u.OrgID, Method: "passkey", PasskeyID: passkeyID,
				AMR: []string{"hwk", "user", "mfa"}, ACR: "phr", AuthTime: time.Now(), VerifiedAt: verified, ExpiresAt: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			base, _ := url.Parse(s.URL)
			b.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: token, Path: "/"}})
			return sess
		}
		phone, laptop := newBrowser(t), newBrowser(t)
		phoneSession := start(phone, "phone", time.Now())
		verifier, _, state, resp := r.authorize(phone)
		tok, err := r.config.Exchange(ctx, codeFrom(t, resp, state), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		laptopSession := start(laptop, "laptop", time.Now().Add(-time.Hour))

		post := func(b *browser, path string) *url.URL {
			_, body := b.get(s.URL + "/account")
			csrf := between(body, `name="csrf_token" value="`, `"`)
			res, _ := b.postForm(s.URL+path, url.Values{"csrf_token": {csrf}})
			return location(t, res)
		}
		// A passkey check an hour old is not enough.
		if loc := post(laptop, "/account/passkeys/phone/lost"); loc.Query().Get("error") != "verify-lost" {
			t.Fatalf("stale check: %s", loc)
		}
		if err := st.MarkVerified(ctx, laptopSession.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if loc := post(laptop, "/account/passkeys/phone/lost"); loc.Query().Get("done") != "lost" {
			t.Fatalf("lost: %s", loc)
		}
		if _, err := st.Get(ctx, phoneSession.ID); err == nil {
			t.Fatal("the lost phone's session is still live")
		}
		if _, err := r.refresh(tok.RefreshToken); err == nil {
			t.Fatal("the lost phone's refresh token still works")
		}
		if _, err := st.Get(ctx, laptopSession.ID); err != nil {
			t.Fatalf("the laptop's session ended: %v", err)
		}
		if loc := post(laptop, "/account/passkeys/laptop/lost"); loc.Query().Get("error") != "lost-last" {
			t.Fatalf("last passkey: %s", loc)
		}
		_, body := laptop.get(s.URL + "/account?error=lost-last")
		if !strings.Contains(body, "ask your administrator to recover your account") {
			t.Fatal("the refusal does not say to ask for recovery")
		}
		if n, _ := s.app.passkeys.Count(ctx, u.ID); n != 1 {
			t.Fatalf("%d passkeys left, want 1", n)
		}
	})
}

// Recovery-code guesses are limited per account (whether or not it exists): the sixth wrong code
// within ten minutes is refused without being checked, even a right one.
func TestRecoveryCodeAttemptsLimited(t *testing.T) {
	s := startServer(t, "sqlite:"+t.TempDir()+"/p.db", "")
	if _, err := s.cli("orgs", "set-policy", "--recovery-codes=true", "--yes", "system"); err != nil {
		t.Fatal(err)
	}
	u := s.createUser("ivy")
	codes, err := recoveryCodes(s.env).Generate(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	try := func(username, code string) (int, string) {
		_, page := b.get(s.URL + "/recover-code")
		csrf := between(page, `name="csrf_token" value="`, `"`)
		res, body := b.postForm(s.URL+"/recover-code", url.Values{"csrf_token": {csrf}, "username": {username}, "code": {code}})
		return res.StatusCode, body
	}
	for _, who := range []string{"ivy", "nobody"} {
		for i := range 5 {
			if st, body := try(who, "AAAA-BBBB-CCCC"); st != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
				t.Fatalf("%s: wrong code %d: %d", who, i+1, st)
			}
		}
		if st, body := try(who, codes[0]); st != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong codes") {
			t.Fatalf("%s: sixth attempt: %d", who, st)
		}
	}
	if n, _ := recoveryCodes(s.env).Remaining(context.Background(), u.ID); n != 10 {
		t.Fatalf("a code was used up while locked: %d left", n)
	}
}
