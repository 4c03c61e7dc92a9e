package login

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/ui"
)

// Password sign-in's authentication method and context (RFC 8176 "pwd"; acr "0": no
// assurance that the person is phishing-resistant, so acr_values=phr asks for a passkey).
const (
	AMRPassword = "pwd"
	ACRPassword = provider.ACRPassword
)

// Passwords is what password sign-in needs: the hasher and the attempt limits.
type Passwords struct {
	Hasher  *password.Hasher
	Limiter *throttle.Limiter
	// Account limits wrong passwords per account (counted before each attempt, so parallel
	// guesses cannot overshoot), IP per client address (failures only).
	Account, IP throttle.Rule
}

// accountKey limits one username in one organisation, whether or not it exists, so the limit
// behaves the same for unknown usernames (no account enumeration). Only password sign-in
// consults it: a locked password never locks anyone out of their passkey.
func accountKey(orgID, username string) string {
	return "password:user:" + orgID + ":" + strings.ToLower(username)
}

func ipKey(r *http.Request) string {
	addr, _ := netip.ParseAddr(httpx.ClientIP(r))
	return throttle.IPKey("password", addr)
}

// password signs a person in with a legacy password, where the organisation's policy allows it,
// then applies the policy: continue to the app, or ask for (or require) a passkey first.
func (h *Handler) password(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.target(r, r.URL.Query().Get("request"))
	if err != nil {
		h.expired(w, r)
		return
	}
	if !h.CSRF.Check(r) {
		h.UI.Error(w, r, http.StatusForbidden, "This form has expired", "Reload the sign-in page and try again.", "")
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	pw := r.PostFormValue("password")
	p := h.loginPage(w, r, t)
	p.Username = username
	show := func(status int, msg string) {
		p.Message, p.Error = msg, true
		h.UI.Render(w, r, status, "login", p)
	}
	now := time.Now().UTC()
	if policy.PasswordsRetired(t.Org.Policy, now) {
		h.failed(r, t, directory.User{}, "password", "passwords retired")
		show(http.StatusForbidden, retiredMessage(t.Org))
		return
	}
	if t.NeedsPasskey {
		show(http.StatusForbidden, "This app asks you to sign in with a passkey.")
		return
	}
	if directory.ValidateUsername(username) != nil || pw == "" {
		show(http.StatusBadRequest, "Enter your username and password.")
		return
	}
	// Per-IP first: a blocked address is refused without touching any account's count.
	ip := ipKey(r)
	if blocked, until, err := h.Passwords.Limiter.Blocked(ctx, ip); err != nil {
		h.serverError(w, r, "password throttle", err)
		return
	} else if blocked {
		h.failed(r, t, directory.User{}, "password", "ip throttled")
		show(http.StatusTooManyRequests, waitMessage(until, now))
		return
	}
	acct := accountKey(t.Org.ID, username)
	allowed, until, err := h.Passwords.Limiter.Attempt(ctx, acct, h.Passwords.Account)
	if err != nil {
		h.serverError(w, r, "password throttle", err)
		return
	}
	if !allowed {
		h.failed(r, t, directory.User{}, "password", "account throttled")
		show(http.StatusTooManyRequests, waitMessage(until, now))
		return
	}
	user, ok, err := h.checkPassword(ctx, t.Org.ID, username, pw)
	if err != nil {
		h.serverError(w, r, "check password", err)
		return
	}
	if !ok {
		if _, _, err := h.Passwords.Limiter.Fail(ctx, ip, h.Passwords.IP); err != nil {
			h.serverError(w, r, "password throttle", err)
			return
		}
		h.failed(r, t, user, "password", "wrong username or password")
		show(http.StatusUnauthorized, "That username and password do not match. Try again, or sign in with a passkey.")
		return
	}
	if err := h.Passwords.Limiter.Reset(ctx, acct); err != nil {
		h.serverError(w, r, "password throttle", err)
		return
	}
	hasPasskey, err := h.hasPasskey(ctx, user.ID)
	if err != nil {
		h.serverError(w, r, "count passkeys", err)
		return
	}
	state := policy.UserState{HasPasskey: hasPasskey, HasPassword: true, SkippedAt: user.PasskeySkippedAt}
	switch next := policy.AfterSignIn(t.Org.Policy, state, policy.MethodPassword, now); next {
	case policy.Continue:
		if _, err := h.signIn(w, r, user, passwordSession(now), nil); err != nil {
			h.serverError(w, r, "start session", err)
			return
		}
		h.continueTo(w, r, t)
	case policy.OfferPasskey, policy.RequirePasskey:
		// The password was right, but the policy wants a passkey before the app: no session yet.
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "signin.passkey_prompted", OrgID: user.OrgID,
			Actor: "user:" + user.ID, UserID: user.ID, Details: map[string]any{"required": next == policy.RequirePasskey}}))
		h.Steps.Set(w, step{UserID: user.ID, OrgID: user.OrgID, Pending: t.PendingID, Required: next == policy.RequirePasskey,
			AuthTime: now, Expires: now.Add(stepLifetime)})
		http.Redirect(w, r, t.Base+"/login/passkey"+t.Query(), http.StatusSeeOther)
	default: // policy.RefusePassword
		h.failed(r, t, user, "password", "refused by policy")
		msg := "Your account is protected by a passkey. Sign in with your passkey."
		if policy.PasswordsRetired(t.Org.Policy, now) {
			msg = retiredMessage(t.Org)
		}
		show(http.StatusForbidden, msg)
	}
}

