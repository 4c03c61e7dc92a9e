package main

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/handoff"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/ui/security"
)

// securityPage GETs /security with a fresh, cookie-less client (the page is public) and checks
// what every page must be: served through the normal middleware (our CSP), no script, no inline
// style or event handler.
func securityPage(t *testing.T, base string) string {
	t.Helper()
	resp, body := newBrowser(t).get(base + "/security")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /security: %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != httpx.CSP {
		t.Errorf("Content-Security-Policy = %q, want %q", got, httpx.CSP)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("the public page set cookies: %v", resp.Cookies())
	}
	for _, bad := range []*regexp.Regexp{regexp.MustCompile(`(?i)<script`), regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle=`), regexp.MustCompile(`(?i)\son[a-z]+=`), regexp.MustCompile(`(?i)javascript:`)} {
		if loc := bad.FindStringIndex(body); loc != nil {
			t.Errorf("the page has %q, which the CSP forbids or which needs script: …%s…", bad, body[max(0, loc[0]-60):min(len(body), loc[1]+60)])
		}
	}
	return body
}

// element returns the inner HTML of the element with id, unescaped, failing if there is none.
func element(t *testing.T, body, tag, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<` + tag + ` id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</` + tag + `>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no <%s id=%q> on the page", tag, id)
	}
	return html.UnescapeString(m[1])
}

// cells returns the text of a table row's cells, tags removed.
func cells(t *testing.T, body, rowID string) []string {
	t.Helper()
	row := element(t, body, "tr", rowID)
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`).FindAllStringSubmatch(row, -1) {
		out = append(out, strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " ")), " "))
	}
	return out
}

// startConfigured starts a server on dsn and secretFile with the configuration that the given
// serve flags produce, exactly as `portcullis serve` loads it.
func startConfigured(t *testing.T, dsn, secretFile string, flags ...string) *testServer {
	t.Helper()
	opsClearConfigEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	args := append([]string{"--issuer", issuer, "--database", dsn, "--secret-file", secretFile}, flags...)
	cfg, err := opsLoadConfig(args)
	if err != nil {
		t.Fatalf("serve %v: %v", flags, err)
	}
	return runServer(t, ln, cfg)
}

// activeKIDs returns the active kid of each algorithm, from `keys list`.
func activeKIDs(t *testing.T, s *testServer) map[string]string {
	t.Helper()
	out, err := s.cli("keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, k := range opsParseKeys(t, out) {
		if k.State == keys.StateActive {
			m[k.Alg] = k.KID
		}
	}
	return m
}

// The page is public, linked from the sign-in page, and states the live relying party, the
// policies as decided (no organisation listed by default) and the keys that sign tokens.
func TestSecurityPage(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		s.createOrg(t, "acme", "mandatory")

		resp, login := newBrowser(t).get(s.URL + "/login")
		if resp.StatusCode != http.StatusOK || !strings.Contains(login, `href="/security"`) {
			t.Fatalf("the sign-in page (%d) does not link to /security", resp.StatusCode)
		}
		body := securityPage(t, s.URL)

		if got := element(t, body, "code", "rp-id"); got != "localhost" {
			t.Errorf("RP ID = %q, want localhost (the issuer's host)", got)
		}
		if got := element(t, body, "ul", "origins"); got != "<li><code>"+s.URL+"</code></li>" {
			t.Errorf("origins = %q, want only the issuer's %s", got, s.URL)
		}
		if got := element(t, body, "code", "discovery"); got != s.URL+"/.well-known/openid-configuration" {
			t.Errorf("discovery = %q", got)
		}

		// By default no tenant is listed: the default policy and the system organisation only.
		if got, want := cells(t, body, "policy-default"), []string{"a new organisation", "off", "required", "none", "accepted", "any", "no date", "not allowed"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("default policy row = %q, want %q", got, want)
		}
		if got := cells(t, body, "policy-system"); len(got) < 2 || got[1] != "mandatory" {
			t.Errorf("system organisation row = %q, want mode mandatory", got)
		}
		element(t, body, "p", "orgs-not-listed")
		if strings.Contains(body, "acme") || strings.Contains(body, "Acme") {
			t.Error("the page names an organisation although security_page_orgs is off")
		}
		// An organisation's own page (linked from its sign-in page) states its policy.
		if resp, login := newBrowser(t).get(s.URL + "/o/acme/login"); resp.StatusCode != http.StatusOK ||
			!strings.Contains(login, `href="/o/acme/security"`) {
			t.Fatalf("acme's sign-in page (%d) does not link to /o/acme/security", resp.StatusCode)
		}
		resp, own := newBrowser(t).get(s.URL + "/o/acme/security")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /o/acme/security: %d", resp.StatusCode)
		}
		if got := cells(t, own, "policy-own"); len(got) < 2 || got[0] != "this organisation ( acme )" || got[1] != "mandatory" {
			t.Errorf("acme's own policy row = %q", got)
		}
		// ... with its own session lifetimes where it set them.
		if _, err := s.cli("orgs", "set-session-lifetimes", "acme", "--idle", "30m", "--absolute", "48h"); err != nil {
			t.Fatal(err)
		}
		_, own = newBrowser(t).get(s.URL + "/o/acme/security")
		if got := element(t, own, "span", "session-idle"); got != "30 minutes" {
			t.Errorf("acme's session idle = %q, want 30 minutes", got)
		}
		if got := element(t, body, "span", "session-idle"); got != "8 hours" {
			t.Errorf("the instance's session idle = %q, want 8 hours", got)
		}
		if resp, _ := newBrowser(t).get(s.URL + "/o/nope/security"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown organisation's security page: %d", resp.StatusCode)
		}

		// Every algorithm's active key, as `keys list` reports it.
		active := activeKIDs(t, s)
		if len(active) != 2 {
			t.Fatalf("active keys %v, want ES256 and RS256", active)
		}
		for alg, kid := range active {
			if got := cells(t, body, "keys-"+alg); len(got) < 2 || got[1] != kid {
				t.Errorf("%s row = %q, want active kid %s", alg, got, kid)
			}
		}
		if got := element(t, body, "code", "default-alg"); got != keys.DefaultAlgorithm {
			t.Errorf("default ID token algorithm = %q, want %s", got, keys.DefaultAlgorithm)
		}
	})
}

