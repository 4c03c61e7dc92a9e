package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
)

// apiResp is an answer of the admin API.
type apiResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r apiResp) str(key string) string { v, _ := r.body[key].(string); return v }

func (r apiResp) items() []map[string]any {
	raw, _ := r.body["items"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// api calls the admin API with a bearer token ("" for none). A string body is sent as text/csv,
// anything else but nil as JSON.
func (s *testServer) api(t *testing.T, token, method, path string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "text/csv"
	case []byte:
		rd, ct = strings.NewReader(string(b)), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = strings.NewReader(string(j)), "application/json"
	}
	req, err := http.NewRequest(method, s.URL+"/api/admin/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResp{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
	}
	return out
}

// want checks the status (and for errors the code and the field named).
func (r apiResp) want(t *testing.T, status int, codeAndField ...string) apiResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
	if len(codeAndField) > 0 && r.str("error") != codeAndField[0] {
		t.Fatalf("error %q (%s), want %q", r.str("error"), r.raw, codeAndField[0])
	}
	if len(codeAndField) > 1 && r.str("field") != codeAndField[1] {
		t.Fatalf("field %q (%s), want %q", r.str("field"), r.raw, codeAndField[1])
	}
	if status >= 400 && r.str("message") == "" {
		t.Fatalf("an error without a message: %s", r.raw)
	}
	return r
}

// adminToken registers a client-credentials client of org with scopes and returns an access
// token of it, with the client.
func (s *testServer) adminToken(t *testing.T, org string, scopes ...string) (string, registered) {
	t.Helper()
	args := []string{"--name", "Automation " + strings.Join(scopes, " "), "--org", org, "--grant-type", "client_credentials"}
	for _, sc := range scopes {
		args = append(args, "--scope", sc)
	}
	c := s.createClient(args...)
	return s.clientToken(t, c, scopes...), c
}

func (s *testServer) clientToken(t *testing.T, c registered, scopes ...string) string {
	t.Helper()
	got := postEndpoint(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"scope": {strings.Join(scopes, " ")}}, c.ID, c.Secret)
	if got.status != http.StatusOK || got.str("access_token") == "" {
		t.Fatalf("client credentials: %d %s", got.status, got.raw)
	}
	return got.str("access_token")
}

// adminPasskey stores a passkey row for a user (the admin API only lists and removes them).
func (s *testServer) adminPasskey(t *testing.T, userID, id string, created time.Time) {
	t.Helper()
	if err := s.env.db.Exec(`INSERT INTO passkeys (id, user_id, credential_id, public_key, name, added_via, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, userID, "cred-"+id, []byte{1}, "Key "+id, passkey.AddedViaEnrollment, created.UTC()).Error; err != nil {
		t.Fatal(err)
	}
}

// orgUser adds a user to an organisation directly in the directory.
func (s *testServer) orgUser(t *testing.T, orgID, username string, roles ...string) directory.User {
	t.Helper()
	u, err := directory.NewStore(s.env.db).CreateUser(context.Background(), directory.User{OrgID: orgID, Username: username,
		DisplayName: "User " + username, Email: username + "@example.com", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// auditBy counts the successful actions of one actor.
func (s *testServer) auditBy(t *testing.T, actor, action string) int64 {
	t.Helper()
	return opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE actor = ? AND action = ? AND outcome = 'success'`, actor, action)
}
