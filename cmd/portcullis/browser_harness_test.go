package main

// The harness of the real-browser tests: one headless Chromium shared by the package, driven over
// the DevTools protocol (chromedp). Each "device" is a browser context of its own (its own cookies)
// with its own virtual authenticator (DevTools WebAuthn domain), so passkeys are created and used
// by the browser's real WebAuthn implementation against the real server.

import (
	"context"
	"encoding/json"
	"errors"

	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// envChromium names the Chromium binary; scripts/test.sh sets it. Without it the browser tests
// fail: they are never skipped.
const envChromium = "PORTCULLIS_TEST_CHROMIUM"

// envScreenshots names a directory for PNG screenshots of the pages the tests visit.
const envScreenshots = "PORTCULLIS_SCREENSHOTS"

// browserStep bounds one browser action (a navigation, a click, a wait).
const browserStep = 15 * time.Second

// TestMain closes the shared browser (if a test started one) when the package's tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	sharedBrowser.stop()
	os.Exit(code)
}

// chrome is the one browser process of the package, started by the first test that needs it.
var sharedBrowser sharedBrowserProcess

type sharedBrowserProcess struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

func (c *sharedBrowserProcess) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// browserContext returns the context of the shared browser, starting it on first use.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv(envChromium)
	if path == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test.sh, which names Chromium", envChromium)
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		t.Fatalf("%s=%s: no Chromium binary there (%v)", envChromium, path, err)
	}
	sharedBrowser.once.Do(func() {
		dir, err := os.MkdirTemp("", "portcullis-chromium-")
		if err != nil {
			sharedBrowser.err = err
			return
		}
		sharedBrowser.dir = dir
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.UserDataDir(dir),
			chromedp.NoSandbox,
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.WindowSize(1100, 850),
		)
		allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
		sharedBrowser.ctx = ctx
		sharedBrowser.cancel = func() { cancel(); allocCancel() }
		// The first call starts the browser; it has no timeout, which would end the browser.
		sharedBrowser.err = chromedp.Do(ctx)
	})
	if sharedBrowser.err != nil {
		t.Fatalf("start Chromium at %s: %v", path, sharedBrowser.err)
	}
	return sharedBrowser.ctx
}

// device is a browser with its own cookies and its own platform authenticator.
type browserDevice struct {
	t    *testing.T
	name string
	ctx  context.Context
	auth webauthn.AuthenticatorID

	mu       sync.Mutex
	requests []sentRequest
	dialogs  []string
}

// sentRequest is a request the page sent, as the browser saw it.
type sentRequest struct {
	Method, URL, Body string
}

// authenticator says what kind of passkeys a device's authenticator makes.
type authKind struct {
	synced bool // backup eligible and backed up (a synced passkey), else device-bound
}

var (
	deviceBoundKeys = authKind{}
	syncedKeys      = authKind{synced: true}
)

// newDevice opens a new browser context (a fresh profile: no cookies) with a virtual platform
// authenticator that verifies the user and approves every prompt at once.
func newBrowserDevice(t *testing.T, name string, kind authKind) *browserDevice {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserContext(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first call opens the tab; like the browser's, it must have no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a browser context: %v", name, err)
	}
	d := &browserDevice{t: t, name: name, ctx: ctx}
	if err := chromedp.Listen(ctx, d.record); err != nil {
		t.Fatal(err)
	}
	// Accept every window.confirm (the account page asks before removing a passkey).
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.dialogs = append(d.dialogs, ev.Message)
			d.mu.Unlock()
			hctx, hcancel := context.WithTimeout(ctx, browserStep)
			_, _ = chromedp.Call(hctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			hcancel()
		}
	}()
	cctx, ccancel := context.WithTimeout(ctx, browserStep)
	defer ccancel()
	if _, err := chromedp.Call(cctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: webauthnProbe}); err != nil {
		t.Fatalf("%s: add the WebAuthn probe: %v", name, err)
	}
	if _, err := chromedp.Call(cctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("%s: WebAuthn.enable: %v", name, err)
	}
	res, err := chromedp.Call(cctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true, // left false, every ceremony waits for a touch that never comes
			DefaultBackupEligibility:    kind.synced,
			DefaultBackupState:          kind.synced,
		}})
	if err != nil {
		t.Fatalf("%s: add a virtual authenticator: %v", name, err)
	}
	d.auth = res.AuthenticatorID
	return d
}

