package main

// Issue 6: an organisation's branding on its sign-in pages and its password rules, set through
// the admin API, the admin pages and the command line.

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

const testLogo = "https://cdn.acme.example/logo.svg"

// TestBrandingAPIAndSignInPages: branding set through the API shows on the organisation's
// sign-in page with exactly the logo's origin allowed, its colour is served as a stylesheet,
// invalid values are refused naming the field, and another organisation's client changes only
// its own.
func TestBrandingAPIAndSignInPages(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		s.createOrg(t, "acme", "optional")
		s.createOrg(t, "globex", "off")
		rw, _ := s.adminToken(t, "acme", "admin:read", "admin:write")
		globex, _ := s.adminToken(t, "globex", "admin:read", "admin:write")

		// Unbranded: the page is as it always was.
		b := newBrowser(t)
		resp, body := b.get(s.URL + "/o/acme/login")
		if resp.StatusCode != http.StatusOK || strings.Contains(body, `id="brand"`) || strings.Contains(body, "brand.css") {
			t.Fatalf("unbranded login page: %d, branded", resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != httpx.CSP {
			t.Fatalf("unbranded CSP %q", csp)
		}
		if got := s.api(t, rw, "GET", "/branding", nil).want(t, http.StatusOK); got.str("name") != "" || got.str("logo_uri") != "" {
			t.Fatalf("default branding: %s", got.raw)
		}

		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"logo_uri": "http://cdn.acme.example/logo.svg"}, "logo_uri"},
			{map[string]any{"logo_uri": "https://cdn.acme.example 'unsafe-inline'/x.svg"}, "logo_uri"},
			{map[string]any{"primary_colour": "red"}, "primary_colour"},
			{map[string]any{"primary_colour": "#1a2b3c; } body { display: none"}, "primary_colour"},
			{map[string]any{"primary_colour": "#fafafa"}, "primary_colour"},
			{map[string]any{"name": strings.Repeat("n", 101)}, "name"},
		} {
			s.api(t, rw, "PUT", "/branding", c.body).want(t, http.StatusBadRequest, "invalid_field", c.field)
		}
		s.api(t, rw, "PUT", "/branding", map[string]any{"colour": "#1a2b3c"}).want(t, http.StatusBadRequest, "invalid_field", "colour")

		got := s.api(t, rw, "PUT", "/branding", map[string]any{"name": "Acme Staff", "logo_uri": testLogo,
			"primary_colour": "#1A2B3C"}).want(t, http.StatusOK)
		if got.str("primary_colour") != "#1a2b3c" || got.str("logo_uri") != testLogo || got.str("name") != "Acme Staff" {
			t.Fatalf("PUT /branding: %s", got.raw)
		}
		// Fields left out keep their value.
		if got := s.api(t, rw, "PUT", "/branding", map[string]any{"name": "Acme People"}).want(t, http.StatusOK); got.str("logo_uri") != testLogo {
			t.Fatalf("a partial change lost the logo: %s", got.raw)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.branding_changed' AND outcome = 'success'`); n != 2 {
			t.Fatalf("%d branding changes audited, want 2", n)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.branding_changed' AND outcome = 'failure'`); n != 6 {
			t.Fatalf("%d refused branding changes audited, want 6", n)
		}
		// Another organisation's client changes its own branding only.
		s.api(t, globex, "PUT", "/branding", map[string]any{"name": "Globex"}).want(t, http.StatusOK)
		if got := s.api(t, rw, "GET", "/branding", nil).want(t, http.StatusOK); got.str("name") != "Acme People" {
			t.Fatalf("globex changed acme's branding: %s", got.raw)
		}

		resp, body = b.get(s.URL + "/o/acme/login")
		for _, want := range []string{`id="brand-name">Acme People<`, `src="` + testLogo + `"`, `alt="Acme People logo"`,
			`href="/o/acme/brand.css?v=1a2b3c"`} {
			if !strings.Contains(body, want) {
				t.Errorf("branded login page lacks %s", want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if want := strings.Replace(httpx.CSP, "img-src 'self' data:", "img-src 'self' data: https://cdn.acme.example", 1); csp != want {
			t.Fatalf("branded CSP\n%q, want\n%q", csp, want)
		}
		// The system organisation's page is not acme's.
		if _, body := b.get(s.URL + "/login"); strings.Contains(body, "Acme People") {
			t.Fatal("acme's branding on the system sign-in page")
		}

		resp, err := http.Get(s.URL + "/o/acme/brand.css?v=1a2b3c")
		if err != nil {
			t.Fatal(err)
		}
		css, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") ||
			!strings.Contains(string(css), "--accent: #1a2b3c;") || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=300") {
			t.Fatalf("brand.css: %d %v %q", resp.StatusCode, resp.Header, css)
		}
		for path, status := range map[string]int{"/o/globex/brand.css": http.StatusOK, "/o/nobody/brand.css": http.StatusNotFound} {
			resp, err := http.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			css, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != status || strings.Contains(string(css), "--accent") {
				t.Fatalf("%s: %d %q", path, resp.StatusCode, css)
			}
		}

		// Removing the branding brings the plain page back.
		s.api(t, rw, "PUT", "/branding", map[string]any{"name": "", "logo_uri": "", "primary_colour": ""}).want(t, http.StatusOK)
		if resp, body := b.get(s.URL + "/o/acme/login"); strings.Contains(body, `id="brand"`) || resp.Header.Get("Content-Security-Policy") != httpx.CSP {
			t.Fatal("cleared branding still shown")
		}
	})
}

