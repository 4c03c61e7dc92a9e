package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/migrations"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// opsRun runs a portcullis command as main does and returns its stdout, its stderr and its error.
func opsRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

var opsHTTP = &http.Client{Timeout: 20 * time.Second}

// opsForm posts form to endpoint, with HTTP Basic client authentication unless id is "", and
// returns the status and the JSON object of the body. A body that is not one complete JSON object
// fails the test.
func opsForm(t *testing.T, endpoint string, form url.Values, id, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := opsHTTP.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", endpoint, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("POST %s: %d with a body that is not a JSON object: %q", endpoint, resp.StatusCode, body)
	}
	return resp.StatusCode, m
}

// opsClientCredentials asks base's token endpoint for a client_credentials token.
func opsClientCredentials(t *testing.T, base string, c registered) (int, map[string]any) {
	t.Helper()
	return opsForm(t, base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
}

// opsAccessToken gets a client_credentials access token, failing the test otherwise.
func opsAccessToken(t *testing.T, base string, c registered) string {
	t.Helper()
	st, body := opsClientCredentials(t, base, c)
	tok, _ := body["access_token"].(string)
	if st != http.StatusOK || tok == "" {
		t.Fatalf("client_credentials for %s at %s: %d %v, want 200 with an access token", c.ID, base, st, body)
	}
	return tok
}

// opsIntrospect introspects token at base as caller and returns the response (which must be 200).
func opsIntrospect(t *testing.T, base string, caller registered, token string) map[string]any {
	t.Helper()
	st, body := opsForm(t, base+"/oauth2/introspect", url.Values{"token": {token}}, caller.ID, caller.Secret)
	if st != http.StatusOK {
		t.Fatalf("introspect: %d %v", st, body)
	}
	return body
}

// opsEventually checks cond every 100ms until it holds or within has passed, and reports whether
// it held and how long that took.
func opsEventually(within time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	for {
		if cond() {
			return true, time.Since(start)
		}
		if time.Since(start) > within {
			return false, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// opsField returns the value of a "name:   value" line of the CLI's text output.
func opsField(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:[ \t]*(.*?)[ \t]*$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s line in output:\n%s", name, out)
	}
	return m[1]
}

// opsCount runs a COUNT query on s's database.
func opsCount(t *testing.T, s *testServer, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.env.db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

type opsAuditRow struct {
	Action, Actor, OrgID, ClientID, Outcome string
}

// opsClientAudit returns the client.* audit rows of a client, oldest first.
func opsClientAudit(t *testing.T, s *testServer, clientID string) []opsAuditRow {
	t.Helper()
	var rows []opsAuditRow
	err := s.env.db.Raw(`SELECT action, actor, org_id, client_id, outcome FROM audit_events
		WHERE client_id = ? AND action LIKE 'client.%' ORDER BY id`, clientID).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// opsIDToken runs the code flow for u with client c at s and returns the verified raw ID token.
func opsIDToken(t *testing.T, s *testServer, c registered, u directory.User) string {
	t.Helper()
	r := newRP(t, s, c)
	b := newBrowser(t)
	verifier, nonce, state, resp := r.authorize(b)
	s.signIn(b, u, "passkey", []string{"hwk", "user", "mfa"}, "phr", time.Now().Add(-time.Second).Truncate(time.Second))
	code := codeFrom(t, resumeAfterLogin(t, s, b, resp), state)
	tok, err := r.config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange at %s: %v", s.URL, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify ID token from %s: %v", s.URL, err)
	}
	if idt.Nonce != nonce || idt.Subject != u.ID {
		t.Fatalf("ID token nonce %q sub %q, want %q %q", idt.Nonce, idt.Subject, nonce, u.ID)
	}
	return raw
}

// opsVerifyAgainst verifies a raw ID token with go-oidc, taking the keys from jwksURL.
func opsVerifyAgainst(raw, issuer, jwksURL, clientID string) error {
	ctx := context.Background()
	v := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, jwksURL),
		&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"ES256", "RS256"}})
	_, err := v.Verify(ctx, raw)
	return err
}

// opsJWTHeader returns the kid and alg of a compact JWS.
func opsJWTHeader(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	seg, _, ok := strings.Cut(raw, ".")
	if !ok {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		out, _, err := opsRun(t, arg)
		if err != nil || out != "portcullis dev\n" {
			t.Fatalf("%s: %q, %v; want \"portcullis dev\\n\"", arg, out, err)
		}
	}
}

func TestCLIUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"clients"}, "usage: portcullis clients"},
		{[]string{"clients", "frobnicate"}, "usage: portcullis clients"},
		{[]string{"keys"}, "usage: portcullis keys"},
		{[]string{"keys", "frobnicate"}, "usage: portcullis keys"},
		{[]string{"migrate"}, "usage: portcullis migrate"},
		{[]string{"migrate", "down"}, "usage: portcullis migrate"},
		{[]string{"serve", "--no-such-flag"}, "no-such-flag"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := opsRun(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run %q: error %v, want one containing %q", tc.args, err, tc.want)
			}
			if out != "" {
				t.Fatalf("run %q wrote %q to stdout", tc.args, out)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		out, _, err := opsRun(t, "help")
		if err != nil || !strings.HasPrefix(out, "Usage: portcullis COMMAND") {
			t.Fatalf("help: %q, %v", out, err)
		}
		if _, _, err := opsRun(t, "serve", "-h"); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("serve -h: %v, want flag.ErrHelp (main exits 0)", err)
		}
	})
}

func TestMigrateStatusAndUp(t *testing.T) {
	for _, tc := range []struct {
		dialect migrations.Dialect
		dsn     func(testing.TB) string
	}{
		{migrations.SQLite, testdb.SQLiteDSN},
		{migrations.Postgres, testdb.PostgresDSN},
	} {
		t.Run(string(tc.dialect), func(t *testing.T) {
			dsn := tc.dsn(t)
			fsys, err := migrations.FS(tc.dialect)
			if err != nil {
				t.Fatal(err)
			}
			files, err := fs.Glob(fsys, "*.sql")
			if err != nil || len(files) == 0 || !strings.HasPrefix(files[0], "00001_") {
				t.Fatalf("migration files %v, %v", files, err)
			}
			status := func(want string) {
				t.Helper()
				out, _, err := opsRun(t, "migrate", "status", "--database", dsn)
				if err != nil {
					t.Fatalf("migrate status: %v", err)
				}
				lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
				if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"VERSION", "NAME", "STATE", "APPLIED", "AT"}) {
					t.Fatalf("status header %q", lines[0])
				}
				if len(lines) != 1+len(files) {
					t.Fatalf("status lists %d migrations, want %d:\n%s", len(lines)-1, len(files), out)
				}
				for i, f := range files {
					fields := strings.Fields(lines[1+i])
					if len(fields) < 3 || fields[0] != f[:5] || fields[2] != want {
						t.Fatalf("status line %q, want version %s %s:\n%s", lines[1+i], f[:5], want, out)
					}
					if want == "applied" && len(fields) < 5 {
						t.Fatalf("applied migration without a time: %q", lines[1+i])
					}
				}
			}
			status("pending")

			out, _, err := opsRun(t, "migrate", "up", "--database", dsn)
			if err != nil {
				t.Fatalf("migrate up: %v", err)
			}
			var want strings.Builder
			for _, f := range files {
				fmt.Fprintf(&want, "applied migration %s\n", f[:5])
			}
			if out != want.String() {
				t.Fatalf("migrate up printed %q, want %q", out, want.String())
			}
			status("applied")

			out, _, err = opsRun(t, "migrate", "up", "--database", dsn)
			if err != nil || out != "database is up to date\n" {
				t.Fatalf("second migrate up: %q, %v", out, err)
			}
		})
	}
}

