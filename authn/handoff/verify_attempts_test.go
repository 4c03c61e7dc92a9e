package handoff

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/ui"
)

// trustedSide is the trusted device's half of the handler on a real database and HTTP server.
type trustedSide struct {
	t     *testing.T
	db    *database.DB
	srv   *httptest.Server
	store *Store
	users *directory.Store
	sess  *session.Store
}

func newTrustedSide(t *testing.T, ipRule throttle.Rule) *trustedSide {
	db := testdb.SQLite(t)
	sec := secret.FromBytes(make([]byte, 32))
	renderer, err := ui.New()
	if err != nil {
		t.Fatal(err)
	}
	ts := &trustedSide{t: t, db: db, store: NewStore(db, sec.Hasher("handoff"), nil), users: directory.NewStore(db),
		sess: session.NewStore(db, sec.Hasher("session"))}
	h := &Handler{Store: ts.store, Sessions: &session.Manager{Store: ts.sess}, Users: ts.users, Orgs: ts.users,
		Audit: &audit.Log{DB: db}, UI: renderer, CSRF: &httpx.CSRF{Key: sec.Key("csrf")},
		Limiter: throttle.New(db, nil), Account: throttle.DefaultCodeAccount(), IP: ipRule}
	r := mux.NewRouter()
	h.Mount(r)
	ts.srv = httptest.NewServer(r)
	t.Cleanup(ts.srv.Close)
	return ts
}

// person is a signed-in user with a browser (cookie jar).
type person struct {
	ts     *trustedSide
	user   directory.User
	sid    string
	client *http.Client
}