// TestPasswordRulesEnrollment: the organisation's minimum length applies when a password is set
// from an enrollment link, with a message saying so; the rule itself stays within 12 to 64.
func TestPasswordRulesEnrollment(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		s.createOrg(t, "acme", "off")
		rw, _ := s.adminToken(t, "acme", "admin:read", "admin:write")
		for _, n := range []any{11, 65, "20"} {
			s.api(t, rw, "PUT", "/password-rules", map[string]any{"min_length": n}).want(t, http.StatusBadRequest, "invalid_field", "min_length")
		}
		if got := s.api(t, rw, "GET", "/password-rules", nil).want(t, http.StatusOK); got.body["min_length"] != float64(12) {
			t.Fatalf("default rules: %s", got.raw)
		}
		s.api(t, rw, "PUT", "/password-rules", map[string]any{"min_length": 20}).want(t, http.StatusOK)
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'org.password_rules_changed' AND outcome = 'success'`); n != 1 {
			t.Fatalf("%d rule changes audited", n)
		}

		out, err := s.cli("users", "create", "--org", "acme", "--username", "pat", "--output", "json")
		if err != nil {
			t.Fatal(err)
		}
		link := out[strings.Index(out, `"enrollment_url":"`)+len(`"enrollment_url":"`):]
		link = link[:strings.Index(link, `"`)]
		b := newBrowser(t)
		_, page := b.get(link)
		if !strings.Contains(page, `minlength="20"`) || !strings.Contains(page, "at least 20 characters") {
			t.Fatal("the enrollment page does not state the organisation's minimum")
		}
		csrf := apCSRFRE.FindStringSubmatch(page)
		if csrf == nil {
			t.Fatal("no CSRF token on the enrollment page")
		}
		short := "correct horse b" // 15: enough by default, not for acme
		resp, body := b.postForm(link+"/password", url.Values{"csrf_token": {csrf[1]}, "password": {short}, "confirm": {short}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Use at least 20 characters") {
			t.Fatalf("a 15-character password under a 20 minimum: %d", resp.StatusCode)
		}
		long := "correct horse battery staple"
		resp, _ = b.postForm(link+"/password", url.Values{"csrf_token": {csrf[1]}, "password": {long}, "confirm": {long}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a long enough password: %d", resp.StatusCode)
		}
	})
}

// TestBrandingAdminPagesAndCLI: the Policy page's forms save branding and password rules,
// refusing invalid values with the field named; the command line does the same.
func TestBrandingAdminPagesAndCLI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAPFixture(t, s)
		admin := newBrowser(t)
		s.apSignIn(t, admin, f.admin, "passkey", time.Now())
		csrf := apCSRF(t, admin, s.URL+"/o/acme/admin/policy")
		post := func(path string, form url.Values) (*http.Response, string) {
			form.Set("csrf_token", csrf)
			return admin.postForm(s.URL+"/o/acme/admin/policy/"+path, form)
		}
		for _, c := range []struct {
			form  url.Values
			label string
		}{
			{url.Values{"brand_colour": {"teal"}}, "Primary colour:"},
			{url.Values{"brand_logo_uri": {"http://cdn.acme.example/l.png"}}, "Logo URL:"},
		} {
			if resp, body := post("branding", c.form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.label) {
				t.Fatalf("invalid branding %v: %d, want 400 naming %s", c.form, resp.StatusCode, c.label)
			}
		}
		if resp, body := post("password-rules", url.Values{"min_length": {"8"}}); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, "Minimum password length:") {
			t.Fatalf("min length 8: %d", resp.StatusCode)
		}
		resp, _ := post("branding", url.Values{"brand_name": {"Acme Staff"}, "brand_logo_uri": {testLogo}, "brand_colour": {"#0b5394"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save branding: %d", resp.StatusCode)
		}
		if resp, _ := post("password-rules", url.Values{"min_length": {"16"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save password rules: %d", resp.StatusCode)
		}
		_, page := admin.get(s.URL + "/o/acme/admin/policy?done=branding")
		if !strings.Contains(page, `value="#0b5394"`) || !strings.Contains(page, `value="16"`) {
			t.Fatal("the Policy page does not show the saved settings")
		}
		o, err := directory.NewStore(s.env.db).GetOrgBySlug(context.Background(), "acme")
		if err != nil || o.Branding.PrimaryColour != "#0b5394" || o.Passwords.MinLength != 16 {
			t.Fatalf("stored: %+v %+v %v", o.Branding, o.Passwords, err)
		}
		if other, _ := directory.NewStore(s.env.db).GetOrgBySlug(context.Background(), "other"); !other.Branding.IsZero() {
			t.Fatalf("another organisation changed: %+v", other.Branding)
		}

		// The command line.
		if _, err := s.cli("orgs", "set-branding", "other", "--colour", "#ffff00"); err == nil || !strings.Contains(err.Error(), "--colour") {
			t.Fatalf("set-branding with a light colour: %v", err)
		}
		if _, err := s.cli("orgs", "set-password-rules", "other", "--min-length", "70"); err == nil || !strings.Contains(err.Error(), "--min-length") {
			t.Fatalf("set-password-rules 70: %v", err)
		}
		if _, err := s.cli("orgs", "set-branding", "other", "--name", "Other Co", "--colour", "#1a2b3c"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cli("orgs", "set-password-rules", "other", "--min-length", "18"); err != nil {
			t.Fatal(err)
		}
		out, err := s.cli("orgs", "show", "--output", "json", "other")
		if err != nil || !strings.Contains(out, `"primary_colour":"#1a2b3c"`) || !strings.Contains(out, `"min_length":18`) {
			t.Fatalf("orgs show: %q %v", out, err)
		}
	})
}
