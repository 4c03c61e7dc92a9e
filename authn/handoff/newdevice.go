package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/mail"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/brand"
)

// newDeviceView is the new device's page: the username, then the code while it waits, then the
// passkey to create once approved (ui/static/handoff.js moves between them without reloading).
type newDeviceView struct {
	ui.Base
	ClientName, OrgName string
	Username            string
	AutoStart           bool // a username came with the link: show a code straight away
	Approved            bool // this browser's code is approved already (the page was reloaded)
	StartURL, StatusURL string
	BeginURL, FinishURL string
	SignInURL           string
	Request             string
}

const expiredRequest = "This sign-in request has expired. Go back to the app and start again."

func (h *Handler) newDevicePage(w http.ResponseWriter, r *http.Request) {
	t, err := h.target(r, r.URL.Query().Get("request"))
	if err != nil {
		h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
			"Go back to the app you were signing in to and start again.", "")
		return
	}
	p := newDeviceView{Base: ui.Base{Title: "Sign in from another device", CSRFToken: h.CSRF.Token(w, r), Script: true,
		Brand: brand.Apply(w, t.Org)},
		ClientName: t.ClientName, StartURL: t.Base + "/login/handoff/start", StatusURL: t.Base + "/login/handoff/status",
		BeginURL: t.Base + "/login/handoff/passkey/begin" + t.Query(), FinishURL: t.Base + "/login/handoff/passkey/finish" + t.Query(),
		SignInURL: t.Base + "/login" + t.Query(), Request: t.PendingID}
	if t.Org.ID != directory.SystemOrgID {
		p.OrgName = t.Org.Name
	}
	if u := r.URL.Query().Get("username"); directory.ValidateUsername(u) == nil {
		p.Username, p.AutoStart = u, true
	} else if t.PendingID != "" {
		// OIDC Core 3.1.2.1: login_hint pre-fills the username; it is only a hint.
		if pend, err := h.Pending.Get(r.Context(), t.PendingID, h.now()); err == nil &&
			directory.ValidateUsername(pend.Form.Get("login_hint")) == nil {
			p.Username = pend.Form.Get("login_hint")
		}
	}
	if ho, err := h.Store.ByBrowser(r.Context(), h.cookie().get(r)); err == nil && ho.Status(h.now()) == StateApproved &&
		ho.OrgID == t.Org.ID && ho.PendingID == t.PendingID {
		p.Approved, p.Username = true, ho.Username
	}
	h.UI.Render(w, r, http.StatusOK, "handoff", p)
}

// startRule bounds new codes per IP address: 60 in 10 minutes, then a pause growing from 5 minutes.
var startRule = throttle.Rule{Limit: 60, Window: 10 * time.Minute, Block: 5 * time.Minute, MaxBlock: time.Hour}

