package handoff

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// The trusted device's messages. One sentence for every refused code: whether it was wrong,
// expired, used or another account's is nobody's business but the audit log's.
const (
	invalidCode  = "This code is not valid. Check the code shown on your other device and try again."
	verifyFirst  = "Confirm it's you with your passkey, then approve."
	approvedText = "Approved. Continue on your other device: it will ask to create its own passkey."
	deniedText   = "Denied. The other device has not been signed in."
)

type enterView struct {
	ui.Base
	Notice, Error string
}

type confirmView struct {
	ui.Base
	ID, ClientName, Device, IP, Time, Username string
	ApproveURL, DenyURL                        string
}

// current returns the signed-in session and user, or sends the browser to sign in.
func (h *Handler) current(w http.ResponseWriter, r *http.Request, page bool) (session.Session, directory.User, bool) {
	sess, err := h.Sessions.Current(r)
	if err == nil {
		u, err := h.Users.GetUser(r.Context(), sess.UserID)
		if err == nil && u.Active() {
			return sess, u, true
		}
	}
	if page {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	} else {
		httpx.JSONError(w, http.StatusUnauthorized, "You are signed out. Sign in again.")
	}
	return session.Session{}, directory.User{}, false
}

func (h *Handler) renderEnter(w http.ResponseWriter, r *http.Request, status int, notice, errText string) {
	h.UI.Render(w, r, status, "handoff_enter", enterView{Base: ui.Base{Title: "Sign in to another device",
		CSRFToken: h.CSRF.Token(w, r), SignedIn: true}, Notice: notice, Error: errText})
}

func (h *Handler) enterPage(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.current(w, r, true)
	if !ok {
		return
	}
	notice := map[string]string{"approved": approvedText, "denied": deniedText}[r.URL.Query().Get("done")]
	errText := ""
	if blocked, until, err := h.Limiter.Blocked(r.Context(), accountKey(u.ID)); err != nil {
		h.serverError(w, r, "handoff: throttle", err)
		return
	} else if blocked {
		errText = lockedMessage(until, h.now())
	}
	h.renderEnter(w, r, http.StatusOK, notice, errText)
}

// verify checks a typed code: per IP first (every guess counts), then per account (wrong codes
// count; a correct one resets), then the code itself, which must be pending, unexpired and
// started for this account. A correct code shows what is asking and asks "Is this you?".
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u, ok := h.current(w, r, true)
	if !ok {
		return
	}
	if !h.CSRF.Check(r) {
		h.renderEnter(w, r, http.StatusForbidden, "", "The form expired. Please try again.")
		return
	}
	fail := func(reason string) {
		h.record(r, audit.Event{Action: "handoff.code_failed", Outcome: audit.Failure, OrgID: u.OrgID, Actor: "user:" + u.ID,
			UserID: u.ID, Details: map[string]any{"reason": reason, "sid": sess.ID}})
	}
	now := h.now()
	if allowed, until, err := h.Limiter.Attempt(ctx, ipKey(r), h.IP); err != nil {
		h.serverError(w, r, "handoff: throttle", err)
		return
	} else if !allowed {
		fail("ip throttled")
		h.renderEnter(w, r, http.StatusTooManyRequests, "", fmt.Sprintf("Too many codes were tried from your network. %s", waitText(until, now)))
		return
	}
	acct := accountKey(u.ID)
	allowed, lockUntil, err := h.Limiter.Attempt(ctx, acct, h.Account)
	if err != nil {
		h.serverError(w, r, "handoff: throttle", err)
		return
	}
	if !allowed {
		fail("locked")
		h.renderEnter(w, r, http.StatusTooManyRequests, "", lockedMessage(lockUntil, now))
		return
	}
	ho, err := h.Store.Verify(ctx, r.PostFormValue("code"), u.OrgID, u.ID, sess.ID)
	var ce *CodeError
	if errors.As(err, &ce) {
		fail(ce.Reason)
		if !lockUntil.IsZero() {
			// This was the last wrong code let through: code entry is now locked.
			h.record(r, audit.Event{Action: "handoff.locked", Outcome: audit.Failure, OrgID: u.OrgID, Actor: "user:" + u.ID,
				UserID: u.ID, Details: map[string]any{"until": lockUntil.UTC().Format(time.RFC3339)}})
			h.renderEnter(w, r, http.StatusTooManyRequests, "", invalidCode+" "+lockedMessage(lockUntil, now))
			return
		}
		h.renderEnter(w, r, http.StatusBadRequest, "", invalidCode)
		return
	}
	if err != nil {
		h.serverError(w, r, "handoff: verify code", err)
		return
	}
	if err := h.Limiter.Reset(ctx, acct); err != nil {
		h.serverError(w, r, "handoff: throttle", err)
		return
	}
	h.record(r, audit.Event{Action: "handoff.code_verified", OrgID: u.OrgID, Actor: "user:" + u.ID, UserID: u.ID,
		ClientID: ho.ClientID, Details: map[string]any{"handoff": ho.ID, "sid": sess.ID}})
	v := confirmView{Base: ui.Base{Title: "Is this you?", CSRFToken: h.CSRF.Token(w, r), SignedIn: true, Script: true},
		ID: ho.ID, Device: h.device(ho.UserAgent), IP: ho.IP, Username: u.Username,
		Time:       ho.CreatedAt.UTC().Format("15:04 MST, 2 January 2006"),
		ApproveURL: "/account/handoff/" + ho.ID + "/approve", DenyURL: "/account/handoff/" + ho.ID + "/deny"}
	if ho.ClientID != "" {
		if c, err := h.Clients.Get(ctx, ho.ClientID); err == nil {
			v.ClientName = c.Name
		}
	}
	h.UI.Render(w, r, http.StatusOK, "handoff_confirm", v)
}

