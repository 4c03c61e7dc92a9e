package handoff

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"

	"github.com/portcullis-id/portcullis/authn/throttle"
)

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// TestStartLimitedPerIP: new codes from one address are bounded (each is a row), and the page is
// told plainly when the bound is reached.
func TestStartLimitedPerIP(t *testing.T) {
	ts := newTrustedSide(t, throttle.DefaultCodeIP())
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(ts.srv.URL + "/login/handoff")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the new device's page (%d)", resp.StatusCode)
	}
	start := func() int {
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/login/handoff/start", bytes.NewReader([]byte(`{"username":"someone"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", string(m[1]))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range startRule.Limit {
		if got := start(); got != http.StatusOK {
			t.Fatalf("code %d: status %d", i+1, got)
		}
	}
	if got := start(); got != http.StatusTooManyRequests {
		t.Fatalf("code %d: status %d, want 429", startRule.Limit+1, got)
	}
}