// The security page reflects a changed configuration: a server started on the same database with
// other serve settings, after a policy change and a key rotation, states the new values.
func TestSecurityPageReflectsConfiguration(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testdb.SQLiteDSN}, {"postgres", testdb.PostgresDSN}} {
		t.Run(db.name, func(t *testing.T) {
			dsn, secretFile := db.dsn(t), filepath.Join(t.TempDir(), "portcullis.secret")
			before := startConfigured(t, dsn, secretFile)
			was := securityPage(t, before.URL)
			oldRS := cells(t, was, "keys-RS256")[1]
			oldES := cells(t, was, "keys-ES256")[1]
			if got := element(t, was, "span", "audit-log"); !strings.Contains(got, "every event") {
				t.Errorf("at log level info, the audit sentence = %q", got)
			}

			before.createOrg(t, "acme", "mandatory", "--allow-synced=false",
				"--allowed-aaguid", "ee882879-721c-4913-9775-3dfcce97072a", "--passwords-end", "2031-03-31", "--recovery-codes")
			before.createOrg(t, "beta", "optional", "--require-user-verification=false")
			if _, err := before.cli("orgs", "set-policy", "system", "--passkeys", "mandatory", "--allow-synced=false", "--yes"); err != nil {
				t.Fatal(err)
			}
			if _, err := before.cli("keys", "rotate", "--alg", "RS256"); err != nil {
				t.Fatal(err)
			}

			after := startConfigured(t, dsn, secretFile, "--rp-origin", "https://app.localhost:8443",
				"--session-idle", "2h", "--session-absolute", "240h", "--security-page-orgs", "--log-level", "warn")
			now := securityPage(t, after.URL)

			if got, want := element(t, now, "ul", "origins"), "<li><code>"+after.URL+"</code></li><li><code>https://app.localhost:8443</code></li>"; got != want {
				t.Errorf("origins = %q, want %q", got, want)
			}
			for id, want := range map[string]string{"session-idle": "2 hours", "session-absolute": "10 days"} {
				if was := element(t, was, "span", id); was == want {
					t.Fatalf("%s was already %q before the change", id, was)
				}
				if got := element(t, now, "span", id); got != want {
					t.Errorf("%s = %q, want %q", id, got, want)
				}
			}

			// The operator lists the organisations: each by slug, never by name.
			for row, want := range map[string][]string{
				"policy-acme":   {"acme", "mandatory", "required", "direct", "device-bound only", "ee882879-721c-4913-9775-3dfcce97072a (YubiKey 5 Series)", "2031-03-31", "allowed"},
				"policy-beta":   {"beta", "optional", "preferred", "none", "accepted", "any", "no date", "not allowed"},
				"policy-system": {"system", "mandatory", "required", "none", "device-bound only", "any", "no date", "not allowed"},
			} {
				if got := cells(t, now, row); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %q, want %q", row, got, want)
				}
			}
			if strings.Contains(now, "Acme Ltd") || strings.Contains(now, "orgs-not-listed") {
				t.Error("with security_page_orgs the page lists slugs only, and says nothing about not listing them")
			}

			// RS256 rotated: a new active key, the old one retired and still published; ES256 as it was.
			rs, es := cells(t, now, "keys-RS256"), cells(t, now, "keys-ES256")
			if active := activeKIDs(t, after); rs[1] != active["RS256"] || rs[1] == oldRS || rs[4] != "1" {
				t.Errorf("RS256 row after rotation = %q (was active %s, now %s)", rs, oldRS, active["RS256"])
			}
			if es[1] != oldES || es[4] != "0" {
				t.Errorf("ES256 row = %q, want active %s and nothing retired", es, oldES)
			}

			if got := element(t, now, "span", "audit-log"); !strings.Contains(got, "failures only") {
				t.Errorf("at log level warn, the audit sentence = %q", got)
			}
		})
	}
}

