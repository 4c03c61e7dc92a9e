package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v3"

	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/rplogout"
)

// startLogoutServer is startServer with the back-channel worker polling every poll and retrying
// after 100 ms, so that tests wait milliseconds instead of minutes. stop ends the server (also
// at cleanup) and may be called early, to restart on the same database.
func startLogoutServer(t *testing.T, dsn, secretFile string, poll time.Duration) (s *testServer, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if secretFile == "" {
		secretFile = filepath.Join(t.TempDir(), "portcullis.secret")
	}
	cfg := Defaults()
	cfg.Issuer = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	cfg.Database, cfg.SecretFile, cfg.LogLevel = dsn, secretFile, "warn"
	ctx, cancel := context.WithCancel(context.Background())
	e, err := openEnv(ctx, cfg, testLogWriter{t}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	a.provider.Logout.Poll, a.provider.Logout.Backoff = poll, []time.Duration{100 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			e.db.Close()
		})
	}
	t.Cleanup(stop)
	return &testServer{t: t, URL: cfg.Issuer, DSN: dsn, SecretFile: secretFile, app: a, env: e}, stop
}

// logoutReceiver is a relying party's back-channel logout endpoint: it answers with the queued
// statuses, then 200, and hands over every logout token it receives.
type logoutReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	tokens   chan string
}

func newLogoutReceiver(t *testing.T, statuses ...int) *logoutReceiver {
	rc := &logoutReceiver{statuses: statuses, tokens: make(chan string, 10)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		rc.tokens <- r.PostFormValue("logout_token")
		rc.mu.Lock()
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next logout token.
func (rc *logoutReceiver) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rc.tokens:
		return tok
	case <-time.After(15 * time.Second):
		t.Fatal("no logout token delivered")
		return ""
	}
}

// none checks that nothing was delivered for a while.
func (rc *logoutReceiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case tok := <-rc.tokens:
		t.Fatalf("unexpected logout token %s", tok)
	case <-time.After(wait):
	}
}

// verifyLogoutToken checks a logout token as a relying party must (Back-Channel Logout 1.0
// section 2.6): signature with the issuer's JWKS, typ logout+jwt, iss, aud, iat/exp, the
// back-channel logout event, sid and sub, no nonce.
func verifyLogoutToken(t *testing.T, s *testServer, token, clientID, sid, sub string) {
	t.Helper()
	ctx := context.Background()
	payload, err := oidc.NewRemoteKeySet(ctx, s.URL+"/.well-known/jwks.json").VerifySignature(ctx, token)
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	jws, err := jose.ParseSigned(token)
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
	var c struct {
		Iss, Aud, Sid, Sub, Jti string
		Iat, Exp                int64
		Nonce                   *string
		Events                  map[string]json.RawMessage
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	if c.Iss != s.URL || c.Aud != clientID || c.Sid != sid || c.Sub != sub || c.Jti == "" || c.Nonce != nil ||
		string(c.Events[rplogout.EventBackchannelLogout]) != "{}" || c.Iat > now+5 || c.Exp <= now || c.Exp > now+300 {
		t.Fatalf("logout token claims %s; want iss %s aud %s sid %s sub %s", payload, s.URL, clientID, sid, sub)
	}
}

// idTokenSID reads the sid claim of an ID token the test already verified elsewhere.
func idTokenSID(t *testing.T, idToken string) string {
	t.Helper()
	parts := strings.Split(idToken, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Sid string }
	if err := json.Unmarshal(raw, &c); err != nil || c.Sid == "" {
		t.Fatalf("ID token without sid: %s", raw)
	}
	return c.Sid
}

func eachLogoutDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testdb.SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, testdb.PostgresDSN(t)) })
}

