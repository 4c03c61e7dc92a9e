package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// testServer is a real Portcullis server (the same wiring as `portcullis serve`) on a loopback
// port, with its own database and secret file.
type testServer struct {
	t          *testing.T
	URL        string
	DSN        string
	SecretFile string
	app        *app
	env        *env
}

// eachDB runs fn against a server on SQLite and one on PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, s *testServer)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startServer(t, testdb.SQLiteDSN(t), "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, startServer(t, testdb.PostgresDSN(t), "")) })
}

// startServer starts a server on dsn; secretFile "" means a fresh one in a temp dir.
func startServer(t *testing.T, dsn, secretFile string) *testServer {
	t.Helper()
	return startServerWith(t, dsn, secretFile, nil)
}

// startServerWith is startServer with configuration changes (mutate may be nil).
func startServerWith(t *testing.T, dsn, secretFile string, mutate func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if secretFile == "" {
		secretFile = filepath.Join(t.TempDir(), "portcullis.secret")
	}
	cfg := Defaults()
	cfg.Issuer = fmt.Sprintf("http://localhost:%d", port)
	cfg.Database = dsn
	cfg.SecretFile = secretFile
	cfg.LogLevel = "warn"
	if mutate != nil {
		mutate(&cfg)
	}
	return runServer(t, ln, cfg)
}

// runServer builds the server for cfg (as `portcullis serve` does) and serves it on ln until the
// test ends.
func runServer(t *testing.T, ln net.Listener, cfg Config) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := openEnv(ctx, cfg, testLogWriter{t}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		e.db.Close()
	})
	return &testServer{t: t, URL: cfg.Issuer, DSN: cfg.Database, SecretFile: cfg.SecretFile, app: a, env: e}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// cli runs a portcullis command against this server's database and secret.
func (s *testServer) cli(args ...string) (string, error) {
	var out, errb bytes.Buffer
	args = append(args, "--database", s.DSN, "--secret-file", s.SecretFile, "--issuer", s.URL, "--log-level", "warn")
	// Flags must precede positional arguments: move a trailing client id (no leading dash) last.
	args = reorderPositional(args)
	err := run(context.Background(), args, &out, &errb)
	if err != nil {
		return out.String(), fmt.Errorf("%v (stderr: %s)", err, errb.String())
	}
	return out.String(), nil
}

// reorderPositional moves the positional argument of show/delete/rotate-secret after the flags.
func reorderPositional(args []string) []string {
	if len(args) < 3 || args[0] != "clients" {
		return args
	}
	switch args[1] {
	case "show", "delete", "rotate-secret":
		id := args[2]
		return append(append(args[:2:2], args[3:]...), id)
	}
	return args
}

// registered is a client created through the CLI.
type registered struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// createClient registers a client. Test clients are first-party (no consent page) unless the
// arguments say --first-party=false, as the consent tests do.
func (s *testServer) createClient(args ...string) registered {
	s.t.Helper()
	out, err := s.cli(append([]string{"clients", "create", "--output", "json", "--first-party"}, args...)...)
	if err != nil {
		s.t.Fatalf("clients create: %v", err)
	}
	var r registered
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("clients create output %q: %v", out, err)
	}
	return r
}

// createUser adds a user to the system organisation.
func (s *testServer) createUser(username string, mutate ...func(*directory.User)) directory.User {
	s.t.Helper()
	u := directory.User{Username: username, DisplayName: "Test " + username, Email: username + "@example.com", EmailVerified: true}
	for _, m := range mutate {
		m(&u)
	}
	u, err := directory.NewStore(s.env.db).CreateUser(context.Background(), u)
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	*http.Client
	t *testing.T
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, Client: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn creates a sign-in session for u directly in the session store (the passkey sign-in of a
// later issue does this for real) and puts its cookie in the browser.
func (s *testServer) signIn(b *browser, u directory.User, method string, amr []string, acr string, authTime time.Time) session.Session {
	s.t.Helper()
	st := session.NewStore(s.env.db, s.env.secret.Hasher("session"))
	token, sess, err := st.Create(context.Background(), session.Session{UserID: u.ID, OrgID: u.OrgID, Method: method,
		AMR: amr, ACR: acr, AuthTime: authTime, ExpiresAt: time.Now().Add(time.Hour), UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		s.t.Fatal(err)
	}
	base, _ := url.Parse(s.URL)
	b.Jar.SetCookies(base, []*http.Cookie{{Name: "portcullis_session", Value: token, Path: "/"}})
	return sess
}

// get performs a GET and returns the response with its body read.
func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) postForm(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// location returns the parsed Location header of a redirect, failing the test otherwise.
func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("want a redirect, got %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