// The numbers on the page come from the packages that enforce them.
func TestSecurityPageNumbers(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		h := &security.Handler{Settings: securitySettings(s.env.cfg, "localhost", "Portcullis"),
			Orgs: directory.NewStore(s.env.db), Keys: s.app.keys}
		f, err := h.Facts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		recoveryLen := len(strings.ReplaceAll(recovery.NewCode(), "-", ""))
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"handoff code length", f.Handoff.CodeLength, handoff.CodeLen},
			{"handoff alphabet", f.Handoff.AlphabetSize, len(handoff.Alphabet)},
			{"handoff lifetime", f.Handoff.Lifetime, security.Duration(handoff.CodeLifetime)},
			{"handoff completion", f.Handoff.CompleteWithin, security.Duration(handoff.CompleteWithin)},
			{"handoff approval freshness", f.Handoff.ApproveWithin, security.Duration(handoff.ApproveWithin)},
			{"handoff account attempts", f.Handoff.Account.Attempts, throttle.DefaultCodeAccount().Limit},
			{"handoff account block", f.Handoff.Account.Block, security.Duration(throttle.DefaultCodeAccount().Block)},
			{"handoff IP attempts", f.Handoff.IP.Attempts, throttle.DefaultCodeIP().Limit},
			{"recovery link", f.Recovery.LinkValidity, security.Duration(recovery.DefaultValidity)},
			{"recovery link max", f.Recovery.LinkMaxValidity, security.Duration(recovery.MaxValidity)},
			{"recovery code link", f.Recovery.CodeLinkValidity, security.Duration(recovery.CodeLinkValidity)},
			{"recovery codes", f.Recovery.CodeCount, recovery.CodeCount},
			{"recovery code length", f.Recovery.CodeLength, recoveryLen},
			{"recovery alphabet", f.Recovery.AlphabetSize, len(recovery.CodeAlphabet)},
			{"password account attempts", f.Passwords.Account.Attempts, throttle.DefaultPasswordAccount().Limit},
			{"password window", f.Passwords.Account.Window, security.Duration(throttle.DefaultPasswordAccount().Window)},
			{"session idle", f.Sessions.Idle, security.Duration(Defaults().SessionIdle)},
			{"retired keys published", f.Tokens.RetiredPublished, security.Duration(provider.RetiredKeyPublish)},
			{"acr passkey", f.ACRPasskey, provider.ACRPhishingResistant},
			{"acr password", f.ACRPassword, provider.ACRPassword},
		} {
			if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
				t.Errorf("%s: facts say %v, the package %v", c.name, c.got, c.want)
			}
		}

		// And the page prints those facts.
		body := securityPage(t, s.URL)
		ca := throttle.DefaultCodeAccount()
		for id, want := range map[string]string{
			"handoff-code-length":    fmt.Sprint(handoff.CodeLen),
			"handoff-lifetime":       security.Duration(handoff.CodeLifetime).String(),
			"handoff-account-limit":  fmt.Sprintf("%d wrong codes per account within %s lock code entry for %s", ca.Limit, security.Duration(ca.Window), security.Duration(ca.Block)),
			"recovery-link-validity": security.Duration(recovery.DefaultValidity).String(),
			"recovery-code-length":   fmt.Sprint(recoveryLen),
			"session-idle":           security.Duration(s.env.cfg.SessionIdle).String(),
			"session-absolute":       security.Duration(s.env.cfg.SessionAbsolute).String(),
		} {
			if got := element(t, body, "span", id); got != want {
				t.Errorf("%s on the page = %q, want %q", id, got, want)
			}
		}
		for id, want := range map[string]string{"acr-passkey": provider.ACRPhishingResistant, "acr-password": provider.ACRPassword} {
			if got := element(t, body, "code", id); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
	})
}

