package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestMetrics: with --metrics-addr, /metrics on that listener (and not on the public one) counts
// requests by route template, token grants by type, audited security events, and the pool.
func TestMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startServerWith(t, testdb.SQLiteDSN(t), "", func(c *Config) { c.MetricsAddr = addr })

	c := s.createClient("--name", "Metered", "--grant-type", "client_credentials")
	for range 3 {
		if got := postEndpoint(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret); got.status != http.StatusOK {
			t.Fatalf("token: %d", got.status)
		}
	}
	b := newBrowser(t)
	b.get(s.URL + "/login")
	csrf := passwordPage(t, b, s.URL+"/login")
	postPassword(t, b, s.URL+"/login/password", csrf, "nobody", "wrong password here")

	if resp, _ := b.get(s.URL + "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the public listener: %d", resp.StatusCode)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	for _, want := range []string{
		`portcullis_http_requests_total{method="POST",route="/oauth2/token",status="200"} 3`,
		`portcullis_token_grants_total{grant_type="client_credentials"} 3`,
		`portcullis_security_events_total{action="signin.failed",method="password",outcome="failure"} 1`,
		`portcullis_http_request_duration_seconds_bucket{method="GET",route="/login",le="+Inf"} 2`,
		`go_sql_max_open_connections{db_name="portcullis"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(firstLines(body, "portcullis_", 40))
	}
	// No raw paths with tokens or ids in labels: every route label is a template.
	if strings.Contains(body, `route="/enroll/`) && !strings.Contains(body, `route="/enroll/{token}`) {
		t.Error("a raw path in a route label")
	}
}

func firstLines(body, prefix string, n int) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) && len(out) < n {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