// start creates a code for the username typed. The answer is the same whether or not the
// account exists (no account enumeration): for an unknown username the code is real but bound to
// no user, so it can never be approved.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req struct {
		Username string `json:"username"`
		Request  string `json:"request"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	req.Username = strings.TrimSpace(req.Username)
	if directory.ValidateUsername(req.Username) != nil {
		httpx.JSONError(w, http.StatusBadRequest, "Enter your username (no spaces).")
		return
	}
	t, err := h.target(r, req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, expiredRequest)
		return
	}
	// New codes per address are bounded too: each one is a row, and a flood of them would only
	// fill the table.
	addr, _ := netip.ParseAddr(httpx.ClientIP(r))
	allowed, _, err := h.Limiter.Attempt(ctx, throttle.IPKey("handoff-start", addr), startRule)
	if err != nil {
		httpx.JSONServerError(w, r, "handoff: start limit", err)
		return
	}
	if !allowed {
		httpx.JSONError(w, http.StatusTooManyRequests, "Too many sign-in codes were asked for from this network. Wait a few minutes and try again.")
		return
	}
	u, err := h.Users.GetUserByUsername(ctx, t.Org.ID, req.Username)
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		httpx.JSONServerError(w, r, "handoff: look up user", err)
		return
	}
	userID := ""
	if err == nil && u.Active() {
		userID = u.ID
	}
	ck := h.cookie()
	// A new code replaces this browser's previous one, which stops working at once.
	if err := h.Store.Cancel(ctx, ck.get(r)); err != nil {
		httpx.JSONServerError(w, r, "handoff: cancel previous code", err)
		return
	}
	ho, code, browser, err := h.Store.Create(ctx, Handoff{OrgID: t.Org.ID, Username: req.Username, UserID: userID,
		PendingID: t.PendingID, ClientID: t.ClientID, UserAgent: r.UserAgent(), IP: httpx.ClientIP(r)})
	if err != nil {
		httpx.JSONServerError(w, r, "handoff: create", err)
		return
	}
	ck.set(w, browser)
	h.record(r, audit.Event{Action: "handoff.started", OrgID: t.Org.ID, UserID: userID, ClientID: t.ClientID,
		Details: map[string]any{"handoff": ho.ID, "username": req.Username, "known_user": userID != ""}})
	httpx.JSON(w, http.StatusOK, map[string]any{"code": code, "expires_in": int(CodeLifetime.Seconds())})
}

// status is what the new device's page polls: the state of this browser's handoff.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	ho, err := h.Store.ByBrowser(r.Context(), h.cookie().get(r))
	if errors.Is(err, ErrNotFound) {
		httpx.JSON(w, http.StatusOK, map[string]any{"state": "none"})
		return
	}
	if err != nil {
		httpx.JSONServerError(w, r, "handoff: status", err)
		return
	}
	now := h.now()
	st := ho.Status(now)
	left := 0
	if st == StatePending || st == StateApproved {
		left = int(math.Ceil(ho.ExpiresAt.Sub(now).Seconds()))
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"state": st, "expires_in": left})
}

var errNotApproved = errors.New("handoff: no approved handoff for this browser and sign-in")

// approved returns this browser's approved handoff, which must be for the sign-in the page is
// part of (organisation and pending request), and its user.
func (h *Handler) approved(r *http.Request) (Handoff, login.Target, directory.User, error) {
	t, err := h.target(r, r.URL.Query().Get("request"))
	if err != nil {
		return Handoff{}, t, directory.User{}, err
	}
	ho, err := h.Store.ByBrowser(r.Context(), h.cookie().get(r))
	if err != nil {
		return Handoff{}, t, directory.User{}, err
	}
	if ho.Status(h.now()) != StateApproved || ho.OrgID != t.Org.ID || ho.PendingID != t.PendingID || ho.UserID == "" {
		return Handoff{}, t, directory.User{}, errNotApproved
	}
	u, err := h.Users.GetUser(r.Context(), ho.UserID)
	if err != nil || !u.Active() || u.OrgID != ho.OrgID {
		return Handoff{}, t, directory.User{}, errNotApproved
	}
	return ho, t, u, nil
}

const notApprovedMessage = "This sign-in code is no longer valid. Start again to get a new one."

func (h *Handler) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	_, _, u, err := h.approved(r)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, notApprovedMessage)
		return
	}
	passkey.WriteRegistrationOptions(w, r, u, h.Passkeys.BeginRegistration, h.Ceremonies.Set)
}

// passkeyFinish stores the new device's passkey, uses up the handoff and starts the session, in
// one transaction: a refused passkey leaves the approval standing (the person may try another
// authenticator), and of two concurrent finishes only one completes.
func (h *Handler) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Credential json.RawMessage `json:"credential"`
		Name       string          `json:"name"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	ceremony := h.Ceremonies.Take(w, r)
	ho, t, u, err := h.approved(r)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, notApprovedMessage)
		return
	}
	ck := h.cookie()
	var cred passkey.Credential
	var sess session.Session
	err = h.Audit.DB.InTx(r.Context(), func(ctx context.Context) error {
		var err error
		cred, err = h.Passkeys.FinishRegistration(ctx, ceremony, u, req.Credential, strings.TrimSpace(req.Name), passkey.AddedViaSecondDevice)
		if err != nil {
			return err
		}
		if ho, err = h.Store.Complete(ctx, ck.get(r), cred.ID); err != nil {
			return err
		}
		sess, err = h.signIn(ctx, w, r, u, cred, ho)
		return err
	})
	switch {
	case errors.Is(err, ErrNotAllowed):
		httpx.JSONError(w, http.StatusBadRequest, notApprovedMessage)
		return
	case refused(err):
		h.record(r, audit.Event{Action: "passkey.registration_failed", Outcome: audit.Failure, OrgID: u.OrgID, UserID: u.ID,
			Details: map[string]any{"via": passkey.AddedViaSecondDevice, "handoff": ho.ID, "reason": passkey.Detail(err)}})
		httpx.JSONError(w, http.StatusBadRequest, passkey.RegistrationMessage(err))
		return
	case err != nil:
		httpx.JSONServerError(w, r, "handoff: complete", err)
		return
	}
	ck.clear(w)
	h.notify(r, u, t, cred, sess)
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": t.Next()})
}

