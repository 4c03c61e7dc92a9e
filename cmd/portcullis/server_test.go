package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// opsServer is a test server whose life the test controls: stop ends it mid-test and reports
// what serve returned.
type opsServer struct {
	*testServer
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// opsStart starts a server like startServer, but with a given public issuer ("" for its own
// address), so that several servers can stand behind one issuer as they would behind a load
// balancer.
func opsStart(t *testing.T, dsn, secretFile, issuer string) *opsServer {
	t.Helper()
	o, err := opsStartErr(t, dsn, secretFile, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// opsStartErr is opsStart reporting failure as an error, so that it can run in a goroutine.
func opsStartErr(t *testing.T, dsn, secretFile, issuer string) (*opsServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	if issuer == "" {
		issuer = base
	}
	if secretFile == "" {
		secretFile = filepath.Join(t.TempDir(), "portcullis.secret")
	}
	cfg := Defaults()
	cfg.Issuer, cfg.Database, cfg.SecretFile, cfg.LogLevel = issuer, dsn, secretFile, "warn"
	ctx, cancel := context.WithCancel(context.Background())
	e, err := openEnv(ctx, cfg, testLogWriter{t}, true)
	if err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("openEnv: %w", err)
	}
	a, err := build(ctx, e)
	if err != nil {
		cancel()
		ln.Close()
		e.db.Close()
		return nil, fmt.Errorf("build: %w", err)
	}
	o := &opsServer{cancel: cancel, done: make(chan error, 1),
		testServer: &testServer{t: t, URL: base, DSN: dsn, SecretFile: secretFile, app: a, env: e}}
	go func() { o.done <- a.serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := o.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		e.db.Close()
	})
	return o, nil
}

// stop cancels the serve context and returns what serve returned (waiting at most 40s).
func (o *opsServer) stop() error {
	o.stopOnce.Do(func() {
		o.cancel()
		select {
		case o.stopErr = <-o.done:
		case <-time.After(40 * time.Second):
			o.stopErr = errors.New("serve did not return within 40s of the cancellation")
		}
	})
	return o.stopErr
}

// opsGet GETs u and returns the response with its body read.
func opsGet(t *testing.T, u string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := opsHTTP.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Two servers on one PostgreSQL database behind one issuer act as one provider.
func TestTwoServersOneDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.PostgresDSN(t)
	secretPath := filepath.Join(t.TempDir(), "portcullis.secret")
	a := opsStart(t, dsn, secretPath, "")
	b := opsStart(t, dsn, secretPath, a.URL) // same public issuer, other address

	// The JWKS of both are identical.
	ra, ja := opsGet(t, a.URL+"/.well-known/jwks.json", nil)
	rb, jb := opsGet(t, b.URL+"/.well-known/jwks.json", nil)
	if ra.StatusCode != http.StatusOK || rb.StatusCode != http.StatusOK || !bytes.Equal(ja, jb) {
		t.Fatalf("JWKS differ:\nA %d %s\nB %d %s", ra.StatusCode, ja, rb.StatusCode, jb)
	}
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(ja, &set); err != nil || len(set.Keys) != 4 {
		t.Fatalf("JWKS has %d keys (%v), want 4 (active and next for ES256 and RS256)", len(set.Keys), err)
	}

	// A client created through A's CLI works at B at once, and B's token is known to A.
	machine := a.createClient("--name", "Machine", "--grant-type", "client_credentials")
	tok := opsAccessToken(t, b.URL, machine)
	if r := opsIntrospect(t, a.URL, machine, tok); r["active"] != true || r["client_id"] != machine.ID {
		t.Fatalf("token from B introspected at A: %v", r)
	}

	// A code obtained at A is redeemed at B; the code is then spent at A too.
	web := a.createClient("--name", "Web", "--redirect-uri", callback)
	u := a.createUser("heidi")
	rA := newRP(t, a.testServer, web)
	br := newBrowser(t)
	verifier, nonce, state, resp := rA.authorize(br)
	a.signIn(br, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now().Add(-time.Second).Truncate(time.Second))
	code := codeFrom(t, resumeAfterLogin(t, a.testServer, br, resp), state)

	atB := rA.config
	atB.Endpoint.TokenURL = b.URL + "/oauth2/token"
	otok, err := atB.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code from A redeemed at B: %v", err)
	}
	raw, _ := otok.Extra("id_token").(string)
	idt, err := rA.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token from B: %v", err)
	}
	if idt.Nonce != nonce || idt.Subject != u.ID || idt.Issuer != a.URL {
		t.Fatalf("ID token from B: iss %q sub %q nonce %q", idt.Issuer, idt.Subject, idt.Nonce)
	}
	if err := opsVerifyAgainst(raw, a.URL, b.URL+"/.well-known/jwks.json", web.ID); err != nil {
		t.Fatalf("ID token against B's JWKS: %v", err)
	}
	// B's refresh token refreshes at A.
	st, refreshed := opsForm(t, a.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {otok.RefreshToken}}, web.ID, web.Secret)
	if st != http.StatusOK || refreshed["access_token"] == nil || refreshed["refresh_token"] == nil {
		t.Fatalf("refresh at A with B's refresh token: %d %v", st, refreshed)
	}
	// The code is spent at A too; replaying it revokes what it granted (RFC 6749 section 4.1.2),
	// wherever those tokens were issued.
	if _, err := rA.config.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code redeemed at B was accepted again at A")
	}
	if r := opsIntrospect(t, b.URL, web, refreshed["access_token"].(string)); r["active"] != false {
		t.Fatalf("after the code replay the refreshed access token is still active: %v", r)
	}
}

