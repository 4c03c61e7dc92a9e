package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/provider/store"
)

// BenchmarkFullSignIn measures whole passkey sign-ins at a relying party on SQLite, each as a
// browser and a relying party make it:
//
//  1. GET /oauth2/auth (code flow with PKCE, no session): parked, 303 to /login?request=…
//  2. GET /login?request=… : the sign-in page, for its CSRF token (its script and stylesheet are
//     cached by a real browser and not fetched)
//  3. POST /login/begin (username first): request options and a ceremony cookie
//  4. the authenticator signs the challenge (softKey, in this process)
//  5. POST /login/finish : the assertion is verified, a session starts
//  6. GET /oauth2/auth/resume?request=… : 303 to the callback with a code
//  7. POST /oauth2/token : the relying party exchanges the code (client_secret_basic, PKCE
//     verifier) for an ID token, access token and refresh token
//
// Requests go straight into the server's handler (all middleware, fosite, storage) with cookies
// carried by hand, as in bench_test.go. Each of runPerCPU's goroutines (8 per CPU) is one user
// with their own device-bound passkey, so signature counters stay in order.
//
// Accounting, as runPerCPU: process CPU time over the parallel loop. That includes the
// authenticator's ECDSA signature and its JSON work, which a real deployment does not pay (it
// happens on the user's device), and the client side of each request (building requests and
// decoding replies), which is small. Two figures are reported:
//
//   - signins_per_cpu_s: sign-ins per process CPU-second, everything included (a lower bound);
//   - signins_per_server_cpu_s: the same with the authenticator's share taken out. That share is
//     measured separately after the loop: the same authenticator answering the same kind of
//     options, on one goroutine, timed by process CPU; authenticator_us_per_signin reports it.
//
// The target is 1,000 sign-ins per server CPU-second.
//
//	go test ./cmd/portcullis -run '^$' -bench FullSignIn -benchtime 5s
func BenchmarkFullSignIn(b *testing.B) {
	s := benchServer(b)
	// A first-party app (a company's own, like the CMS): no consent page in the way.
	c := benchClient(b, s, "--name", "Bench app", "--redirect-uri", callback, "--first-party")
	h := s.app.handler
	ctx := context.Background()

	// One account per goroutine of RunParallel (parallelism × GOMAXPROCS goroutines).
	const parallelism = 8
	n := parallelism * runtime.GOMAXPROCS(0)
	accounts := make(chan *pkBenchAccount, n)
	users := directory.NewStore(s.env.db)
	var first *pkBenchAccount
	for i := range n {
		a := &pkBenchAccount{username: fmt.Sprintf("bench%d", i), key: newSoftKey(s.URL, false)}
		u, err := users.CreateUser(ctx, directory.User{Username: a.username, DisplayName: "Bench " + a.username,
			Email: a.username + "@example.com", EmailVerified: true})
		if err != nil {
			b.Fatal(err)
		}
		options, token, err := s.app.passkeys.BeginRegistration(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		cred, err := a.key.Create(options)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.app.passkeys.FinishRegistration(ctx, token, u, cred, "", passkey.AddedViaEnrollment); err != nil {
			b.Fatalf("register %s: %v (%s)", a.username, err, passkey.Detail(err))
		}
		// One sign-in each before the clock starts: it must work, and it warms the caches.
		if err := a.signIn(h, s.URL, c); err != nil {
			b.Fatalf("warm-up sign-in of %s: %v", a.username, err)
		}
		if first == nil {
			first = a
		}
		accounts <- a
	}

	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		a := <-accounts
		for pb.Next() {
			if err := a.signIn(h, s.URL, c); err != nil {
				if failed.Add(1) == 1 {
					b.Error(err)
				}
			}
		}
	})
	cpu := cpuTime() - start
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d sign-ins failed", failed.Load(), b.N)
	}

	// The authenticator's CPU per sign-in: the same work (parse the options, sign, encode the
	// credential) on options the server really sent.
	calls := max(b.N, 500)
	authStart := cpuTime()
	for range calls {
		if _, err := first.key.Get(first.options, false); err != nil {
			b.Fatal(err)
		}
	}
	perAuth := (cpuTime() - authStart) / time.Duration(calls)

	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "signins_per_cpu_s")
		b.ReportMetric(float64(perAuth.Microseconds()), "authenticator_us_per_signin")
		if server := cpu - time.Duration(b.N)*perAuth; server > 0 {
			b.ReportMetric(float64(b.N)/server.Seconds(), "signins_per_server_cpu_s")
		}
	}
	if rows, commits := store.BatchStats(); commits > 0 {
		b.ReportMetric(float64(rows)/float64(commits), "rows_per_commit")
	}
}

