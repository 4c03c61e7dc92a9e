package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestBrowserConsent drives a third-party app's consent in Chromium: the page is shown and
// allowed, remembered (no page the second time), shown again for a new scope and denied
// (access_denied at the callback); then the app is revoked on the account page and its refresh
// token stops working.
func TestBrowserConsent(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	cb := newRPCallback(t)
	app := s.createClient("--name", "Partner Timesheets", "--type", "public", "--redirect-uri", cb.URL, "--first-party=false",
		"--policy-uri", "https://timesheets.example/privacy", "--tos-uri", "https://timesheets.example/terms")
	rpWith := func(scopes ...string) *rp {
		r := newRP(t, s, app, scopes...)
		r.config.RedirectURL = cb.URL
		return r
	}
	d := newBrowserDevice(t, "Kim's laptop", deviceBoundKeys)
	s.enrollInBrowser(t, d, "kim")
	ctx := context.Background()

	// Shown, then allowed.
	r := rpWith("openid", "profile", "offline_access")
	f := r.browserFlow()
	d.navigate(f.URL)
	d.waitPath(s.URL, "/consent")
	d.shot("consent")
	if h := d.text("h1"); h != "Partner Timesheets wants to access your account" {
		t.Fatalf("consent heading %q", h)
	}
	if got := d.text("#consent-scopes"); !strings.Contains(got, "See your name and username") || !strings.Contains(got, "Stay connected") {
		t.Fatalf("consent page says %q", got)
	}
	if d.text("#consent-policy") == "" || d.text("#consent-terms") == "" {
		t.Fatal("the consent page does not link the app's policy and terms")
	}
	cb.noCallback(t)
	d.click("#consent-allow")
	tok, err := r.config.Exchange(ctx, cb.waitCode(t, d, f), oauth2.VerifierOption(f.verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange after consent: %v (refresh token %t)", err, tok != nil && tok.RefreshToken != "")
	}

	// Remembered: the same request goes straight back to the app.
	d.forgetRequests()
	f = r.browserFlow()
	d.navigate(f.URL)
	cb.waitCode(t, d, f)
	if n := len(d.sent("/consent")); n != 0 {
		t.Fatalf("a remembered decision showed the consent page (%d requests)", n)
	}

	// A new scope asks again; this time the user denies.
	wider := rpWith("openid", "profile", "offline_access", "email")
	f = wider.browserFlow()
	d.navigate(f.URL)
	d.waitPath(s.URL, "/consent")
	if got := d.text("#consent-scopes"); !strings.Contains(got, "See your email address") {
		t.Fatalf("asked again without the new scope: %q", got)
	}
	d.click("#consent-deny")
	select {
	case u := <-cb.hits:
		if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Has("code") {
			t.Fatalf("after deny the app got %s, want access_denied with its state", u)
		}
	case <-time.After(browserStep):
		t.Fatalf("after deny the browser never reached the app; it is at %s", d.location())
	}

	// The refresh token works until the app is revoked on the account page.
	fresh, err := r.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.RefreshToken == "" {
		t.Fatalf("refresh before revoke: %v", err)
	}
	d.navigate(s.URL + "/account")
	if got := d.text("#connected-apps"); !strings.Contains(got, "Partner Timesheets") || !strings.Contains(got, "See your name and username") ||
		strings.Contains(got, "See your email address") {
		t.Fatalf("connected apps: %q", got)
	}
	d.shot("connected-apps")
	d.click(`[id="app-` + app.ID + `"] button`)
	d.waitPath(s.URL, "/account")
	if d.text("#connected-apps-none") == "" {
		t.Fatalf("the app is still listed: %q", d.text("#connected-apps"))
	}
	if c := d.confirmations(); len(c) == 0 || !strings.Contains(c[len(c)-1], "Revoke Partner Timesheets") {
		t.Fatalf("revoke was not confirmed first: %q", c)
	}
	if _, err := r.config.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after revoke: %v, want invalid_grant", err)
	}
	var n int64
	if err := s.env.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE action = ? AND client_id = ?`, "consent.revoked", app.ID).Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("consent.revoked audited %d times (%v)", n, err)
	}

	// Revoked: the next sign-in to the app asks again.
	f = r.browserFlow()
	d.navigate(f.URL)
	d.waitPath(s.URL, "/consent")
}