// Two servers starting at the same moment on one empty PostgreSQL database: one migrates, one set
// of keys is made. (The secret file exists, as in production; TestSecretFileConcurrentGeneration
// races its generation.)
func TestTwoServersConcurrentStart(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	secretPath := opsWriteFile(t, "portcullis.secret", base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n")
	var (
		servers [2]*opsServer
		errs    [2]error
		wg      sync.WaitGroup
	)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = opsStartErr(t, dsn, secretPath, "")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("server %d of 2 starting at once: %v", i+1, err)
		}
	}
	out, err := servers[0].cli("keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range opsParseKeys(t, out) {
		got = append(got, k.Alg+" "+k.State)
	}
	if want := []string{"ES256 active", "ES256 next", "RS256 active", "RS256 next"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("keys after a concurrent start: %v, want %v", got, want)
	}
	_, ja := opsGet(t, servers[0].URL+"/.well-known/jwks.json", nil)
	_, jb := opsGet(t, servers[1].URL+"/.well-known/jwks.json", nil)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("JWKS differ:\n%s\n%s", ja, jb)
	}
	// Both use the one secret: a client created with server 1's CLI authenticates at server 2.
	c := servers[0].createClient("--name", "Machine", "--grant-type", "client_credentials")
	opsAccessToken(t, servers[1].URL, c)
}

// Shutdown stops accepting connections and lets in-flight requests finish with a complete
// response; serve then returns nil.
func TestShutdownGraceful(t *testing.T) {
	s := opsStart(t, testdb.SQLiteDSN(t), "", "")
	c := s.createClient("--name", "Load", "--grant-type", "client_credentials")
	opsAccessToken(t, s.URL, c) // warm

	// A slow request: headers and half the body now, the rest after the shutdown began.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "grant_type=client_credentials"
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret)))
	_, err = fmt.Fprintf(conn, "POST /oauth2/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Authorization: Basic %s\r\nContent-Length: %d\r\n\r\n%s", strings.TrimPrefix(s.URL, "http://"), basic, len(body), body[:10])
	if err != nil {
		t.Fatal(err)
	}

	// Concurrent token requests, some of which are in flight when the shutdown starts.
	type result struct {
		status int
		ctype  string
		body   []byte
		err    error
	}
	var (
		mu      sync.Mutex
		results []result
		got     atomic.Int64
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
				resp, err := hc.Do(req)
				if err != nil {
					return // refused or closed once the server stops accepting: no response, nothing to check
				}
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				results = append(results, result{resp.StatusCode, resp.Header.Get("Content-Type"), b, rerr})
				mu.Unlock()
				got.Add(1)
			}
		}()
	}
	if ok, _ := opsEventually(10*time.Second, func() bool { return got.Load() >= 40 }); !ok {
		t.Fatalf("only %d responses before the shutdown", got.Load())
	}

	s.cancel() // as SIGTERM does
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-s.done:
		t.Fatalf("serve returned (%v) while a request was still in flight", err)
	default:
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("finishing the slow request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("slow request in flight at shutdown got no response: %v", err)
	}
	slow, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok map[string]any
	if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(slow, &tok) != nil || tok["access_token"] == "" || tok["access_token"] == nil {
		t.Fatalf("slow request: %d %q %v, want 200 with a token", resp.StatusCode, slow, err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	stopped.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, r := range results {
		var m map[string]any
		if r.err != nil || (r.status != http.StatusOK && (r.status < 400 || r.status > 499)) ||
			!strings.HasPrefix(r.ctype, "application/json") || json.Unmarshal(r.body, &m) != nil {
			t.Fatalf("a response during shutdown: %d %q %q (read error %v), want a complete 200/4xx JSON body", r.status, r.ctype, r.body, r.err)
		}
		if r.status == http.StatusOK && m["access_token"] == nil {
			t.Fatalf("200 without an access token: %s", r.body)
		}
	}
	if _, err := opsHTTP.Get(s.URL + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections after serve returned")
	}
}

// /readyz answers 503 while the schema is behind this binary, and 200 otherwise; /healthz stays 200.
func TestReadyzReflectsSchema(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		probe := func(path string, wantStatus int, wantBody string) {
			t.Helper()
			resp, body := opsGet(t, s.URL+path, nil)
			var got, want map[string]any
			_ = json.Unmarshal(body, &got)
			_ = json.Unmarshal([]byte(wantBody), &want)
			if resp.StatusCode != wantStatus || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("GET %s: %d %s, want %d %s", path, resp.StatusCode, body, wantStatus, wantBody)
			}
		}
		probe("/readyz", http.StatusOK, `{"status":"ok","database":"ok"}`)

		// Simulate a binary newer than the schema: migration 1 is no longer recorded.
		db := s.env.db
		if err := db.Exec("DELETE FROM goose_db_version WHERE version_id = ?", 1).Error; err != nil {
			t.Fatal(err)
		}
		probe("/readyz", http.StatusServiceUnavailable, `{"status":"unavailable","database":"not ready"}`)
		probe("/healthz", http.StatusOK, `{"status":"ok","version":"dev"}`)

		if err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", 1, true).Error; err != nil {
			t.Fatal(err)
		}
		probe("/readyz", http.StatusOK, `{"status":"ok","database":"ok"}`)
	})
}

