package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
)

// apPost posts a form with the CSRF token and returns status and body.
func apPost(t *testing.T, b *browser, u, csrf string, form url.Values) (int, string) {
	t.Helper()
	form.Set("csrf_token", csrf)
	resp, body := b.postForm(u, form)
	return resp.StatusCode, body
}

// apUpload posts a CSV file to the import form.
func apUpload(t *testing.T, b *browser, u, csrf, mode, csv string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf_token", csrf)
	_ = mw.WriteField("mode", mode)
	fw, _ := mw.CreateFormFile("file", "people.csv")
	_, _ = fw.Write([]byte(csv))
	_ = mw.Close()
	resp, err := b.Post(u, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

var apSecretRE = regexp.MustCompile(`id="client-secret">([^<]+)<`)

// The admin pages do what they say, through the admin use cases, audited with the admin.
func TestAdminPagesWork(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		f := newAPFixture(t, s)
		p := s.URL + "/o/acme/admin"
		b := newBrowser(t)
		s.apSignIn(t, b, f.admin, "passkey", time.Now())
		csrf := apCSRF(t, b, p)
		if csrf == "" {
			t.Fatal("the overview has no CSRF token")
		}
		if resp, body := b.get(p); resp.StatusCode != 200 || !strings.Contains(body, "Passkey adoption") ||
			!strings.Contains(body, "Policy at a glance") || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("overview: %d", resp.StatusCode)
		}

		// Create a user: the enrollment link is shown once (no mail server).
		st, body := apPost(t, b, p+"/users", csrf, url.Values{"username": {"sam"}, "display_name": {"Sam"}, "email": {"sam@example.com"}})
		if st != 200 || !strings.Contains(body, s.URL+"/enroll/") {
			t.Fatalf("create user: %d %s", st, body)
		}
		sam := s.user(t, f.acme.ID, "sam")
		if n := s.auditBy(t, "user:"+f.admin.ID, "user.created"); n != 1 {
			t.Fatalf("user.created by the admin: %d", n)
		}
		if st, body := apPost(t, b, p+"/users", csrf, url.Values{"username": {"sam"}}); st != 400 || !strings.Contains(body, "already exists") {
			t.Fatalf("duplicate user: %d", st)
		}

		// Search and pages.
		for i := range 55 {
			s.apUser(t, f.acme.ID, fmt.Sprintf("bulk%02d", i))
		}
		_, body = b.get(p + "/users?q=bulk")
		next := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(body)
		if strings.Count(body, "bulk") < 50 || next == nil || strings.Contains(body, ">sam<") {
			t.Fatalf("first page of the search: next %v", next)
		}
		_, body = b.get(s.URL + strings.ReplaceAll(next[1], "&amp;", "&"))
		if !strings.Contains(body, "bulk54") || strings.Contains(body, ">bulk00<") {
			t.Fatal("second page of the search")
		}

		// Roles (sensitive, fresh here), disable, and the last admin is kept.
		if st, _ := apPost(t, b, p+"/users/"+sam.ID+"/roles", csrf, url.Values{"roles": {"admin, editor"}}); st != 303 {
			t.Fatalf("roles: %d", st)
		}
		if u := s.user(t, f.acme.ID, "sam"); strings.Join(u.Roles, ",") != "admin,editor" {
			t.Fatalf("roles now %v", u.Roles)
		}
		if st, _ := apPost(t, b, p+"/users/"+sam.ID+"/status", csrf, url.Values{"status": {"disabled"}}); st != 303 {
			t.Fatalf("disable: %d", st)
		}
		if st, body := apPost(t, b, p+"/users/"+f.admin.ID+"/roles", csrf, url.Values{"roles": {""}}); st != 409 || !strings.Contains(body, "last active admin") {
			t.Fatalf("removing the last admin: %d", st)
		}
		if st, _ := apPost(t, b, p+"/users/"+sam.ID+"/status", csrf, url.Values{"status": {"active"}}); st != 303 {
			t.Fatalf("enable: %d", st)
		}

		// Recovery: the link is shown once.
		if st, body := apPost(t, b, p+"/users/"+sam.ID+"/recovery", csrf, url.Values{"delivery": {"show"}}); st != 200 || !strings.Contains(body, s.URL+"/recover/") {
			t.Fatalf("recovery: %d", st)
		}

		// Policy: the preview changes nothing; applying does.
		st, body = apPost(t, b, p+"/policy/preview", csrf, url.Values{"passkeys": {"mandatory"}, "require_user_verification": {"true"}, "allow_synced": {"true"}})
		if st != 200 || !strings.Contains(body, "Who this change affects") || !strings.Contains(body, `id="impact"`) {
			t.Fatalf("policy preview: %d %s", st, body)
		}
		if o, _ := directory.NewStore(s.env.db).GetOrg(context.Background(), f.acme.ID); o.Policy.Mode != policy.Off {
			t.Fatalf("the preview changed the policy: %s", o.Policy.Mode)
		}
		if st, _ := apPost(t, b, p+"/policy", csrf, url.Values{"passkeys": {"mandatory"}, "require_user_verification": {"true"}, "allow_synced": {"true"}}); st != 303 {
			t.Fatalf("policy apply: %d", st)
		}
		if o, _ := directory.NewStore(s.env.db).GetOrg(context.Background(), f.acme.ID); o.Policy.Mode != policy.Mandatory || !o.Policy.RequireUV {
			t.Fatalf("policy after apply: %+v", o.Policy)
		}

		// Apps: a mobile app has no secret; a web app's is shown once and rotates; delete.
		st, body = apPost(t, b, p+"/apps", csrf, url.Values{"template": {"mobile"}, "name": {"Acme mobile"},
			"redirect_uris": {"com.acme.app:/callback"}, "grant_code": {"true"}, "grant_refresh": {"true"}})
		if st != 200 || strings.Contains(body, "client-secret") || !strings.Contains(body, s.URL+"/.well-known/openid-configuration") {
			t.Fatalf("mobile app: %d", st)
		}
		if st, body := apPost(t, b, p+"/apps", csrf, url.Values{"template": {"mobile"}, "name": {"Bad"},
			"redirect_uris": {"http://app.example.com/cb"}, "grant_code": {"true"}}); st != 400 || !strings.Contains(body, "Redirect URIs") {
			t.Fatalf("a bad redirect URI: %d", st)
		}
		st, body = apPost(t, b, p+"/apps", csrf, url.Values{"template": {"web"}, "name": {"Acme site"},
			"redirect_uris": {"https://acme.example/cb"}, "grant_code": {"true"}})
		m := apSecretRE.FindStringSubmatch(body)
		id := regexp.MustCompile(`id="client-id">([^<]+)<`).FindStringSubmatch(body)
		if st != 200 || m == nil || id == nil {
			t.Fatalf("web app: %d", st)
		}
		st, body = apPost(t, b, p+"/apps/"+id[1]+"/rotate", csrf, url.Values{})
		if m2 := apSecretRE.FindStringSubmatch(body); st != 200 || m2 == nil || m2[1] == m[1] {
			t.Fatalf("rotate: %d", st)
		}
		if st, _ := apPost(t, b, p+"/apps/"+id[1]+"/delete", csrf, url.Values{}); st != 303 {
			t.Fatalf("delete: %d", st)
		}
		if resp, _ := b.get(p + "/apps/" + id[1]); resp.StatusCode != 404 {
			t.Fatalf("deleted app: %d", resp.StatusCode)
		}

		// Import: the preview changes nothing; applying creates the user and shows the link.
		st, body = apUpload(t, b, p+"/import", csrf, "joiners", "username,display_name,email\nzoe,Zoe,zoe@example.com\n")
		if st != 200 || !strings.Contains(body, `id="import-summary"`) || !strings.Contains(body, "zoe") {
			t.Fatalf("import preview: %d %s", st, body)
		}
		if _, err := directory.NewStore(s.env.db).GetUserByUsername(context.Background(), f.acme.ID, "zoe"); err == nil {
			t.Fatal("the preview imported")
		}
		if st, body := apUpload(t, b, p+"/import", csrf, "joiners", "username,display_name\n,Nobody\n"); st != 400 || !strings.Contains(body, "Line 2") {
			t.Fatalf("a bad file: %d %s", st, body)
		}
		st, body = apPost(t, b, p+"/import/apply", csrf, url.Values{"mode": {"joiners"}, "csv": {"username,display_name,email\nzoe,Zoe,zoe@example.com\n"}})
		if st != 200 || !strings.Contains(body, "1 created") || !strings.Contains(body, "/enroll/") {
			t.Fatalf("import apply: %d", st)
		}
		s.user(t, f.acme.ID, "zoe")

		// The audit log filters and exports as JSON lines.
		if _, body := b.get(p + "/audit?user=sam&action=recovery.*"); !strings.Contains(body, "recovery.started") || strings.Contains(body, "user.created") {
			t.Fatal("audit filter")
		}
		resp, err := b.Get(p + "/audit/export?action=user.*")
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export: %v %v", resp, err)
		}
		actions := map[string]bool{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e struct {
				Action, Actor string
				OrgID         string `json:"org_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			actions[e.Action] = true
		}
		resp.Body.Close()
		if !actions["user.created"] || !actions["user.updated"] || actions["recovery.started"] {
			t.Fatalf("exported actions %v", actions)
		}

		// The system admin rotates the signing keys and creates an organisation.
		sys := newBrowser(t)
		s.apSignIn(t, sys, f.sysAdmin, "passkey", time.Now())
		scsrf := apCSRF(t, sys, s.URL+"/admin")
		if st, body := apPost(t, sys, s.URL+"/admin/keys/rotate", scsrf, url.Values{"alg": {"ES256"}}); st != 200 || !strings.Contains(body, "Rotated") {
			t.Fatalf("rotate keys: %d", st)
		}
		if st, _ := apPost(t, sys, s.URL+"/admin/orgs", scsrf, url.Values{"slug": {"newco"}, "name": {"New Co"}}); st != 303 {
			t.Fatalf("create org: %d", st)
		}
		if _, body := sys.get(s.URL + "/admin"); !strings.Contains(body, "newco") {
			t.Fatal("the new organisation is not listed")
		}
	})
}
