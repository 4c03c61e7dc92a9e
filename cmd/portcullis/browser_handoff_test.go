package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// The cross-device sign-in code (authn/handoff) in a real browser: each device is a browser
// context with its own cookies and its own virtual authenticator.

// handoffStart takes new device d from a relying party's sign-in (flow f) to the handoff page,
// asks for a code for username and returns it. The sign-in page is left before approval comes
// back on, so that a passkey the device holds for another account cannot sign it in by autofill.
func (s *testServer) handoffStart(t *testing.T, d *browserDevice, f rpFlow, username string) string {
	t.Helper()
	d.deleteCookie(s.URL, sessionCookieName) // whoever this device was signed in as, it is not now
	d.presence(false)
	d.navigate(f.URL)
	d.waitPath(s.URL, "/login")
	// After the username, "Sign in from another device" (the page takes the username along).
	d.typeInto("#username", username)
	d.click("#handoff-link")
	d.waitPath(s.URL, "/login/handoff")
	d.presence(true)
	if h := d.text("h1"); h != "Sign in to Browser test app from another device" {
		t.Fatalf("%s: handoff page heading %q", d.name, h)
	}
	return d.waitHandoffCode("")
}

// waitHandoffCode waits until the page shows a code other than old, and returns it.
func (d *browserDevice) waitHandoffCode(old string) string {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for time.Now().Before(deadline) {
		if c := d.text("#handoff-code"); c != "" && c != old && d.visible("#handoff-wait") {
			return c
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.t.Fatalf("%s: no code shown (status %q)", d.name, d.statusText())
	return ""
}

// visible reports whether the element is shown (it and none of its ancestors hidden).
func (d *browserDevice) visible(selector string) bool {
	d.t.Helper()
	return mustEval[bool](d, `(function(){var e=document.querySelector(`+jsString(selector)+`);if(!e)return false;`+
		`for(;e;e=e.parentElement){if(e.hidden)return false}return true})()`)
}

// waitVisible waits until the element is shown, failing the test after browserStep (plus the
// page's two-second polling).
func (d *browserDevice) waitVisible(selector string) {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for !d.visible(selector) {
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: %s never shown (page %s, status %q)", d.name, selector, d.location(), d.statusText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// handoffEnter types code on trusted device d's "Sign in to another device" page and presses
// Verify code.
func (s *testServer) handoffEnter(d *browserDevice, code string) {
	d.t.Helper()
	d.navigate(s.URL + "/account")
	d.click("#handoff-link") // "Sign in to another device", in the passkeys section
	d.waitPath(s.URL, "/account/handoff")
	d.typeInto("#handoff-code-input", code)
	d.click("#handoff-verify")
	d.waitPath(s.URL, "/account/handoff")
}

// handoffApprove enters code on d, checks what the confirmation shows, and approves it with a
// passkey check.
func (s *testServer) handoffApprove(t *testing.T, d *browserDevice, code string) {
	t.Helper()
	s.handoffEnter(d, code)
	if h := d.text("h1"); h != "Is this you?" {
		t.Fatalf("%s: after Verify code the page says %q (%q)", d.name, h, d.text("#handoff-error"))
	}
	if app, dev, ip := d.text("#handoff-app"), d.text("#handoff-device"), d.text("#handoff-ip"); app != "Browser test app" ||
		!strings.Contains(dev, "Chrome") || ip != "127.0.0.1" || d.text("#handoff-time") == "" {
		t.Fatalf("%s: the confirmation shows app %q, device %q, IP %q", d.name, app, dev, ip)
	}
	d.shot("handoff-confirm")
	d.forgetRequests()
	d.click("#handoff-approve")
	at := d.waitPath(s.URL, "/account/handoff")
	if at.Query().Get("done") != "approved" || !strings.HasPrefix(d.text("#handoff-notice"), "Approved") {
		t.Fatalf("%s: after approving: %s, %q (status %q)", d.name, at, d.text("#handoff-notice"), d.statusText())
	}
	// The approval ran the account page's fresh passkey check first.
	if len(d.sent("/account/verify/begin")) != 1 || len(d.sent("/account/verify/finish")) != 1 {
		t.Fatalf("%s: approving did not run one passkey check", d.name)
	}
}

// handoffFinish waits on new device d for the approval, creates its passkey and returns the
// relying party's claims for flow f.
func (s *testServer) handoffFinish(t *testing.T, d *browserDevice, r *rp, cb *rpCallback, f rpFlow) passkeyClaims {
	t.Helper()
	d.waitVisible("#handoff-create")
	d.shot("handoff-create")
	d.typeInto("#passkey-name", d.name)
	d.click("#passkey-create")
	return r.redeemBrowserCode(t, f, cb.waitCode(t, d, f))
}

// handoffAudits counts the audit events of an action for a user whose details contain all of want.
func (s *testServer) handoffAudits(t *testing.T, action, userID string, want ...string) int {
	t.Helper()
	var details []string
	if err := s.env.db.Raw(`SELECT details FROM audit_events WHERE action = ? AND user_id = ?`, action, userID).
		Scan(&details).Error; err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range details {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(d, w)
		}
		if ok {
			n++
		}
	}
	return n
}

// TestBrowserHandoffBothWays signs a new device in with a code approved on a device that has a
// passkey: A to B, then (for another user) B to A.
func TestBrowserHandoffBothWays(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	r, cb := browserRP(t, s)
	a := newBrowserDevice(t, "A's phone", syncedKeys)
	b := newBrowserDevice(t, "B's PC", deviceBoundKeys)

	for _, tc := range []struct {
		name, username  string
		trusted, newDev *browserDevice
	}{
		{"A to B", "ann", a, b},
		{"B to A", "bob", b, a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := s.enrollInBrowser(t, tc.trusted, tc.username)
			trustedSessions := liveSessions(t, s, e.UserID)
			if len(trustedSessions) != 1 {
				t.Fatalf("%d sessions after enrollment", len(trustedSessions))
			}

			f := r.browserFlow()
			code := s.handoffStart(t, tc.newDev, f, tc.username)
			tc.newDev.shot("handoff-code")
			if len(code) != 9 || code[4] != '-' {
				t.Fatalf("code %q, want two groups of four", code)
			}
			s.handoffApprove(t, tc.trusted, code)
			c := s.handoffFinish(t, tc.newDev, r, cb, f)
			if c.Subject != e.UserID || !slices.Contains(c.AMR, "handoff") || c.ACR != "0" {
				t.Fatalf("handoff sign-in: sub %s amr %v acr %q; want %s, amr with handoff, acr 0", c.Subject, c.AMR, c.ACR, e.UserID)
			}
			if age := time.Since(time.Unix(c.AuthTime, 0)); age < -time.Second || age > time.Minute {
				t.Fatalf("auth_time %s old", age)
			}
			for _, ev := range []struct{ action, detail string }{
				{"handoff.started", ""}, {"handoff.code_verified", ""}, {"handoff.approved", ""}, {"handoff.completed", ""},
				{"passkey.added", `"via":"second_device"`}, {"signin.succeeded", `"method":"handoff"`},
			} {
				if n := s.handoffAudits(t, ev.action, e.UserID, ev.detail); n != 1 {
					t.Errorf("%d %s events (%s), want 1", n, ev.action, ev.detail)
				}
			}

			// The new device's own passkey now signs in by itself, phishing-resistant.
			tc.newDev.deleteCookie(s.URL, sessionCookieName)
			f2 := r.browserFlow()
			tc.newDev.openSignIn(s.URL, f2.URL)
			tc.newDev.typeInto("#username", tc.username)
			tc.newDev.click("#username-form button[type=submit]")
			c2 := r.redeemBrowserCode(t, f2, cb.waitCode(t, tc.newDev, f2))
			if c2.Subject != e.UserID || c2.ACR != "phr" || slices.Contains(c2.AMR, "handoff") {
				t.Fatalf("passkey sign-in on the new device: sub %s amr %v acr %q", c2.Subject, c2.AMR, c2.ACR)
			}

			// The trusted device is still signed in, with the same session, and lists both passkeys.
			tc.trusted.navigate(s.URL + "/account")
			tc.trusted.waitPath(s.URL, "/account")
			if rows := tc.trusted.passkeyRows(); len(rows) != 2 {
				t.Fatalf("the account page lists %d passkeys, want 2", len(rows))
			}
			if !slices.ContainsFunc(liveSessions(t, s, e.UserID), func(x session.Session) bool { return x.ID == trustedSessions[0].ID }) {
				t.Fatal("the trusted device's session ended")
			}
		})
	}
}

func liveSessions(t *testing.T, s *testServer, userID string) []session.Session {
	t.Helper()
	list, err := session.NewStore(s.env.db, s.env.secret.Hasher("session")).ListForUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestBrowserHandoffRefusals: a deny, an expired code, a code typed on a device signed in to
// another account, the code replayed from a third browser context, a used code, and six wrong
// codes (lock-out).
func TestBrowserHandoffRefusals(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	r, cb := browserRP(t, s)
	a := newBrowserDevice(t, "A", deviceBoundKeys)
	b := newBrowserDevice(t, "B", deviceBoundKeys)
	c := newBrowserDevice(t, "C", deviceBoundKeys)
	d := newBrowserDevice(t, "D", deviceBoundKeys)
	ann := s.enrollInBrowser(t, a, "ann")
	s.enrollInBrowser(t, c, "carl")
	const invalid = "This code is not valid."
	refused := func(dev *browserDevice, code string) string {
		t.Helper()
		s.handoffEnter(dev, code)
		msg := dev.text("#handoff-error")
		if dev.text("h1") != "Sign in to another device" || !strings.HasPrefix(msg, invalid) && !strings.HasPrefix(msg, "Too many") {
			t.Fatalf("%s: code %s: page %q, message %q; want it refused", dev.name, code, dev.text("h1"), msg)
		}
		return msg
	}
	restart := func() string {
		t.Helper()
		b.waitVisible("#handoff-ended")
		old := b.text("#handoff-code")
		b.click("#handoff-restart")
		b.click("#handoff-start")
		return b.waitHandoffCode(old)
	}

	f := r.browserFlow()
	code := s.handoffStart(t, b, f, "ann")

	t.Run("deny", func(t *testing.T) {
		s.handoffEnter(a, code)
		a.click("#handoff-deny")
		if at := a.waitPath(s.URL, "/account/handoff"); at.Query().Get("done") != "denied" {
			t.Fatalf("after Deny: %s", at)
		}
		b.waitVisible("#handoff-ended")
		if msg := b.text("#handoff-ended-text"); !strings.Contains(msg, "denied") {
			t.Fatalf("the new device says %q after a deny", msg)
		}
		refused(a, code)
		if s.handoffAudits(t, "handoff.denied", ann.UserID) != 1 {
			t.Fatal("no handoff.denied event")
		}
	})

	t.Run("expired", func(t *testing.T) {
		code = restart()
		if err := s.env.db.Exec(`UPDATE handoffs SET expires_at = ? WHERE state = 'pending'`, time.Now().UTC().Add(-time.Second)).Error; err != nil {
			t.Fatal(err)
		}
		refused(a, code)
		b.waitVisible("#handoff-ended")
		if msg := b.text("#handoff-ended-text"); !strings.Contains(msg, "expired") {
			t.Fatalf("the new device says %q for an expired code", msg)
		}
		if s.handoffAudits(t, "handoff.code_failed", ann.UserID, `"reason":"expired"`) != 1 {
			t.Fatal("no handoff.code_failed event for the expired code")
		}
	})

	t.Run("another account", func(t *testing.T) {
		code = restart()
		refused(c, code)
		b.shot("handoff-wait")
		if !b.visible("#handoff-wait") {
			t.Fatal("the new device stopped waiting after another account's attempt")
		}
	})

	t.Run("third browser context", func(t *testing.T) {
		s.handoffApprove(t, a, code)
		b.waitVisible("#handoff-create")
		// D opens the same sign-in's handoff page: without B's cookie it can neither see the
		// approval nor create a passkey with it.
		d.navigate(s.URL + "/login/handoff?request=" + url.QueryEscape(f.requestOf(t, b)))
		d.waitPath(s.URL, "/login/handoff")
		if d.visible("#handoff-create") {
			t.Fatal("a third browser sees the approval")
		}
		type answer struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		call := func(path string, post bool) answer {
			method := "GET"
			if post {
				method = "POST"
			}
			ctx, cancel := context.WithTimeout(d.ctx, browserStep)
			defer cancel()
			v, err := chromedp.Run(ctx, chromedp.Evaluate[answer](`fetch(`+jsString(path)+`, {method: `+jsString(method)+
				`, credentials: "same-origin", headers: {"Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}`+
				func() string {
					if post {
						return `, body: "{}"`
					}
					return ""
				}()+`}).then(function (r) { return r.text().then(function (t) { return {status: r.status, body: t}; }); })`,
				chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("D: fetch %s: %v", path, err)
			}
			return v
		}
		if st := call("/login/handoff/status", false); st.Status != 200 || !strings.Contains(st.Body, `"none"`) {
			t.Fatalf("D's status: %+v", st)
		}
		req := "?request=" + url.QueryEscape(f.requestOf(t, b))
		if st := call("/login/handoff/passkey/begin"+req, true); st.Status != 400 {
			t.Fatalf("D began a passkey with B's approval: %+v", st)
		}
		// B, which holds the cookie, still completes.
		claims := s.handoffFinish(t, b, r, cb, f)
		if claims.Subject != ann.UserID || !slices.Contains(claims.AMR, "handoff") {
			t.Fatalf("B's claims %+v", claims)
		}
	})

	t.Run("used", func(t *testing.T) {
		before := s.handoffAudits(t, "handoff.code_failed", ann.UserID, `"reason":"used"`)
		refused(a, code)
		if s.handoffAudits(t, "handoff.code_failed", ann.UserID, `"reason":"used"`) != before+1 {
			t.Fatal("no handoff.code_failed event for the used code")
		}
	})

	t.Run("six wrong codes", func(t *testing.T) {
		f2 := r.browserFlow()
		good := s.handoffStart(t, b, f2, "ann")
		// A right code resets the count of wrong ones (the refusals above counted).
		s.handoffEnter(a, good)
		if h := a.text("h1"); h != "Is this you?" {
			t.Fatalf("the right code: %q", h)
		}
		wrong := "ABCD-EFGH"
		if good == wrong {
			wrong = "HGFE-DCBA"
		}
		for i := 1; i <= 6; i++ {
			msg := refused(a, wrong)
			locked := strings.Contains(msg, "locked")
			if locked != (i >= 5) {
				t.Fatalf("wrong code %d: %q", i, msg)
			}
		}
		a.shot("handoff-locked")
		// Locked: even the right code is refused now, and the page says so.
		if msg := refused(a, good); !strings.Contains(msg, "locked") {
			t.Fatalf("the right code while locked: %q", msg)
		}
		a.navigate(s.URL + "/account/handoff")
		if !strings.Contains(a.text("#handoff-error"), "locked") {
			t.Fatal("the code page does not say code entry is locked")
		}
		if n := s.handoffAudits(t, "handoff.locked", ann.UserID); n != 1 {
			t.Fatalf("%d handoff.locked events, want 1", n)
		}
		if !b.visible("#handoff-wait") {
			t.Fatal("the new device stopped waiting")
		}
	})
}

// requestOf returns the pending request id of the handoff page d shows.
func (f rpFlow) requestOf(t *testing.T, d *browserDevice) string {
	t.Helper()
	id := mustEval[string](d, `document.getElementById("handoff").dataset.request`)
	if id == "" {
		t.Fatalf("%s: the handoff page has no request", d.name)
	}
	return id
}