// A client goes through its whole life with the CLI while a server runs on the same database.
func TestCLIClientsLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		inspector := s.createClient("--name", "Inspector", "--grant-type", "client_credentials", "--introspect")

		// create, text output
		out, err := s.cli("clients", "create", "--name", "Billing", "--grant-type", "client_credentials")
		if err != nil {
			t.Fatalf("clients create: %v", err)
		}
		c := registered{ID: opsField(t, out, "client_id"), Secret: opsField(t, out, "client_secret")}
		for name, want := range map[string]string{"name": "Billing", "type": "confidential", "organisation": "system",
			"grant_types": "client_credentials", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ""} {
			if got := opsField(t, out, name); got != want {
				t.Errorf("create output %s = %q, want %q", name, got, want)
			}
		}
		if len(c.ID) < 16 || len(c.Secret) < 40 || !strings.Contains(out, "shown once") {
			t.Fatalf("create output: client id %q secret %q\n%s", c.ID, c.Secret, out)
		}
		// The server is running and sees the new client at its first use.
		tokA := opsAccessToken(t, s.URL, c)

		// list, text
		out, err = s.cli("clients", "list")
		if err != nil {
			t.Fatalf("clients list: %v", err)
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != 3 || !slices.Equal(strings.Fields(lines[0]), []string{"CLIENT_ID", "NAME", "TYPE", "ORG", "GRANTS"}) {
			t.Fatalf("clients list:\n%s", out)
		}
		wantRow := []string{c.ID, "Billing", "confidential", "system", "client_credentials"}
		if !slices.Equal(strings.Fields(lines[1]), wantRow) && !slices.Equal(strings.Fields(lines[2]), wantRow) {
			t.Fatalf("clients list has no row %v:\n%s", wantRow, out)
		}
		if strings.Contains(out, c.Secret) {
			t.Fatal("clients list prints the secret")
		}

		// list, JSON
		listJSON := func(args ...string) []clients.View {
			t.Helper()
			out, err := s.cli(append([]string{"clients", "list", "--output", "json"}, args...)...)
			if err != nil {
				t.Fatalf("clients list --output json %v: %v", args, err)
			}
			var list []clients.View
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&list); err != nil {
				t.Fatalf("clients list --output json: %v\n%s", err, out)
			}
			return list
		}
		list := listJSON()
		i := slices.IndexFunc(list, func(x clients.View) bool { return x.ClientID == c.ID })
		if len(list) != 2 || i < 0 {
			t.Fatalf("clients list --output json: %+v", list)
		}
		got := list[i]
		if got.Name != "Billing" || got.ClientSecret != "" || got.OrgID != "system" || got.Type != "confidential" ||
			!slices.Equal(got.GrantTypes, []string{"client_credentials"}) || got.TokenEndpointAuthMethod != "client_secret_basic" ||
			got.CanIntrospect || got.CreatedAt.IsZero() || got.RedirectURIs == nil {
			t.Fatalf("listed client %+v", got)
		}
		if l := listJSON("--org", "system"); len(l) != 2 {
			t.Fatalf("clients list --org system: %d clients, want 2", len(l))
		}
		if _, err := s.cli("clients", "list", "--org", "nosuchorg"); err == nil || !strings.Contains(err.Error(), "nosuchorg") {
			t.Fatalf("clients list --org nosuchorg: %v", err)
		}

		// show
		out, err = s.cli("clients", "show", c.ID)
		if err != nil {
			t.Fatalf("clients show: %v", err)
		}
		if opsField(t, out, "client_id") != c.ID || opsField(t, out, "name") != "Billing" || strings.Contains(out, c.Secret) {
			t.Fatalf("clients show:\n%s", out)
		}
		out, err = s.cli("clients", "show", c.ID, "--output", "json")
		if err != nil {
			t.Fatalf("clients show --output json: %v", err)
		}
		var shown clients.View
		if err := json.Unmarshal([]byte(out), &shown); err != nil {
			t.Fatal(err)
		}
		if shown.ClientID != c.ID || shown.Name != "Billing" || shown.ClientSecret != "" || !shown.CreatedAt.Equal(got.CreatedAt) {
			t.Fatalf("clients show --output json: %+v, listed %+v", shown, got)
		}
		if _, err := s.cli("clients", "show", "nosuchclient"); err == nil || !strings.Contains(err.Error(), `no client "nosuchclient"`) {
			t.Fatalf("clients show nosuchclient: %v", err)
		}

		// rotate-secret: the old secret stops working within the client cache TTL, the new one works.
		out, err = s.cli("clients", "rotate-secret", c.ID)
		if err != nil {
			t.Fatalf("clients rotate-secret: %v", err)
		}
		fresh := registered{ID: c.ID, Secret: opsField(t, out, "client_secret")}
		if fresh.Secret == c.Secret || len(fresh.Secret) < 40 {
			t.Fatalf("rotated secret %q (old %q)", fresh.Secret, c.Secret)
		}
		var last string
		ok, took := opsEventually(provider.ClientCacheTTL+2*time.Second, func() bool {
			st, body := opsClientCredentials(t, s.URL, c)
			last = fmt.Sprint(st, body)
			if st != http.StatusOK && st != http.StatusUnauthorized {
				t.Errorf("old secret after rotation: %s, want 200 (cached) or 401", last)
			}
			return st == http.StatusUnauthorized && body["error"] == "invalid_client"
		})
		if !ok {
			t.Fatalf("the old secret still works %s after rotate-secret (last answer %s)", took, last)
		}
		t.Logf("old secret refused %s after the rotation", took.Round(time.Millisecond))
		tokB := opsAccessToken(t, s.URL, fresh)

		// Both tokens are active for the inspector before the deletion.
		for _, tok := range []string{tokA, tokB} {
			if r := opsIntrospect(t, s.URL, inspector, tok); r["active"] != true || r["client_id"] != c.ID {
				t.Fatalf("introspection before delete: %v", r)
			}
		}

		// delete: the client's tokens stop working at once; the client itself within the cache TTL.
		out, err = s.cli("clients", "delete", c.ID)
		if err != nil {
			t.Fatalf("clients delete: %v", err)
		}
		if want := fmt.Sprintf("deleted client %s (Billing) and its tokens\n", c.ID); out != want {
			t.Fatalf("clients delete printed %q, want %q", out, want)
		}
		for _, tok := range []string{tokA, tokB} {
			if r := opsIntrospect(t, s.URL, inspector, tok); r["active"] != false || len(r) != 1 {
				t.Fatalf("introspection of a deleted client's token: %v, want {active: false}", r)
			}
		}
		var window []string // tokens the server still issued from its cache
		ok, took = opsEventually(5*time.Second, func() bool {
			st, body := opsClientCredentials(t, s.URL, fresh)
			last = fmt.Sprint(st, body)
			if st == http.StatusOK {
				window = append(window, body["access_token"].(string))
			} else if st != http.StatusUnauthorized {
				t.Errorf("deleted client: %s, want 200 (cached) or 401", last)
			}
			return st == http.StatusUnauthorized && body["error"] == "invalid_client"
		})
		if !ok {
			t.Fatalf("a deleted client still gets tokens %s after the deletion (last answer %s)", took, last)
		}
		t.Logf("deleted client refused %s after the deletion; %d tokens issued from the cache meanwhile", took.Round(time.Millisecond), len(window))
		for _, tok := range window {
			if r := opsIntrospect(t, s.URL, inspector, tok); r["active"] != false {
				t.Fatalf("a token issued to the deleted client from the server's cache is still active: %v", r)
			}
		}
		if _, err := s.cli("clients", "show", c.ID); err == nil {
			t.Fatal("clients show finds a deleted client")
		}
		if l := listJSON(); len(l) != 1 || l[0].ClientID != inspector.ID {
			t.Fatalf("clients list after delete: %+v", l)
		}

		// Every change is audited.
		want := []opsAuditRow{
			{"client.created", "cli", "system", c.ID, "success"},
			{"client.secret_rotated", "cli", "system", c.ID, "success"},
			{"client.deleted", "cli", "system", c.ID, "success"},
		}
		if rows := opsClientAudit(t, s, c.ID); !slices.Equal(rows, want) {
			t.Fatalf("audit rows %+v, want %+v", rows, want)
		}
	})
}

