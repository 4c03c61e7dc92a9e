package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// oauth2ProxyModule is the oauth2-proxy release the guide is tested with; go install builds it
// from the Go module proxy, like every other module the project uses.
const (
	oauth2ProxyModule  = "github.com/oauth2-proxy/oauth2-proxy/v7"
	oauth2ProxyVersion = "v7.15.6"
)

// oauth2ProxyBinary returns the path of an oauth2-proxy build, building it on first use into a
// directory under the user's cache directory so that later runs reuse it. A failed build fails
// the test: the guide is never left untested.
func oauth2ProxyBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the oauth2-proxy build: %v", err)
	}
	dir := filepath.Join(cache, "portcullis-test", "oauth2-proxy-"+oauth2ProxyVersion)
	bin := filepath.Join(dir, "oauth2-proxy")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building oauth2-proxy needs the go command: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Built into a fresh directory and renamed into place, so that a run that stops half-way
	// never leaves a broken binary for the next one.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "install", oauth2ProxyModule+"@"+oauth2ProxyVersion)
	cmd.Dir = tmp // outside this module: go install pkg@version builds the release's own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", oauth2ProxyModule, oauth2ProxyVersion, err, out)
	}
	t.Logf("built oauth2-proxy %s in %s", oauth2ProxyVersion, time.Since(start).Round(time.Second))
	if err := os.Rename(filepath.Join(tmp, "oauth2-proxy"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// internalTool is the upstream oauth2-proxy protects: it shows and records the identity headers
// of each request.
type internalTool struct {
	URL string
	mu  sync.Mutex
	got []http.Header
}

func newInternalTool(t *testing.T) *internalTool {
	t.Helper()
	tool := &internalTool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tool.mu.Lock()
		tool.got = append(tool.got, r.Header.Clone())
		tool.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>Internal tool</title><h1>Internal tool</h1>
<p id="user">%s</p><p id="email">%s</p><p id="username">%s</p>`,
			html.EscapeString(r.Header.Get("X-Forwarded-User")), html.EscapeString(r.Header.Get("X-Forwarded-Email")),
			html.EscapeString(r.Header.Get("X-Forwarded-Preferred-Username")))
	}))
	t.Cleanup(srv.Close)
	tool.URL = srv.URL
	return tool
}

func (tool *internalTool) requests() []http.Header {
	tool.mu.Lock()
	defer tool.mu.Unlock()
	return append([]http.Header(nil), tool.got...)
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGuideOAuth2Proxy follows docs/integrations/oauth2-proxy.md with the real oauth2-proxy: the
// guide's registration command and its oauth2-proxy command (placeholders replaced by the test's
// addresses) in front of a test upstream; in Chromium, a person with a passkey opens the tool,
// signs in at Portcullis with the passkey and sees the tool, which receives their identity.
func TestGuideOAuth2Proxy(t *testing.T) {
	g := readGuide(t, "oauth2-proxy.md")
	g.mustMention(t, "Tested with oauth2-proxy "+oauth2ProxyVersion, "--cookie-secure=false")
	bin := oauth2ProxyBinary(t)
	s := startServer(t, testdb.SQLiteDSN(t), "")
	tool := newInternalTool(t)
	port := freePort(t)
	proxyBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	callbackURL := proxyBase + "/oauth2/callback"

	c, _ := runGuideCLI(t, s, g, map[string]string{"https://tool.example.com/oauth2/callback": callbackURL})
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	args := replaceWords(t, g.command(t, "oauth2-proxy"), map[string]string{
		guideIssuer:      s.URL,
		"$CLIENT_ID":     c.ID,
		"$CLIENT_SECRET": c.Secret,
		"$COOKIE_SECRET": base64.URLEncoding.EncodeToString(secret),
		"https://tool.example.com/oauth2/callback": callbackURL,
		"127.0.0.1:4180":         fmt.Sprintf("127.0.0.1:%d", port),
		"http://127.0.0.1:8081/": tool.URL + "/",
	})[1:]
	// The guide's advice for a trial over plain http, which this is.
	args = append(args, "--cookie-secure=false")

	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	proxy := exec.CommandContext(ctx, bin, args...)
	proxy.Stdout, proxy.Stderr = &logs, &logs
	if err := proxy.Start(); err != nil {
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proxy.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", logs.String())
		}
	})
	waitReady(t, proxyBase+"/ping", exited, &logs)

	d := newBrowserDevice(t, "Ivy's laptop", deviceBoundKeys)
	e := s.enrollInBrowser(t, d, "ivy")
	// oauth2-proxy needs an email; Portcullis releases only a verified one, and an address the
	// operator gave with users create counts as verified.
	if u, err := directory.NewStore(s.env.db).GetUser(context.Background(), e.UserID); err != nil || !u.EmailVerified {
		t.Fatalf("the operator-given address is not verified: %+v, %v", u, err)
	}
	d.deleteCookie(s.URL, sessionCookieName) // signed out of Portcullis: only the passkey is left
	d.forgetRequests()

	// The tool sends the browser to Portcullis, where the person signs in with the passkey.
	d.openSignIn(s.URL, proxyBase+"/")
	d.click("#passkey-any")
	d.waitPath(proxyBase, "/")
	if got := d.text("h1"); got != "Internal tool" {
		t.Fatalf("after sign-in the page is %q at %s, want the internal tool", got, d.location())
	}
	if len(d.sent("/login/finish")) != 1 {
		t.Fatal("no passkey sign-in at Portcullis")
	}
	auth := d.sent("/oauth2/auth")
	if len(auth) == 0 {
		t.Fatal("oauth2-proxy never sent the browser to the authorization endpoint")
	}
	q := mustParseURL(t, auth[0].URL).Query()
	if q.Get("client_id") != c.ID || q.Get("code_challenge_method") != "S256" || q.Get("acr_values") != "phr" ||
		q.Get("redirect_uri") != callbackURL {
		t.Fatalf("oauth2-proxy's authorization request %s: want the guide's client, PKCE S256 and acr_values=phr", auth[0].URL)
	}

	// The tool saw who signed in, as the guide's header table says.
	reqs := tool.requests()
	if len(reqs) == 0 {
		t.Fatal("the internal tool received no request")
	}
	h := reqs[len(reqs)-1]
	want := map[string]string{"X-Forwarded-User": e.UserID, "X-Forwarded-Email": "ivy@example.com", "X-Forwarded-Preferred-Username": "ivy"}
	for name, v := range want {
		if got := h.Get(name); got != v {
			t.Errorf("the tool received %s %q, want %q", name, got, v)
		}
		g.mustMention(t, "| `"+name+"` |")
	}
	if got := d.text("#email"); got != "ivy@example.com" {
		t.Errorf("the tool's page shows %q", got)
	}
	d.shot("guide-oauth2-proxy")

	// A browser without the proxy's cookie is sent to Portcullis, and nothing without an
	// identity ever reached the tool.
	resp, _ := newBrowser(t).get(proxyBase + "/")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), s.URL+"/oauth2/auth?") {
		t.Fatalf("unauthenticated request: %d to %q, want a redirect to Portcullis", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, h := range tool.requests() {
		if h.Get("X-Forwarded-User") != e.UserID {
			t.Fatalf("the tool received a request without the signed-in identity: %v", h)
		}
	}
}

// waitReady polls u until it answers 200, failing if the process exits or 30 s pass.
func waitReady(t *testing.T, u string, exited <-chan error, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("oauth2-proxy exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy not ready at %s after 30s\n%s", u, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