// approve is called by the confirmation page's script after a fresh passkey check on this device
// (/account/verify/begin and /account/verify/finish).
func (h *Handler) approve(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, false)
	if !ok {
		return
	}
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	// The code alone, or a stolen session cookie alone, must not add a passkey to the account.
	if h.now().Sub(sess.VerifiedAt) >= ApproveWithin {
		httpx.JSONError(w, http.StatusForbidden, verifyFirst)
		return
	}
	ho, err := h.Store.Approve(r.Context(), mux.Vars(r)["id"], u.ID, sess.ID)
	if errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrNotFound) {
		httpx.JSONError(w, http.StatusBadRequest, invalidCode)
		return
	}
	if err != nil {
		httpx.JSONServerError(w, r, "handoff: approve", err)
		return
	}
	h.record(r, audit.Event{Action: "handoff.approved", OrgID: u.OrgID, Actor: "user:" + u.ID, UserID: u.ID, ClientID: ho.ClientID,
		Details: map[string]any{"handoff": ho.ID, "sid": sess.ID, "device": h.device(ho.UserAgent), "device_ip": ho.IP}})
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": "/account/handoff?done=approved"})
}

func (h *Handler) deny(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, true)
	if !ok {
		return
	}
	if !h.CSRF.Check(r) {
		h.renderEnter(w, r, http.StatusForbidden, "", "The form expired. Please try again.")
		return
	}
	ho, err := h.Store.Deny(r.Context(), mux.Vars(r)["id"], u.ID, sess.ID)
	if errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrNotFound) {
		h.renderEnter(w, r, http.StatusBadRequest, "", invalidCode)
		return
	}
	if err != nil {
		h.serverError(w, r, "handoff: deny", err)
		return
	}
	h.record(r, audit.Event{Action: "handoff.denied", OrgID: u.OrgID, Actor: "user:" + u.ID, UserID: u.ID, ClientID: ho.ClientID,
		Details: map[string]any{"handoff": ho.ID, "sid": sess.ID, "device": h.device(ho.UserAgent), "device_ip": ho.IP}})
	http.Redirect(w, r, "/account/handoff?done=denied", http.StatusSeeOther)
}

func lockedMessage(until, now time.Time) string {
	return "Too many wrong codes: code entry is locked for your account. " + waitText(until, now)
}

// waitText says how long to wait, in whole minutes.
func waitText(until, now time.Time) string {
	mins := int(math.Ceil(until.Sub(now).Minutes()))
	if mins <= 1 {
		return "Wait a minute, then try again."
	}
	return fmt.Sprintf("Wait %d minutes, then try again.", mins)
}