// A code-flow client created through the CLI while the server runs works at its first use.
func TestCLIClientUsableAtOnce(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	// The server has already answered for other clients, so its cache is warm.
	warm := s.createClient("--name", "Warm", "--grant-type", "client_credentials")
	opsAccessToken(t, s.URL, warm)

	web := s.createClient("--name", "Web", "--redirect-uri", callback)
	opsIDToken(t, s, web, s.createUser("frank"))
	machine := s.createClient("--name", "Machine", "--grant-type", "client_credentials")
	opsAccessToken(t, s.URL, machine)
}

// A rejected create changes nothing: no client, no audit row, no secret printed.
func TestCLIClientCreateRejected(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"http redirect URI on a public host", []string{"--name", "Bad", "--redirect-uri", "http://example.com/cb"},
			[]string{"redirect_uri", "http://example.com/cb"}},
		{"redirect URI with a fragment", []string{"--name", "Bad", "--redirect-uri", "https://app.example.com/cb#x"},
			[]string{"redirect_uri"}},
		{"unknown organisation", []string{"--name", "Orphan", "--org", "nosuchorg", "--grant-type", "client_credentials"},
			[]string{"org", "nosuchorg"}},
		{"no name", []string{"--grant-type", "client_credentials"}, []string{"name"}},
		{"bad output", []string{"--name", "X", "--grant-type", "client_credentials", "--output", "yaml"}, []string{"--output"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clientsBefore := opsCount(t, s, "SELECT COUNT(*) FROM clients")
			auditBefore := opsCount(t, s, "SELECT COUNT(*) FROM audit_events")
			out, err := s.cli(append([]string{"clients", "create"}, tc.args...)...)
			if err == nil {
				t.Fatalf("clients create %v succeeded:\n%s", tc.args, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if out != "" {
				t.Errorf("a rejected create printed %q", out)
			}
			if n := opsCount(t, s, "SELECT COUNT(*) FROM clients"); n != clientsBefore {
				t.Errorf("clients: %d before, %d after a rejected create", clientsBefore, n)
			}
			if n := opsCount(t, s, "SELECT COUNT(*) FROM audit_events"); n != auditBefore {
				t.Errorf("audit events: %d before, %d after a rejected create", auditBefore, n)
			}
		})
	}
}

