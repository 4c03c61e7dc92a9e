package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// forwardedFor is the hop a reverse proxy adds: every request carries X-Forwarded-For.
type forwardedFor struct {
	client string
	next   http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.client)
	return f.next.RoundTrip(r)
}

// Behind a trusted reverse proxy, the sign-in's session, its audit row and the account page show
// the person's address from X-Forwarded-For; without --trusted-proxy the header is ignored and
// the proxy's own address (here the loopback) is recorded, since anyone could have written it.
func TestTrustedProxyAddresses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		want    string
	}{
		{"trusted proxy", []string{"127.0.0.0/8", "::1"}, "203.0.113.9"},
		{"no trusted proxy", nil, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServerWith(t, testdb.SQLiteDSN(t), "", func(c *Config) { c.TrustedProxies = tc.trusted })
			e := pkEnroll(t, s, "ivy", newSoftKey(s.URL, false), "Ivy's laptop")
			b := newBrowser(t)
			b.Transport = forwardedFor{client: "198.51.100.66, 203.0.113.9", next: http.DefaultTransport}
			pkWantOK(t, "sign-in", pkSignIn(t, s, b, e.Key, "ivy", ""))

			if got := pkSession(t, s, b).IP; got != tc.want {
				t.Fatalf("session IP %q, want %q", got, tc.want)
			}
			if got := pkWantAudit(t, s, "signin.succeeded", e.ID, 2).IP; got != tc.want {
				t.Fatalf("audit IP %q, want %q", got, tc.want)
			}
			if resp, body := b.get(s.URL + "/account"); resp.StatusCode != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Fatalf("account page (%d) does not show the session's address %s", resp.StatusCode, tc.want)
			}
		})
	}
}