// `serve --no-migrate` refuses a database whose schema is behind, and serves one that is current.
func TestReadyServeNoMigrate(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	secretPath := filepath.Join(t.TempDir(), "portcullis.secret")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--no-migrate", "--addr", addr, "--issuer", "http://" + strings.Replace(addr, "127.0.0.1", "localhost", 1),
		"--database", dsn, "--secret-file", secretPath, "--log-level", "warn"}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("serve --no-migrate on an empty database: %v, want an error telling to run migrate up", err)
	}
	if _, _, err := opsRun(t, "migrate", "up", "--database", dsn); err != nil {
		t.Fatal(err)
	}

	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(sctx, args, io.Discard, io.Discard) }()
	var exited error
	ok, _ := opsEventually(10*time.Second, func() bool {
		select {
		case exited = <-done:
			return true
		default:
		}
		resp, err := opsHTTP.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	stop()
	if exited != nil || !ok {
		t.Fatalf("serve --no-migrate on a current database: ready %t, returned early with %v", ok, exited)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after the cancellation, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of the cancellation")
	}
}

// Every response carries X-Request-Id: a sane incoming id is echoed, anything else replaced.
func TestRequestID(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for _, tc := range []struct {
		name, incoming string
		echo           bool
	}{
		{"none", "", false},
		{"uuid", "3f2b9c4e-8a7d-4c1e-9b2a-6d5e4f3a2b1c", true},
		{"word chars", "abc.DEF_123-xyz", true},
		{"exactly 8", "abcdefgh", true},
		{"exactly 64", strings.Repeat("a", 64), true},
		{"too short", "abc1234", false},
		{"too long", strings.Repeat("a", 65), false},
		{"space", "abc def ghi", false},
		{"markup", "<script>alert(1)</script>", false},
		{"log injection", "abcdefgh\" level=ERROR msg=forged", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/healthz", "/no-such-page", "/.well-known/openid-configuration"} {
				h := http.Header{}
				if tc.incoming != "" {
					h.Set("X-Request-Id", tc.incoming)
				}
				resp, _ := opsGet(t, s.URL+path, h)
				got := resp.Header.Values("X-Request-Id")
				if len(got) != 1 {
					t.Fatalf("%s: X-Request-Id %q, want exactly one", path, got)
				}
				switch {
				case tc.echo && got[0] != tc.incoming:
					t.Fatalf("%s: X-Request-Id %q, want the incoming %q echoed", path, got[0], tc.incoming)
				case !tc.echo && !generated.MatchString(got[0]):
					t.Fatalf("%s: X-Request-Id %q for incoming %q, want a generated 16-hex id", path, got[0], tc.incoming)
				case !tc.echo && seen[got[0]]:
					t.Fatalf("%s: generated X-Request-Id %q twice", path, got[0])
				}
				seen[got[0]] = true
			}
		})
	}
	// The token endpoint's error answers carry it too.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "token-request-0001")
	req.SetBasicAuth("nobody", "nothing")
	resp, err := opsHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Request-Id") != "token-request-0001" {
		t.Fatalf("token endpoint error: %d with X-Request-Id %q, want 401 echoing token-request-0001",
			resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
}