// Commands on clients that cannot apply change nothing and say why.
func TestCLIClientCommandErrors(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	public := s.createClient("--name", "SPA", "--type", "public", "--redirect-uri", callback)
	auditBefore := opsCount(t, s, "SELECT COUNT(*) FROM audit_events")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "rotate-secret", public.ID}, "no secret"},
		{[]string{"clients", "rotate-secret", "nosuchclient"}, `no client "nosuchclient"`},
		{[]string{"clients", "delete", "nosuchclient"}, `no client "nosuchclient"`},
	} {
		if out, err := s.cli(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%v: %q, %v; want an error containing %q", tc.args, out, err, tc.want)
		}
	}
	for _, ids := range [][]string{nil, {"a", "b"}} {
		args := append([]string{"clients", "delete", "--database", s.DSN, "--secret-file", s.SecretFile}, ids...)
		if out, _, err := opsRun(t, args...); err == nil || !strings.Contains(err.Error(), "CLIENT_ID") || out != "" {
			t.Errorf("%v: %q, %v; want an error asking for one CLIENT_ID", args, out, err)
		}
	}
	if n := opsCount(t, s, "SELECT COUNT(*) FROM audit_events"); n != auditBefore {
		t.Errorf("audit events: %d before, %d after failed commands", auditBefore, n)
	}
	if public.Secret != "" {
		t.Errorf("a public client was given a secret")
	}
}

// Without a secret file, a non-localhost instance refuses to start (and to run CLI commands):
// generating a secret there would silently lose every sealed key at the next deployment.
func TestSecretFileRefusedForPublicIssuer(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	if _, _, err := opsRun(t, "migrate", "up", "--database", dsn); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0"},
		{"clients", "list"},
		{"keys", "list"},
	} {
		t.Run(args[0], func(t *testing.T) {
			secretPath := filepath.Join(t.TempDir(), "portcullis.secret")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			err := run(ctx, append(slices.Clone(args), "--issuer", "https://id.example.com", "--database", dsn,
				"--secret-file", secretPath), &out, &errb)
			if err == nil {
				t.Fatalf("%v ran without a secret file for https://id.example.com", args)
			}
			if !strings.Contains(err.Error(), secretPath) {
				t.Fatalf("error %q does not name the secret file %s", err, secretPath)
			}
			if _, err := os.Stat(secretPath); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("secret file created for a public issuer (stat: %v)", err)
			}
		})
	}
	t.Run("openEnv", func(t *testing.T) {
		cfg := Defaults()
		cfg.Issuer, cfg.Database = "https://id.example.com", dsn
		cfg.SecretFile = filepath.Join(t.TempDir(), "portcullis.secret")
		if _, err := openEnv(context.Background(), cfg, io.Discard, false); err == nil || !strings.Contains(err.Error(), cfg.SecretFile) {
			t.Fatalf("openEnv: %v, want an error naming %s", err, cfg.SecretFile)
		}
	})
	t.Run("unreadable content", func(t *testing.T) {
		secretPath := opsWriteFile(t, "portcullis.secret", "too short\n")
		_, _, err := opsRun(t, "clients", "list", "--issuer", "http://localhost:8080", "--database", dsn, "--secret-file", secretPath)
		if err == nil || !strings.Contains(err.Error(), secretPath) {
			t.Fatalf("a malformed secret file: %v, want an error naming %s", err, secretPath)
		}
		if b, _ := os.ReadFile(secretPath); string(b) != "too short\n" {
			t.Fatalf("a malformed secret file was overwritten: %q", b)
		}
	})
}