func TestBackchannelLogout(t *testing.T) {
	eachLogoutDB(t, func(t *testing.T, dsn string) {
		s, _ := startLogoutServer(t, dsn, "", 50*time.Millisecond)
		rc := newLogoutReceiver(t)
		c := s.createClient("--name", "RP", "--redirect-uri", callback, "--backchannel-logout-uri", rc.URL+"/backchannel")
		quiet := s.createClient("--name", "No back-channel", "--redirect-uri", callback)

		t.Run("discovery and the CLI show it", func(t *testing.T) {
			resp, body := newBrowser(t).get(s.URL + "/.well-known/openid-configuration")
			var meta map[string]any
			if err := json.Unmarshal([]byte(body), &meta); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("discovery: %d %v", resp.StatusCode, err)
			}
			for _, k := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported",
				"frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
				if meta[k] != true {
					t.Errorf("discovery %s = %v, want true", k, meta[k])
				}
			}
			out, err := s.cli("clients", "show", c.ID, "--output", "json")
			if err != nil {
				t.Fatal(err)
			}
			var shown map[string]any
			if err := json.Unmarshal([]byte(out), &shown); err != nil {
				t.Fatal(err)
			}
			if shown["backchannel_logout_uri"] != rc.URL+"/backchannel" || shown["backchannel_logout_session_required"] != true {
				t.Fatalf("clients show: %s", out)
			}
			if _, err := s.cli("clients", "create", "--name", "Bad", "--redirect-uri", callback,
				"--backchannel-logout-uri", "http://rp.example/logout"); err == nil || !strings.Contains(err.Error(), "backchannel_logout_uri") {
				t.Fatalf("an http back-channel URI off loopback was accepted: %v", err)
			}
		})

		t.Run("the admin API registers and shows the logout URIs", func(t *testing.T) {
			token, _ := s.adminToken(t, "system", "admin:write")
			got := s.api(t, token, "POST", "/clients", map[string]any{"name": "API app", "redirect_uris": []string{callback},
				"backchannel_logout_uri": "https://api-app.example/bc", "frontchannel_logout_uri": "https://api-app.example/fc",
				"frontchannel_logout_session_required": true}).want(t, http.StatusCreated)
			if got.str("backchannel_logout_uri") != "https://api-app.example/bc" || got.body["backchannel_logout_session_required"] != true ||
				got.str("frontchannel_logout_uri") != "https://api-app.example/fc" || got.body["frontchannel_logout_session_required"] != true {
				t.Fatalf("created client %s", got.raw)
			}
			s.api(t, token, "POST", "/clients", map[string]any{"name": "Bad", "redirect_uris": []string{callback},
				"frontchannel_logout_uri": "https://api-app.example/fc#frag"}).want(t, http.StatusBadRequest, "invalid_field", "frontchannel_logout_uri")
		})

		t.Run("sign-out at the app (RP-initiated logout)", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-rp")
			newLogoutRig(t, s, quiet, "bcl-quiet") // another user's session, not ended
			resp, body := rig.b.get(logoutURL(s, url.Values{"id_token_hint": {rig.idToken}}))
			wantPage(t, resp, body, http.StatusOK, "You are signed out")
			verifyLogoutToken(t, s, rc.next(t), c.ID, idTokenSID(t, rig.idToken), rig.u.ID)
			rc.none(t, 300*time.Millisecond)
		})

		t.Run("sign-out on the account page", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-account")
			_, page := rig.b.get(s.URL + "/account")
			csrf := html.UnescapeString(between(page, `name="csrf_token" value="`, `"`))
			resp, body := rig.b.postForm(s.URL+"/logout", url.Values{"csrf_token": {csrf}})
			wantPage(t, resp, body, http.StatusOK, "You are signed out")
			verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		})

		t.Run("an administrator ends the session", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-admin-end")
			token, _ := s.adminToken(t, "system", "admin:write")
			s.api(t, token, "DELETE", "/users/"+rig.u.ID+"/sessions/"+rig.sid, nil).want(t, http.StatusNoContent)
			verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		})

		t.Run("an administrator disables the user", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-disabled")
			token, _ := s.adminToken(t, "system", "admin:write")
			s.api(t, token, "PATCH", "/users/"+rig.u.ID, map[string]any{"status": "disabled"}).want(t, http.StatusOK)
			verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		})

		// The CLI queues the tokens of the sessions it ends; the running server delivers them.
		t.Run("a leavers import", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-leaver")
			if _, err := s.importCSV(t, "system", "username\nbcl-leaver\n", "--mode", "leavers"); err != nil {
				t.Fatal(err)
			}
			verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		})
		t.Run("users recover", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "bcl-recovered")
			if _, err := s.recoverCLI(t, "--org", "system", "--username", "bcl-recovered"); err != nil {
				t.Fatal(err)
			}
			verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		})
	})
}

