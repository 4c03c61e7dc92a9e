package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/provider/store"
)

// Token endpoint benchmarks on SQLite. Requests go straight into the server's handler (full
// middleware, fosite, storage) with no network client in the process, so the process CPU time is
// the server's: the reported "per_cpu_s" figures are operations per server CPU-second.
//
//	go test ./cmd/portcullis -run '^$' -bench . -benchtime 5s

func benchServer(b *testing.B) *testServer {
	b.Helper()
	tuneRuntime() // the server process's runtime settings, as `portcullis serve` applies them
	dir := b.TempDir()
	cfg := Defaults()
	cfg.Issuer = "http://localhost:8080"
	cfg.Database = "sqlite:" + filepath.Join(dir, "bench.db")
	cfg.SecretFile = filepath.Join(dir, "secret")
	cfg.LogLevel = "error"
	// The simulated users would each come from their own address; requests made in process all
	// have httptest's one address, so the per-address flood brake (a map lookup) is off.
	cfg.SignInRateLimit = 0
	ctx := context.Background()
	e, err := openEnv(ctx, cfg, io.Discard, true)
	if err != nil {
		b.Fatal(err)
	}
	a, err := build(ctx, e)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.provider.Store.Close(); e.db.Close() })
	return &testServer{URL: cfg.Issuer, DSN: cfg.Database, SecretFile: cfg.SecretFile, app: a, env: e}
}

func benchClient(b *testing.B, s *testServer, args ...string) registered {
	out, err := s.cli(append([]string{"clients", "create", "--output", "json"}, args...)...)
	if err != nil {
		b.Fatal(err)
	}
	var r registered
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		b.Fatal(err)
	}
	return r
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serve sends one form POST to the handler and returns the recorder.
func serveForm(h http.Handler, path string, form url.Values, user, pass string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func runPerCPU(b *testing.B, unit string, op func() error) {
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	// A server under load has many requests in flight; 8 per core is what a modest pool of
	// relying parties produces.
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				if failed.Add(1) == 1 {
					b.Error(err)
				}
			}
		}
	})
	cpu := cpuTime() - start
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), unit+"_per_cpu_s")
	}
	if rows, commits := store.BatchStats(); commits > 0 {
		b.ReportMetric(float64(rows)/float64(commits), "rows_per_commit")
	}
}

func benchmarkClientCredentials(b *testing.B, jwt bool) {
	s := benchServer(b)
	args := []string{"--name", "svc", "--grant-type", "client_credentials", "--scope", "openid"}
	if jwt {
		args = append(args, "--jwt-access-tokens")
	}
	c := benchClient(b, s, args...)
	h := s.app.handler
	form := url.Values{"grant_type": {"client_credentials"}}
	runPerCPU(b, "grants", func() error {
		w := serveForm(h, "/oauth2/token", form, c.ID, c.Secret)
		if w.Code != http.StatusOK {
			return fmt.Errorf("status %d: %s", w.Code, w.Body.String())
		}
		return nil
	})
}

func BenchmarkClientCredentialsOpaque(b *testing.B) { benchmarkClientCredentials(b, false) }
func BenchmarkClientCredentialsJWT(b *testing.B)    { benchmarkClientCredentials(b, true) }

func BenchmarkIntrospection(b *testing.B) {
	s := benchServer(b)
	c := benchClient(b, s, "--name", "svc", "--grant-type", "client_credentials", "--scope", "openid")
	h := s.app.handler
	w := serveForm(h, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %s", w.Body.String())
	}
	form := url.Values{"token": {tok.AccessToken}}
	runPerCPU(b, "introspections", func() error {
		w := serveForm(h, "/oauth2/introspect", form, c.ID, c.Secret)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"active":true`) {
			return fmt.Errorf("status %d: %s", w.Code, w.Body.String())
		}
		return nil
	})
}