// presence turns the authenticator's automatic approval of prompts on or off. Off, a ceremony
// that starts waits for ever: the person has not touched anything.
func (d *browserDevice) presence(on bool) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation,
		webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: d.auth, Enabled: on}); err != nil {
		d.t.Fatalf("%s: set presence simulation: %v", d.name, err)
	}
}

// openSignIn loads u, a URL that shows (or redirects to) the sign-in page, the way a person who
// ignores the autofill suggestion sees it. The sign-in page starts an autofill (conditional)
// passkey request as it loads, and Chromium's virtual environment answers such a request at once
// with the first passkey it holds, so a device with a passkey would sign in before anyone clicks.
// openSignIn therefore loads the page with the authenticator's approval off, waits until the
// autofill request is pending, and turns approval back on for the prompt the test opens next.
func (d *browserDevice) openSignIn(base, u string) *url.URL {
	d.t.Helper()
	d.presence(false)
	d.navigate(u)
	at := d.waitPath(base, "/login")
	deadline := time.Now().Add(browserStep)
	for {
		calls := d.webauthnCalls()
		if len(calls) == 1 && calls[0].Kind == "get" && calls[0].Mediation == "conditional" && calls[0].State == "pending" {
			break
		}
		if len(calls) > 1 || time.Now().After(deadline) {
			d.t.Fatalf("%s: the sign-in page did not start one autofill request: %+v", d.name, calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The page has called navigator.credentials.get; give the browser a moment to hand the
	// request to the (not approving) authenticator before approval comes back on.
	time.Sleep(250 * time.Millisecond)
	d.presence(true)
	return at
}

// record keeps the requests the page sends (it runs on the browser's reading goroutine).
func (d *browserDevice) record(ev any) {
	e, ok := ev.(*network.EventRequestWillBeSent)
	if !ok || e.Request == nil {
		return
	}
	var body strings.Builder
	for _, p := range e.Request.PostDataEntries {
		body.Write(p.Bytes)
	}
	d.mu.Lock()
	d.requests = append(d.requests, sentRequest{Method: e.Request.Method, URL: e.Request.URL, Body: body.String()})
	d.mu.Unlock()
}

// sent returns the requests sent so far whose URL path is path.
func (d *browserDevice) sent(path string) []sentRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []sentRequest
	for _, r := range d.requests {
		if u, err := url.Parse(r.URL); err == nil && u.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// forgetRequests clears the request log.
func (d *browserDevice) forgetRequests() {
	d.mu.Lock()
	d.requests = nil
	d.mu.Unlock()
}

func (d *browserDevice) confirmations() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialogs...)
}

// do runs browser actions with a time limit, failing the test on error.
func (d *browserDevice) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		d.t.Fatalf("%s: %s: %v (at %s, status %q)", d.name, what, err, d.location(), d.statusText())
	}
}