func TestBackchannelLogoutRetried(t *testing.T) {
	eachLogoutDB(t, func(t *testing.T, dsn string) {
		s, _ := startLogoutServer(t, dsn, "", 50*time.Millisecond)
		rc := newLogoutReceiver(t, http.StatusInternalServerError)
		c := s.createClient("--name", "Flaky RP", "--redirect-uri", callback, "--backchannel-logout-uri", rc.URL)
		rig := newLogoutRig(t, s, c, "bcl-retry")
		resp, body := rig.b.get(logoutURL(s, url.Values{"id_token_hint": {rig.idToken}}))
		wantPage(t, resp, body, http.StatusOK, "You are signed out")
		rc.next(t) // answered 500
		verifyLogoutToken(t, s, rc.next(t), c.ID, rig.sid, rig.u.ID)
		var failed int64
		if err := s.env.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE action = 'logout.delivery_failed' AND client_id = ?`,
			c.ID).Scan(&failed).Error; err != nil || failed != 1 {
			t.Fatalf("logout.delivery_failed audit events: %d (%v), want 1", failed, err)
		}
	})
}

func TestBackchannelLogoutSurvivesRestart(t *testing.T) {
	eachLogoutDB(t, func(t *testing.T, dsn string) {
		// The first server's worker only looks at start, before anything is queued.
		first, stop := startLogoutServer(t, dsn, "", time.Hour)
		rc := newLogoutReceiver(t)
		c := first.createClient("--name", "RP", "--redirect-uri", callback, "--backchannel-logout-uri", rc.URL)
		rig := newLogoutRig(t, first, c, "bcl-restart")
		resp, body := rig.b.get(logoutURL(first, url.Values{"id_token_hint": {rig.idToken}}))
		wantPage(t, resp, body, http.StatusOK, "You are signed out")
		var queued int64
		if err := first.env.db.Raw(`SELECT COUNT(*) FROM logout_deliveries`).Scan(&queued).Error; err != nil || queued != 1 {
			t.Fatalf("queued deliveries: %d (%v), want 1", queued, err)
		}
		stop()
		rc.none(t, 100*time.Millisecond)

		second, _ := startLogoutServer(t, dsn, first.SecretFile, 50*time.Millisecond)
		verifyLogoutToken(t, second, rc.next(t), c.ID, rig.sid, rig.u.ID)
	})
}

func TestFrontchannelLogout(t *testing.T) {
	eachLogoutDB(t, func(t *testing.T, dsn string) {
		s, _ := startLogoutServer(t, dsn, "", 50*time.Millisecond)
		const front = "http://127.0.0.1:9/frontchannel"
		c := s.createClient("--name", "RP", "--redirect-uri", callback, "--post-logout-redirect-uri", postLogout,
			"--frontchannel-logout-uri", front, "--frontchannel-logout-session-required")
		wantCSP := httpx.CSP + "; frame-src http://127.0.0.1:9"
		check := func(t *testing.T, resp *http.Response, body, sid string) {
			t.Helper()
			wantPage(t, resp, body, http.StatusOK, "You are signed out")
			src := front + "?" + url.Values{"iss": {s.URL}, "sid": {sid}}.Encode()
			if !strings.Contains(body, `<iframe class="fc-logout" src="`+html.EscapeString(src)+`"`) {
				t.Fatalf("no front-channel iframe for %s: %s", src, body)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
				t.Fatalf("CSP %q, want %q", got, wantCSP)
			}
		}

		t.Run("RP-initiated logout", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "fcl-rp")
			resp, body := rig.b.get(logoutURL(s, url.Values{"id_token_hint": {rig.idToken},
				"post_logout_redirect_uri": {postLogout}, "state": {"st"}}))
			check(t, resp, body, idTokenSID(t, rig.idToken))
			if !strings.Contains(body, `href="`+html.EscapeString(postLogout+"?state=st")+`"`) {
				t.Fatalf("no link back to the app: %s", body)
			}
		})

		t.Run("sign-out on the account page", func(t *testing.T) {
			rig := newLogoutRig(t, s, c, "fcl-account")
			_, page := rig.b.get(s.URL + "/account")
			csrf := html.UnescapeString(between(page, `name="csrf_token" value="`, `"`))
			resp, body := rig.b.postForm(s.URL+"/logout", url.Values{"csrf_token": {csrf}})
			check(t, resp, body, rig.sid)
		})

		t.Run("no frames, no widened policy, for a session without such apps", func(t *testing.T) {
			plain := s.createClient("--name", "Plain", "--redirect-uri", callback)
			rig := newLogoutRig(t, s, plain, "fcl-none")
			resp, body := rig.b.get(logoutURL(s, url.Values{"id_token_hint": {rig.idToken}}))
			wantPage(t, resp, body, http.StatusOK, "You are signed out")
			if strings.Contains(body, "<iframe") || resp.Header.Get("Content-Security-Policy") != httpx.CSP {
				t.Fatalf("frames or CSP %q on a plain sign-out: %s", resp.Header.Get("Content-Security-Policy"), body)
			}
		})
	})
}