func passwordSession(now time.Time) session.Session {
	return session.Session{Method: "password", AMR: []string{AMRPassword}, ACR: ACRPassword, AuthTime: now}
}

// checkPassword verifies username's password in one organisation. Unknown, disabled and
// password-less users cost the same argon2id work as a real check (no timing difference), and
// an imported or outdated hash is upgraded to our argon2id after a successful check.
func (h *Handler) checkPassword(ctx context.Context, orgID, username, pw string) (directory.User, bool, error) {
	user, err := h.Users.GetUserByUsername(ctx, orgID, username)
	if err != nil && !directory.IsNotFound(err) {
		return directory.User{}, false, err
	}
	hash := ""
	if err == nil && user.Active() && user.HasPassword {
		if hash, err = h.Users.PasswordHash(ctx, user.ID); err != nil {
			return user, false, err
		}
	}
	if hash == "" {
		h.Passwords.Hasher.Dummy(pw)
		return user, false, nil
	}
	ok, upgrade, err := h.Passwords.Hasher.Verify(hash, pw)
	if err != nil {
		// A stored hash we cannot read is an operator problem, not the user's: log it, refuse.
		httpx.Logger(ctx).Error("stored password hash cannot be read", "user_id", user.ID, "err", err)
		return user, false, nil
	}
	if ok && upgrade {
		if fresh, err := h.Passwords.Hasher.Hash(pw); err == nil {
			if err := h.Users.ReplacePasswordHash(ctx, user.ID, hash, fresh); err != nil {
				httpx.Logger(ctx).Error("upgrade password hash", "user_id", user.ID, "err", err)
			}
		}
	}
	return user, ok, nil
}

func (h *Handler) hasPasskey(ctx context.Context, userID string) (bool, error) {
	var n int64
	err := h.Audit.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n).Error
	return n > 0, err
}

func retiredMessage(org directoryOrg) string {
	return fmt.Sprintf("Passwords no longer work for %s. Ask your administrator for an enrollment link to create a passkey.", org.Name)
}

// waitMessage says how long to wait, in whole minutes.
func waitMessage(until, now time.Time) string {
	mins := int(math.Ceil(until.Sub(now).Minutes()))
	if mins <= 1 {
		return "Too many attempts. Wait a minute, then try again, or sign in with a passkey."
	}
	return fmt.Sprintf("Too many attempts. Wait %d minutes, then try again, or sign in with a passkey.", mins)
}

type directoryOrg = directory.Org

type continuePage struct {
	ui.Base
	Heading, Message string
}

// continueTo sends a browser that just signed in by submitting a form on to where the sign-in
// leads. Not by redirect: the form's navigation would then end at the relying party's redirect
// URI, and browsers hold every redirect of a form submission to the page's CSP form-action
// ('self'). A page that moves on by itself starts a new navigation, which form-action does not
// govern; its link is the way on where meta refresh is turned off.
func (h *Handler) continueTo(w http.ResponseWriter, r *http.Request, t Target) {
	if t.PendingID == "" {
		http.Redirect(w, r, t.Next(), http.StatusSeeOther)
		return
	}
	to := "the app"
	if t.ClientName != "" {
		to = t.ClientName
	}
	h.UI.Render(w, r, http.StatusOK, "continue", continuePage{Base: ui.Base{Title: "Signed in", Refresh: t.Next()},
		Heading: "Signed in", Message: "Continuing to " + to + "…"})
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := httpx.RequestID(r.Context())
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", id)
}
