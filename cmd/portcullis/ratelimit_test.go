package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// Sign-in starts are limited per address (--sign-in-rate-limit): past the allowance the script's
// calls get a JSON 429 and page loads the error page, both with Retry-After; other addresses are
// not affected; the first refusal is audited, the rest of the flood is not.
func TestSignInRateLimit(t *testing.T) {
	s := startServerWith(t, testdb.SQLiteDSN(t), "", func(c *Config) {
		c.SignInRateLimit = 4
		c.TrustedProxies = []string{"127.0.0.0/8", "::1"}
	})
	c := s.createClient("--name", "Limited app", "--redirect-uri", callback, "--first-party")
	from := func(addr string) *browser {
		b := newBrowser(t)
		b.Transport = forwardedFor{client: addr, next: http.DefaultTransport}
		return b
	}
	flood := from("203.0.113.9")
	_, csrf := pkPage(t, flood, s.URL+"/login") // the page itself is not a sign-in start
	for i := range 4 {
		pkWantOK(t, "begin "+strconv.Itoa(i+1), pkBegin(t, s, flood, csrf, "nobody", ""))
	}
	refused := pkBegin(t, s, flood, csrf, "nobody", "")
	pkWantError(t, "begin past the limit", refused, http.StatusTooManyRequests,
		"Too many sign-in attempts came from your network. Wait a minute, then try again.")
	if after, err := strconv.Atoi(refused.Header.Get("Retry-After")); err != nil || after < 1 || after > 15 {
		t.Fatalf("Retry-After %q, want the seconds until the next one (15 at 4 a minute)", refused.Header.Get("Retry-After"))
	}
	authorize := s.URL + "/oauth2/auth?" + url.Values{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {callback}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}}.Encode()
	resp, body := flood.get(authorize)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("authorize past the limit: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	other := from("198.51.100.7")
	if resp, _ := other.get(authorize); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize from another address: %d, want 303 to the sign-in page", resp.StatusCode)
	}
	_, csrf = pkPage(t, other, s.URL+"/login")
	pkWantOK(t, "begin from another address", pkBegin(t, s, other, csrf, "nobody", ""))

	rows := pkAudit(t, s, "signin.rate_limited", "")
	if len(rows) != 1 || rows[0].IP != "203.0.113.9" || rows[0].Outcome != "failure" || rows[0].Details()["path"] != "/login/begin" {
		t.Fatalf("audit of the flood: %+v", rows)
	}
}