// pkBenchAccount is one user with their passkey, signing in from one browser at a time.
type pkBenchAccount struct {
	username string
	key      *softKey
	options  []byte // the last request options the server sent
}

// pkBenchJar holds one browser's cookies for the server.
type pkBenchJar map[string]string

// do sends a request into the handler with the jar's cookies and keeps the cookies it sets.
func (j pkBenchJar) do(h http.Handler, method, target string, body []byte, csrf string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	for name, value := range j {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
	return w
}

var errBenchCSRF = errors.New("sign-in page without a csrf-token meta")

// pkBenchCSRF reads the page's <meta name="csrf-token">.
func pkBenchCSRF(page string) (string, error) {
	const marker = `<meta name="csrf-token" content="`
	i := strings.Index(page, marker)
	if i < 0 {
		return "", errBenchCSRF
	}
	rest := page[i+len(marker):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", errBenchCSRF
	}
	return rest[:j], nil
}

// signIn makes one full sign-in at the relying party c, from a new browser (no session).
func (a *pkBenchAccount) signIn(h http.Handler, base string, c registered) error {
	jar := pkBenchJar{}
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	q := url.Values{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"openid profile email"},
		"redirect_uri": {callback}, "state": {state}, "nonce": {rand.Text()},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	w := jar.do(h, http.MethodGet, base+"/oauth2/auth?"+q.Encode(), nil, "")
	login, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || err != nil || login.Path != "/login" {
		return fmt.Errorf("authorize: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	request := login.Query().Get("request")

	w = jar.do(h, http.MethodGet, base+login.String(), nil, "")
	if w.Code != http.StatusOK {
		return fmt.Errorf("sign-in page: %d", w.Code)
	}
	csrf, err := pkBenchCSRF(w.Body.String())
	if err != nil {
		return err
	}

	body, _ := json.Marshal(map[string]string{"username": a.username, "request": request})
	w = jar.do(h, http.MethodPost, base+"/login/begin", body, csrf)
	if w.Code != http.StatusOK {
		return fmt.Errorf("begin: %d: %s", w.Code, w.Body)
	}
	a.options = bytes.Clone(w.Body.Bytes())
	cred, err := a.key.Get(a.options, false)
	if err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}

	body, _ = json.Marshal(map[string]any{"credential": json.RawMessage(cred), "request": request})
	w = jar.do(h, http.MethodPost, base+"/login/finish", body, csrf)
	var fin struct {
		Redirect string `json:"redirect"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &fin) != nil || fin.Redirect == "" {
		return fmt.Errorf("finish: %d: %s", w.Code, w.Body)
	}

	w = jar.do(h, http.MethodGet, base+fin.Redirect, nil, "")
	back, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || err != nil || !strings.HasPrefix(back.String(), callback) {
		return fmt.Errorf("resume: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	code := back.Query().Get("code")
	if code == "" || back.Query().Get("state") != state {
		return fmt.Errorf("callback %s: no code or wrong state", back)
	}

	w = serveForm(h, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {callback}, "code_verifier": {verifier}}, c.ID, c.Secret)
	var tok struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &tok) != nil || tok.IDToken == "" || tok.AccessToken == "" {
		return fmt.Errorf("token: %d: %s", w.Code, w.Body)
	}
	return nil
}