// evalJS evaluates a JavaScript expression in the device's page.
func evalJS[T any](d *browserDevice, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// mustEval evaluates expr and fails the test on error.
func mustEval[T any](d *browserDevice, expr string) T {
	d.t.Helper()
	v, err := evalJS[T](d, expr)
	if err != nil {
		d.t.Fatalf("%s: evaluate %s: %v", d.name, expr, err)
	}
	return v
}

// navigate loads u and waits for the page to load; it returns the HTTP status of the document.
func (d *browserDevice) navigate(u string) int64 {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		d.t.Fatalf("%s: navigate to %s: %v", d.name, u, err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// startNavigation sends the browser to u without waiting for a page to load there (the page may
// move on by itself, as the sign-in page does when autofill signs in).
func (d *browserDevice) startNavigation(u string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: u})
	if err == nil && res.ErrorText != "" {
		err = errors.New(res.ErrorText)
	}
	if err != nil {
		d.t.Fatalf("%s: navigate to %s: %v", d.name, u, err)
	}
}

// location returns the page's URL, or "" while it cannot be read (during a navigation).
func (d *browserDevice) location() string {
	s, _ := evalJS[string](d, `document.location.href`)
	return s
}

// waitPath waits until the page is a document of the server at path (query ignored).
func (d *browserDevice) waitPath(base, path string) *url.URL {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for {
		// One evaluation, so that the address and the state are of the same document: a loaded
		// one, and not the one a click left (see click).
		page, _ := evalJS[struct {
			Href  string `json:"href"`
			Ready bool   `json:"ready"`
		}](d, `({href: document.location.href, ready: document.readyState === "complete" && !window.__portcullisLeft})`)
		loc := page.Href
		if u, err := url.Parse(loc); err == nil && page.Ready && strings.HasPrefix(loc, base) && u.Path == path {
			return u
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: waited for %s%s, the page is %s (status %q)", d.name, base, path, loc, d.statusText())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// text returns the text of the first element matching a CSS selector ("" if there is none).
func (d *browserDevice) text(selector string) string {
	d.t.Helper()
	return mustEval[string](d, fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e?e.textContent.trim().replace(/\s+/g," "):""})()`, jsString(selector)))
}

// statusText is the text of the page's #status line ("" when the page has none).
func (d *browserDevice) statusText() string {
	s, _ := evalJS[string](d, `(function(){var e=document.getElementById("status");return e?e.textContent:""})()`)
	return s
}

// waitStatus waits until #status shows an error and returns its text.
func (d *browserDevice) waitStatusError() string {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for time.Now().Before(deadline) {
		cls, _ := evalJS[string](d, `(function(){var e=document.getElementById("status");return e?e.className:""})()`)
		if strings.Contains(cls, "error") {
			return d.statusText()
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.t.Fatalf("%s: no error in #status after %s (page %s, status %q)", d.name, browserStep, d.location(), d.statusText())
	return ""
}

// buttonsEnabled reports whether every passkey button of the page can be pressed (the page
// disables them while a ceremony runs).
func (d *browserDevice) buttonsEnabled() bool {
	d.t.Helper()
	return mustEval[bool](d, `Array.from(document.querySelectorAll("button[data-passkey]")).every(function (b) { return !b.disabled; })`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// click clicks the element a CSS selector matches, as a person would (mouse events). It first
// marks the document, so that waitPath waits for the next document even at the same address.
func (d *browserDevice) click(selector string) {
	d.t.Helper()
	d.do("click "+selector, chromedp.Evaluate[chromedp.Void](`window.__portcullisLeft = true`), chromedp.Click(chromedp.CSS(selector)))
}

// typeInto focuses a field, clears it and types text into it with key events.
func (d *browserDevice) typeInto(selector, text string) {
	d.t.Helper()
	d.do("type into "+selector, chromedp.Clear(chromedp.CSS(selector)), chromedp.SendKeys(chromedp.CSS(selector), text))
}

// cookie returns the value of the named cookie the browser holds for base ("" if none).
func (d *browserDevice) cookie(base, name string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		d.t.Fatalf("%s: get cookies: %v", d.name, err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// deleteCookie removes the named cookie for base.
func (d *browserDevice) deleteCookie(base, name string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: base + "/"}); err != nil {
		d.t.Fatalf("%s: delete cookie %s: %v", d.name, name, err)
	}
}

// setCookie gives the browser a cookie for base.
func (d *browserDevice) setCookie(base, name, value string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	httpOnly := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: base + "/",
		Path: "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax}); err != nil {
		d.t.Fatalf("%s: set cookie %s: %v", d.name, name, err)
	}
}

// credentials lists the passkeys the device's authenticator holds.
func (d *browserDevice) credentials() []*webauthn.Credential {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: d.auth})
	if err != nil {
		d.t.Fatalf("%s: list the authenticator's credentials: %v", d.name, err)
	}
	return res.Credentials
}

// shot saves a PNG screenshot of the page as NAME.png in $PORTCULLIS_SCREENSHOTS, if set.
func (d *browserDevice) shot(name string) {
	d.t.Helper()
	dir := os.Getenv(envScreenshots)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, browserStep)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		d.t.Errorf("%s: screenshot %s: %v", d.name, name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.t.Errorf("screenshot dir: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		d.t.Errorf("screenshot %s: %v", name, err)
	}
}

// --- Server-side helpers -------------------------------------------------------------------

var setupLinkRE = regexp.MustCompile(`https?://\S+/setup/\S+`)

// cliSetupLink runs `portcullis setup-link` and returns the link it prints.
func (s *testServer) cliSetupLink(t *testing.T) string {
	t.Helper()
	out, err := s.cli("setup-link")
	if err != nil {
		t.Fatalf("setup-link: %v", err)
	}
	link := setupLinkRE.FindString(out)
	if link == "" {
		t.Fatalf("setup-link printed no link: %q", out)
	}
	return link
}

// enrollment is the output of `portcullis users create --output json`.
type cliEnrollment struct {
	UserID        string `json:"user_id"`
	Username      string `json:"username"`
	EnrollmentURL string `json:"enrollment_url"`
}

// createEnrollment creates a user with the CLI and returns their enrollment link.
func (s *testServer) cliCreateUser(t *testing.T, username, displayName string) cliEnrollment {
	t.Helper()
	out, err := s.cli("users", "create", "--username", username, "--display-name", displayName,
		"--email", username+"@example.com", "--output", "json")
	if err != nil {
		t.Fatalf("users create: %v", err)
	}
	var e cliEnrollment
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.EnrollmentURL == "" || e.UserID == "" {
		t.Fatalf("users create output %q: %v", out, err)
	}
	return e
}

// enrollInBrowser creates a user with the CLI and creates their passkey on device d through the
// enrollment page; d ends on the account page, signed in.
func (s *testServer) enrollInBrowser(t *testing.T, d *browserDevice, username string) cliEnrollment {
	t.Helper()
	e := s.cliCreateUser(t, username, "Test "+username)
	d.navigate(e.EnrollmentURL)
	d.typeInto("#passkey-name", d.name)
	d.click("#passkey-create")
	d.waitPath(s.URL, "/account")
	return e
}

// callbackServer is the relying party's redirect URI: a loopback server that hands over every
// request it receives.
type rpCallback struct {
	URL  string // …/callback
	base string // the server's root URL
	hits chan *url.URL
}

func newRPCallback(t *testing.T) *rpCallback {
	t.Helper()
	cb := &rpCallback{hits: make(chan *url.URL, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		u := *r.URL
		select {
		case cb.hits <- &u:
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><title>Test app</title><h1>Back at the test app</h1>")
	}))
	t.Cleanup(srv.Close)
	cb.base, cb.URL = srv.URL, srv.URL+"/callback"
	return cb
}

// browserRP is a relying party whose redirect URI is a callback server the browser can reach.
func browserRP(t *testing.T, s *testServer) (*rp, *rpCallback) {
	t.Helper()
	cb := newRPCallback(t)
	c := s.createClient("--name", "Browser test app", "--type", "public", "--redirect-uri", cb.URL)
	r := newRP(t, s, c, oidc.ScopeOpenID, "profile", "email")
	r.config.RedirectURL = cb.URL
	return r, cb
}

// flow is one authorization request of the relying party.
type rpFlow struct {
	verifier, nonce, state string
	URL                    string
}

// browserFlow builds an authorization request with PKCE (S256) and a nonce.
func (r *rp) browserFlow(extra ...oauth2.AuthCodeOption) rpFlow {
	f := rpFlow{verifier: oauth2.GenerateVerifier(), nonce: "nonce-" + oauth2.GenerateVerifier()[:16],
		state: "state-" + oauth2.GenerateVerifier()[:16]}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, extra...)
	f.URL = r.config.AuthCodeURL(f.state, opts...)
	return f
}

// waitCode waits for the browser to arrive at the callback and returns the code.
func (cb *rpCallback) waitCode(t *testing.T, d *browserDevice, f rpFlow) string {
	t.Helper()
	select {
	case u := <-cb.hits:
		q := u.Query()
		if e := q.Get("error"); e != "" {
			t.Fatalf("authorize error %s: %s", e, q.Get("error_description"))
		}
		if q.Get("state") != f.state {
			t.Fatalf("state %q, want %q", q.Get("state"), f.state)
		}
		if q.Get("code") == "" {
			t.Fatalf("callback without a code: %s", u)
		}
		d.waitPath(cb.base, "/callback") // the browser has shown the app's page
		return q.Get("code")
	case <-time.After(browserStep):
		t.Fatalf("%s: the browser never reached the callback; it is at %s (status %q)", d.name, d.location(), d.statusText())
		return ""
	}
}

// noCallback fails if the browser reached the callback.
func (cb *rpCallback) noCallback(t *testing.T) {
	t.Helper()
	select {
	case u := <-cb.hits:
		t.Fatalf("the browser reached the callback: %s", u)
	default:
	}
}

// idClaims are the sign-in claims of an ID token.
type passkeyClaims struct {
	Subject  string   `json:"sub"`
	AuthTime int64    `json:"auth_time"`
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	SID      string   `json:"sid"`
	Username string   `json:"preferred_username"`
}

// redeemBrowserCode exchanges the code with its PKCE verifier and verifies the ID token (signature,
// issuer, audience, expiry, nonce).
func (r *rp) redeemBrowserCode(t *testing.T, f rpFlow, code string) passkeyClaims {
	t.Helper()
	ctx := context.Background()
	tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idt.Nonce != f.nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, f.nonce)
	}
	var c passkeyClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