// For a localhost issuer a missing secret file is generated, private (0600), and reused.
func TestSecretFileGeneratedForLocalhost(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	if _, _, err := opsRun(t, "migrate", "up", "--database", dsn); err != nil {
		t.Fatal(err)
	}
	for _, issuer := range []string{"http://localhost:8080", "http://127.0.0.1:9000", "http://[::1]:8080", "http://dev.localhost"} {
		t.Run(issuer, func(t *testing.T) {
			secretPath := filepath.Join(t.TempDir(), "portcullis.secret")
			args := []string{"clients", "list", "--issuer", issuer, "--database", dsn, "--secret-file", secretPath, "--log-format", "text"}
			_, stderr, err := opsRun(t, args...)
			if err != nil {
				t.Fatalf("first run: %v", err)
			}
			if !strings.Contains(stderr, "generated a new system secret") {
				t.Errorf("first run did not warn about the generated secret: %q", stderr)
			}
			st, err := os.Stat(secretPath)
			if err != nil {
				t.Fatalf("secret file not generated: %v", err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("secret file mode %v, want 0600", st.Mode().Perm())
			}
			first, _ := os.ReadFile(secretPath)
			if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}\n$`).Match(first) {
				t.Fatalf("secret file content %q, want 32 bytes base64url and a newline", first)
			}
			_, stderr, err = opsRun(t, args...)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if strings.Contains(stderr, "generated") {
				t.Errorf("second run generated again: %q", stderr)
			}
			if again, _ := os.ReadFile(secretPath); !bytes.Equal(again, first) {
				t.Fatalf("secret file changed between runs: %q then %q", first, again)
			}
		})
	}
}

// Several processes starting at once with one missing development secret file all end up with the
// one secret that was written: none fails, none reads a half-written file.
func TestSecretFileConcurrentGeneration(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	if _, _, err := opsRun(t, "migrate", "up", "--database", dsn); err != nil {
		t.Fatal(err)
	}
	const rounds, racers = 25, 8
	failed := 0
	for round := 0; round < rounds; round++ {
		cfg := Defaults()
		cfg.Database = dsn
		cfg.SecretFile = filepath.Join(t.TempDir(), "portcullis.secret")
		keys := make([][]byte, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := openEnv(context.Background(), cfg, io.Discard, false)
				if err != nil {
					errs[i] = err
					return
				}
				keys[i] = e.secret.Key("test")
				e.db.Close()
			}()
		}
		wg.Wait()
		written, _ := os.ReadFile(cfg.SecretFile)
		for i := 0; i < racers; i++ {
			switch {
			case errs[i] != nil:
				failed++
				if failed <= 3 {
					t.Errorf("round %d, process %d of %d: %v", round, i+1, racers, errs[i])
				}
			case !bytes.Equal(keys[i], keys[0]) && errs[0] == nil:
				t.Errorf("round %d: processes %d and 1 derived different secrets (file %q)", round, i+1, written)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d racing starts failed", failed, rounds*racers)
	}
}

// A restarted server on the same database and secret file decrypts its signing keys: an ID token
// signed before the restart verifies against the JWKS served after it, and clients still log in.
func TestSecretFileReusedAcrossRestart(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	secretPath := filepath.Join(t.TempDir(), "portcullis.secret")

	s1 := opsStart(t, dsn, secretPath, "")
	defer func() { _ = s1.stop() }()
	st, err := os.Stat(secretPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("generated secret file: %v %v, want mode 0600", st, err)
	}
	secret1, _ := os.ReadFile(secretPath)
	web := s1.createClient("--name", "Web", "--redirect-uri", callback)
	u := s1.createUser("grace")
	before := opsIDToken(t, s1.testServer, web, u)
	kid1, _ := opsJWTHeader(t, before)
	if err := s1.stop(); err != nil {
		t.Fatalf("first server: serve returned %v", err)
	}

	s2 := opsStart(t, dsn, secretPath, "")
	if secret2, _ := os.ReadFile(secretPath); !bytes.Equal(secret1, secret2) {
		t.Fatal("the secret file was replaced at the restart")
	}
	if err := opsVerifyAgainst(before, s1.URL, s2.URL+"/.well-known/jwks.json", web.ID); err != nil {
		t.Fatalf("ID token from before the restart against the JWKS after it: %v", err)
	}
	after := opsIDToken(t, s2.testServer, web, u)
	if kid2, _ := opsJWTHeader(t, after); kid2 != kid1 {
		t.Fatalf("the restarted server signs with %s, before the restart %s: keys were regenerated", kid2, kid1)
	}
}
