package recovery

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/brand"
)

// codeRefused is the one answer to a wrong code, a used code, an unknown or disabled username and
// an organisation without recovery codes: which of these it was is not revealed (no account
// enumeration, and no hint of an organisation's policy to a guesser).
const codeRefused = "That username and recovery code do not match. Check both and try again."

type codePage struct {
	ui.Base
	Action   string // where the form posts (keeps /o/{slug} and ?request=)
	LoginURL string
	Username string
	Message  string
}

// codeTarget is the organisation a recovery code is typed for, and the page's own addresses.
type codeTarget struct {
	org           directory.Org
	action, login string
}

// codeTarget resolves the organisation as the sign-in page does (login.Targets): the pending
// authorize request's client decides it; otherwise the URL's /o/{slug}; otherwise the system
// organisation.
func (h *Handler) codeTarget(r *http.Request) (codeTarget, error) {
	pendingID := ""
	if h.Pending != nil && h.Clients != nil {
		pendingID = r.URL.Query().Get("request")
	}
	lt, err := login.Targets{Pending: h.Pending, Clients: h.Clients, Orgs: h.Users}.Resolve(r, pendingID)
	return codeTarget{org: lt.Org, action: lt.Base + "/recover-code" + lt.Query(), login: lt.Base + "/login" + lt.Query()}, err
}

func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	h.UI.Error(w, r, http.StatusBadRequest, "This page has expired",
		"This sign-in request has expired or is not valid. Go back to the app and start again.", "")
}

func (h *Handler) renderCode(w http.ResponseWriter, r *http.Request, status int, t codeTarget, username, msg string) {
	h.UI.Render(w, r, status, "recover_code", codePage{Base: ui.Base{Title: "Use a recovery code", CSRFToken: h.CSRF.Token(w, r),
		Brand: brand.Apply(w, t.org)},
		Action: t.action, LoginURL: t.login, Username: username, Message: msg})
}

func (h *Handler) codePage(w http.ResponseWriter, r *http.Request) {
	t, err := h.codeTarget(r)
	if err != nil {
		h.expired(w, r)
		return
	}
	h.renderCode(w, r, http.StatusOK, t, "", "")
}

// codeAccountKey limits one username in one organisation, whether or not it exists, so that the
// limit behaves alike for unknown usernames.
func codeAccountKey(orgID, username string) string {
	return "recovery-code:user:" + orgID + ":" + strings.ToLower(username)
}

// codeSubmit checks a username and recovery code. A right one is used up and leads, through a
// short-lived single-use recovery link, to creating a passkey on this device.
func (h *Handler) codeSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.codeTarget(r)
	if err != nil {
		h.expired(w, r)
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	if !h.CSRF.Check(r) {
		h.renderCode(w, r, http.StatusForbidden, t, username, "The form expired. Please try again.")
		return
	}
	if directory.ValidateUsername(username) != nil {
		h.renderCode(w, r, http.StatusBadRequest, t, username, "Enter your username and one of your recovery codes.")
		return
	}
	fail := func(userID, reason string, status int, msg string) {
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "recovery_code.failed", Outcome: audit.Failure,
			OrgID: t.org.ID, UserID: userID, Details: map[string]any{"username": username, "reason": reason}}))
		h.renderCode(w, r, status, t, username, msg)
	}
	// Every guess counts against the address (never reset) and the account (reset on success),
	// counted before the guess is checked so that parallel guesses cannot overshoot.
	addr, _ := netip.ParseAddr(httpx.ClientIP(r))
	ok, _, err := h.Limiter.Attempt(ctx, throttle.IPKey("recovery-code", addr), throttle.DefaultCodeIP())
	if err != nil {
		h.serverError(w, r, "recovery code: count attempt", err)
		return
	}
	if !ok {
		fail("", "too many attempts from this address", http.StatusTooManyRequests,
			"Too many attempts from your network. Wait a while and try again.")
		return
	}
	accountKey := codeAccountKey(t.org.ID, username)
	ok, until, err := h.Limiter.Attempt(ctx, accountKey, throttle.DefaultCodeAccount())
	if err != nil {
		h.serverError(w, r, "recovery code: count attempt", err)
		return
	}
	if !ok {
		wait := max(time.Until(until).Round(time.Minute), time.Minute)
		fail("", "too many attempts for this account", http.StatusTooManyRequests,
			"Too many wrong codes for this account. Try again in "+wait.String()+", or ask your administrator to recover your account.")
		return
	}
	u, uerr := h.Users.GetUserByUsername(ctx, t.org.ID, username)
	if uerr != nil && !errors.Is(uerr, database.ErrNotFound) {
		h.serverError(w, r, "recovery code: load user", uerr)
		return
	}
	code := r.PostFormValue("code")
	var token, codeID string
	err = h.DB.InTx(ctx, func(ctx context.Context) error {
		if uerr != nil || !u.Active() || !t.org.Policy.RecoveryCodes {
			// Nothing to check against; the answer is the same as for a wrong code.
			return ErrInvalidCode
		}
		var err error
		if codeID, err = h.Codes.Use(ctx, u.ID, code); err != nil {
			return err
		}
		token, err = h.Links.Create(ctx, PurposeRecovery, u.ID, codeLinkCreator+":"+codeID, CodeLinkValidity)
		return err
	})
	if errors.Is(err, ErrInvalidCode) {
		reason := "wrong or used code"
		switch {
		case uerr != nil:
			reason = "unknown username"
		case !u.Active():
			reason = "user not active"
		case !t.org.Policy.RecoveryCodes:
			reason = "organisation does not allow recovery codes"
		}
		fail(u.ID, reason, http.StatusUnauthorized, codeRefused)
		return
	}
	if err != nil {
		h.serverError(w, r, "recovery code: use", err)
		return
	}
	if err := h.Limiter.Reset(ctx, accountKey); err != nil {
		httpx.Logger(ctx).Error("recovery code: reset attempts", "err", err)
	}
	left, _ := h.Codes.Remaining(ctx, u.ID)
	_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "recovery_code.used", OrgID: u.OrgID,
		Actor: "user:" + u.ID, UserID: u.ID, Details: map[string]any{"code": codeID, "codes_left": left}}))
	// A redirect after a POST (303): the link page is a GET, and the browser's history does not
	// resend the code.
	http.Redirect(w, r, "/recover/"+token, http.StatusSeeOther)
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
}