// signIn ends any session this browser had and starts the handoff's session, with the audit
// records of the new passkey, the completed handoff and the sign-in (all in the caller's
// transaction).
func (h *Handler) signIn(ctx context.Context, w http.ResponseWriter, r *http.Request, u directory.User, cred passkey.Credential, ho Handoff) (session.Session, error) {
	sess := NewDeviceSession(h.now())
	sess.UserID, sess.OrgID = u.ID, u.OrgID
	sess, err := h.Sessions.Replace(ctx, w, r, sess)
	if err != nil {
		return session.Session{}, err
	}
	actor := "user:" + u.ID
	events := []audit.Event{
		{Action: "passkey.added", Details: map[string]any{"via": passkey.AddedViaSecondDevice, "handoff": ho.ID, "passkey": cred.ID,
			"provider": cred.Provider, "synced": cred.Synced()}},
		{Action: "handoff.completed", Details: map[string]any{"handoff": ho.ID, "passkey": cred.ID, "sid": sess.ID}},
		{Action: "signin.succeeded", Details: map[string]any{"method": Method, "sid": sess.ID, "handoff": ho.ID}},
	}
	if cred.PasswordRetired {
		events = append(events, audit.Event{Action: "password.removed", Details: map[string]any{"reason": "first passkey under a mandatory policy"}})
	}
	for _, e := range events {
		e.OrgID, e.Actor, e.UserID, e.ClientID = u.OrgID, actor, u.ID, ho.ClientID
		if err := h.Audit.Record(ctx, audit.FromRequest(r, e)); err != nil {
			return session.Session{}, err
		}
	}
	return sess, nil
}

// notify emails the user that a passkey was added from a new device, when they have a verified
// address. A failure is logged: the sign-in has happened, and the account page lists it too.
func (h *Handler) notify(r *http.Request, u directory.User, t login.Target, cred passkey.Credential, sess session.Session) {
	if h.Mail == nil || u.Email == "" || !u.EmailVerified || h.AccountURL == "" {
		return
	}
	device := h.device(sess.UserAgent)
	if cred.Provider != "" {
		device += " (" + cred.Provider + ")"
	}
	msg, err := mail.Compose(mail.KindPasskeyAdded, u.Email, mail.Data{OrgName: t.Org.Name, DisplayName: u.DisplayName,
		Username: u.Username, URL: h.AccountURL, Device: device, When: sess.AuthTime})
	if err == nil {
		err = h.Mail.Send(r.Context(), msg)
	}
	if err != nil {
		httpx.Logger(r.Context()).Error("handoff: email the passkey-added notice", "user_id", u.ID, "err", err)
	}
}

// refused reports a passkey the service refused (as opposed to a failure on our side).
func refused(err error) bool {
	var pe *passkey.Error
	return errors.As(err, &pe) || errors.Is(err, passkey.ErrPolicy) || errors.Is(err, passkey.ErrInvalidName)
}