// docs/security.md states the default configuration: its numbers are the ones a default server's
// page states, so a changed constant without a changed document fails here.
func TestSecurityDocMatchesDefaults(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	h := &security.Handler{Settings: securitySettings(Defaults(), "localhost", "Portcullis"),
		Orgs: directory.NewStore(s.env.db), Keys: s.app.keys}
	f, err := h.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(raw)), " ")
	yesNo := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	row := func(name string, p security.PolicyFacts) string {
		return fmt.Sprintf("| %s | %s | %s | %s | %s | any | %s |", name, p.Mode, p.UserVerification, p.Attestation,
			yesNo(p.SyncedAccepted, "accepted", "device-bound only"), yesNo(p.RecoveryCodes, "allowed", "not allowed"))
	}
	ho, rc, pw := f.Handoff, f.Recovery, f.Passwords
	for _, want := range []string{
		row("a new organisation", f.DefaultPolicy),
		row("the built-in system organisation", f.System),
		fmt.Sprintf("a code of **%d characters** from an alphabet of %d", ho.CodeLength, ho.AlphabetSize),
		fmt.Sprintf("about %.0f bits", ho.Bits),
		fmt.Sprintf("approved for **%s**", ho.Lifetime),
		fmt.Sprintf("a passkey check no older than %s", ho.ApproveWithin),
		fmt.Sprintf("on that browser within %s of approval", ho.CompleteWithin),
		fmt.Sprintf("**%d wrong codes** for an account within %s lock code entry for %s", ho.Account.Attempts, ho.Account.Window, ho.Account.Block),
		fmt.Sprintf("may try %d codes per %s, then is blocked for %s", ho.IP.Attempts, strings.TrimPrefix(ho.IP.Window.String(), "1 "), ho.IP.Block),
		fmt.Sprintf("valid **%s** unless the administrator chooses otherwise (at most %s)", rc.LinkValidity, rc.LinkMaxValidity),
		fmt.Sprintf("**%d single-use recovery codes** of %d characters from an alphabet of %d (about %.0f bits)", rc.CodeCount, rc.CodeLength, rc.AlphabetSize, rc.Bits),
		fmt.Sprintf("a recovery link valid %s", rc.CodeLinkValidity),
		fmt.Sprintf("%d wrong codes per account within %s lock entry for %s; %d attempts per IP address", rc.Account.Attempts, rc.Account.Window, rc.Account.Block, rc.IP.Attempts),
		fmt.Sprintf("%d KiB of memory, %d passes, %d lane", pw.MemoryKiB, pw.Iterations, pw.Parallelism),
		fmt.Sprintf("%d wrong passwords per account within %s, then a delay of %s", pw.Account.Attempts, pw.Account.Window, pw.Account.Block),
		fmt.Sprintf("%d per IP address", pw.IP.Attempts),
		fmt.Sprintf("after **%s** without use and at most **%s** after sign-in", f.Sessions.Idle, f.Sessions.Absolute),
		fmt.Sprintf("signed with **%s**", f.Tokens.DefaultAlgorithm),
		fmt.Sprintf("published for %s, longer than any token they signed lives (ID and access tokens: %s)", f.Tokens.RetiredPublished, f.Tokens.IDToken),
		fmt.Sprintf("Refresh tokens (%s)", f.Tokens.RefreshToken),
		fmt.Sprintf("`acr` is `%s`", f.ACRPasskey),
		fmt.Sprintf("and `%s` otherwise", f.ACRPassword),
		fmt.Sprintf("`%s`, `user` | `%s`", f.AMRHandoff, f.ACRPassword),
		fmt.Sprintf("**`%s` table**", f.Audit.Table),
		fmt.Sprintf("Challenges are random, single use, valid %s", f.CeremonyTimeout),
		"security_page_orgs",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/security.md does not say %q", want)
		}
	}
	if f.Tokens.IDToken != f.Tokens.AccessToken {
		t.Errorf("docs/security.md gives ID and access tokens one lifetime; they are %s and %s", f.Tokens.IDToken, f.Tokens.AccessToken)
	}
}