func (ts *trustedSide) signedIn(username string) *person {
	ts.t.Helper()
	ctx := context.Background()
	u, err := ts.users.CreateUser(ctx, directory.User{Username: username})
	if err != nil {
		ts.t.Fatal(err)
	}
	token, sess, err := ts.sess.Create(ctx, session.Session{UserID: u.ID, OrgID: u.OrgID, Method: "passkey",
		AuthTime: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		ts.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(ts.srv.URL)
	jar.SetCookies(base, []*http.Cookie{{Name: "portcullis_session", Value: token, Path: "/"}})
	return &person{ts: ts, user: u, sid: sess.ID, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// enter types a code and returns the status and page.
func (p *person) enter(code string) (int, string) {
	p.ts.t.Helper()
	resp, err := p.client.Get(p.ts.srv.URL + "/account/handoff")
	if err != nil {
		p.ts.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		p.ts.t.Fatalf("no CSRF token on the code page (%d)", resp.StatusCode)
	}
	resp, err = p.client.PostForm(p.ts.srv.URL+"/account/handoff", url.Values{"csrf_token": {string(m[1])}, "code": {code}})
	if err != nil {
		p.ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (ts *trustedSide) newCode(u directory.User) string {
	ts.t.Helper()
	_, code, _, err := ts.store.Create(context.Background(), Handoff{OrgID: u.OrgID, Username: u.Username, UserID: u.ID})
	if err != nil {
		ts.t.Fatal(err)
	}
	return code
}

func (ts *trustedSide) audits(action, userID string) int {
	var n int
	if err := ts.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE action = ? AND user_id = ?`, action, userID).Scan(&n).Error; err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// TestCodeAttemptsPerAccount: five wrong codes lock code entry for that account (the fifth says
// so), a right code is refused while locked, and another account is not affected.
func TestCodeAttemptsPerAccount(t *testing.T) {
	ts := newTrustedSide(t, throttle.DefaultCodeIP())
	ann, bob := ts.signedIn("ann"), ts.signedIn("bob")
	good := ts.newCode(ann.user)
	for i := 1; i <= 6; i++ {
		status, page := ann.enter("ABCD-EFGH")
		locked := strings.Contains(page, "code entry is locked")
		if want := i >= 5; locked != want || (i < 5 && (status != http.StatusBadRequest || !strings.Contains(page, "This code is not valid."))) {
			t.Fatalf("wrong code %d: status %d, locked %v", i, status, locked)
		}
	}
	if n := ts.audits("handoff.locked", ann.user.ID); n != 1 {
		t.Fatalf("%d handoff.locked events, want 1", n)
	}
	if n := ts.audits("handoff.code_failed", ann.user.ID); n != 6 {
		t.Fatalf("%d handoff.code_failed events, want 6", n)
	}
	if status, page := ann.enter(good); status != http.StatusTooManyRequests || !strings.Contains(page, "code entry is locked") {
		t.Fatalf("the right code while locked: %d", status)
	}
	if status, page := bob.enter(ts.newCode(bob.user)); status != http.StatusOK || !strings.Contains(page, "Is this you?") {
		t.Fatalf("another account's right code: %d", status)
	}
}

// TestCodeAttemptsReset: a right code forgets the wrong ones before it.
func TestCodeAttemptsReset(t *testing.T) {
	ts := newTrustedSide(t, throttle.DefaultCodeIP())
	ann := ts.signedIn("ann")
	for range 4 {
		ann.enter("ABCD-EFGH")
	}
	if status, _ := ann.enter(ts.newCode(ann.user)); status != http.StatusOK {
		t.Fatalf("the right code after four wrong ones: %d", status)
	}
	for i := 1; i <= 4; i++ {
		if _, page := ann.enter("ABCD-EFGH"); strings.Contains(page, "locked") {
			t.Fatalf("locked after %d wrong codes following a right one", i)
		}
	}
}

// TestCodeAttemptsPerIP: every guess from one address counts, right or wrong, whichever account.
func TestCodeAttemptsPerIP(t *testing.T) {
	ts := newTrustedSide(t, throttle.Rule{Limit: 3, Window: 10 * time.Minute, Block: 10 * time.Minute, MaxBlock: time.Hour})
	ann, bob, cyd := ts.signedIn("ann"), ts.signedIn("bob"), ts.signedIn("cyd")
	ann.enter("ABCD-EFGH")
	if status, _ := bob.enter(ts.newCode(bob.user)); status != http.StatusOK {
		t.Fatalf("bob's right code: %d", status)
	}
	cyd.enter("ABCD-EFGH")
	if status, page := cyd.enter(ts.newCode(cyd.user)); status != http.StatusTooManyRequests || !strings.Contains(page, "your network") {
		t.Fatalf("the fourth guess from one address: %d", status)
	}
}

// TestApproveBinding: approving needs the session that verified the code and a passkey check
// within ApproveWithin.
func TestApproveBinding(t *testing.T) {
	ts := newTrustedSide(t, throttle.DefaultCodeIP())
	ann := ts.signedIn("ann")
	other := ts.signedIn("ann2")
	code := ts.newCode(ann.user)
	if status, _ := ann.enter(code); status != http.StatusOK {
		t.Fatal(status)
	}
	ho, err := ts.store.Verify(context.Background(), code, ann.user.OrgID, ann.user.ID, ann.sid)
	if err != nil {
		t.Fatal(err)
	}
	approve := func(p *person) int {
		t.Helper()
		resp, err := p.client.Get(ts.srv.URL + "/account/handoff")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/account/handoff/"+ho.ID+"/approve", strings.NewReader("{}"))
		req.Header.Set("X-CSRF-Token", string(csrfField.FindSubmatch(page)[1]))
		req.Header.Set("Content-Type", "application/json")
		resp, err = p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := approve(ann); status != http.StatusForbidden {
		t.Fatalf("approve without a passkey check: %d, want 403", status)
	}
	ctx := context.Background()
	if err := ts.sess.MarkVerified(ctx, ann.sid, time.Now().Add(-ApproveWithin-time.Second)); err != nil {
		t.Fatal(err)
	}
	if status := approve(ann); status != http.StatusForbidden {
		t.Fatalf("approve after a stale passkey check: %d, want 403", status)
	}
	if err := ts.sess.MarkVerified(ctx, other.sid, time.Now()); err != nil {
		t.Fatal(err)
	}
	if status := approve(other); status != http.StatusBadRequest {
		t.Fatalf("approve by another account: %d, want 400", status)
	}
	if err := ts.sess.MarkVerified(ctx, ann.sid, time.Now()); err != nil {
		t.Fatal(err)
	}
	if status := approve(ann); status != http.StatusOK {
		t.Fatalf("approve after a fresh passkey check: %d", status)
	}
	if got, _ := ts.store.Get(ctx, ho.ID); got.State != StateApproved || ts.audits("handoff.approved", ann.user.ID) != 1 {
		t.Fatalf("after approval: %s", got.State)
	}
}
