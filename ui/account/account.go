// Package account serves the signed-in user's account page: their passkeys (rename, add on this
// device after a fresh passkey check, remove), their sessions (end one, end all others), the
// apps they allowed (connected apps: revoke one), and sign-out. Every change is audited.
package account

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// FreshCheck is how recent a passkey check must be before adding a passkey.
const FreshCheck = 5 * time.Minute

// Passkeys is what the account page needs of the passkey service.
type Passkeys interface {
	List(ctx context.Context, userID string) ([]passkey.Credential, error)
	Rename(ctx context.Context, userID, id, name string) error
	Remove(ctx context.Context, userID, id string) error
	Count(ctx context.Context, userID string) (int, error)
	BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error)
	FinishRegistration(ctx context.Context, ceremony string, user directory.User, credentialJSON []byte, name, addedVia string) (passkey.Credential, error)
	BeginLogin(ctx context.Context, orgID, username string) ([]byte, string, error)
	FinishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (directory.User, passkey.Credential, error)
}

// Ceremonies binds a ceremony to the browser.
type Ceremonies interface {
	Set(w http.ResponseWriter, token string)
	Take(w http.ResponseWriter, r *http.Request) string
}

// Tokens revokes what a sign-in session granted when the session ends.
type Tokens interface {
	RevokeBySession(ctx context.Context, sid string) error
}

// Handler serves /account and /logout.
type Handler struct {
	Tokens     Tokens
	Users      *directory.Store
	Passkeys   Passkeys
	Sessions   *session.Manager
	Ceremonies Ceremonies
	Audit      *audit.Log
	UI         *ui.Renderer
	CSRF       *httpx.CSRF
	Now        func() time.Time
	// Codes and Lost are optional: without them the page offers no recovery codes and no "I lost
	// this device" (recovery.go).
	Codes RecoveryCodes
	Lost  LostDevices
	// Handoffs, optional, lists passkeys added from a new device (handoffs.go).
	Handoffs RecentHandoffs
	// Apps, optional, lists the third-party apps the user allowed and takes them back (apps.go).
	Apps ConnectedApps
	// FrontChannel, optional, lists the front-channel logout URIs of a session's apps, which the
	// signed-out page frames (OpenID Connect Front-Channel Logout 1.0; rplogout.Notifier).
	FrontChannel func(ctx context.Context, sid string) ([]string, error)
}

// Mount registers the account routes.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/account", h.page).Methods(http.MethodGet)
	r.HandleFunc("/account/passkeys/{id}/rename", h.rename).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/{id}/remove", h.remove).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/begin", h.addBegin).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/finish", h.addFinish).Methods(http.MethodPost)
	r.HandleFunc("/account/verify/begin", h.verifyBegin).Methods(http.MethodPost)
	r.HandleFunc("/account/verify/finish", h.verifyFinish).Methods(http.MethodPost)
	r.HandleFunc("/account/sessions/{id}/end", h.endSession).Methods(http.MethodPost)
	r.HandleFunc("/account/sessions/end-others", h.endOthers).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/{id}/lost", h.lost).Methods(http.MethodPost)
	r.HandleFunc("/account/recovery-codes", h.createCodes).Methods(http.MethodPost)
	r.HandleFunc("/account/apps/{client}/revoke", h.revokeApp).Methods(http.MethodPost)
	r.HandleFunc("/logout", h.logout).Methods(http.MethodPost)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
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
		httpx.JSON(w, http.StatusUnauthorized, map[string]string{"error": "You are signed out. Sign in again."})
	}
	return session.Session{}, directory.User{}, false
}

type passkeyView struct {
	passkey.Credential
	Kind string
}

type sessionView struct {
	session.Session
	Current bool
	Device  string
}

type accountPage struct {
	ui.Base
	User     directory.User
	Passkeys []passkeyView
	Sessions []sessionView
	Fresh    bool
	Notice   string
	Error    string
	Recovery recoveryView
	Added    []addedView
	Apps     []appView
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	creds, err := h.Passkeys.List(ctx, u.ID)
	if err != nil {
		h.serverError(w, r, "list passkeys", err)
		return
	}
	sessions, err := h.Sessions.Store.ListForUser(ctx, u.ID)
	if err != nil {
		h.serverError(w, r, "list sessions", err)
		return
	}
	p := accountPage{Base: ui.Base{Title: "Your account", CSRFToken: h.CSRF.Token(w, r), Script: true, SignedIn: true, Wide: true,
		Data: ui.ScriptData{Finish: "/account/verify/finish"}},
		User: u, Fresh: h.fresh(sess, len(creds)),
		Notice: noticeText(r.URL.Query().Get("done")), Error: errorText(r.URL.Query().Get("error"))}
	for _, c := range creds {
		kind := "Device-bound"
		if c.Synced() {
			kind = "Synced"
		}
		p.Passkeys = append(p.Passkeys, passkeyView{Credential: c, Kind: kind})
	}
	for _, s := range sessions {
		p.Sessions = append(p.Sessions, sessionView{Session: s, Current: s.ID == sess.ID, Device: Device(s.UserAgent)})
	}
	if p.Recovery, err = h.recoveryView(r, u); err != nil {
		h.serverError(w, r, "recovery codes", err)
		return
	}
	if p.Added, err = h.recentHandoffs(r, u.ID); err != nil {
		h.serverError(w, r, "recent handoffs", err)
		return
	}
	if p.Apps, err = h.connectedApps(ctx, u.ID); err != nil {
		h.serverError(w, r, "connected apps", err)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "account", p)
}

func noticeText(code string) string {
	return map[string]string{
		"renamed": "Passkey renamed.", "removed": "Passkey removed.", "added": "Passkey added.",
		"ended": "Session ended.", "ended-others": "All your other sessions have been ended.",
		"lost":      "The passkey was removed and the sessions it signed in have been ended.",
		"recovered": "Your account is recovered: your new passkey on this device is ready to use.",
		"codes":     "Keep your recovery codes somewhere safe. Each one works once.",
		"app-revoked": "The app's access was taken back: it is signed out of your account and will ask again " +
			"if you use it.",
	}[code]
}

func errorText(code string) string {
	return map[string]string{
		"last":        "You cannot remove your only passkey: you would not be able to sign in. Add another passkey first.",
		"name":        "A passkey name must be 1 to 64 characters.",
		"missing":     "That passkey or session no longer exists.",
		"missing-app": "That app no longer has access to your account.",
		"expired":     "The form expired. Please try again.",
		"verify":      "To remove a passkey, first confirm it's you with a passkey (below).",
		"lost-last": "That is your only passkey, so removing it would leave you no way to sign in. " +
			"If you lost the device it is on, ask your administrator to recover your account instead.",
		"verify-lost":  "To remove a lost device's passkey, first confirm it's you with another passkey (below).",
		"verify-codes": "To create recovery codes, first confirm it's you with a passkey.",
	}[code]
}

// form checks the session and CSRF token of a form post.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) (session.Session, directory.User, bool) {
	sess, u, ok := h.current(w, r, true)
	if !ok {
		return sess, u, false
	}
	if !h.CSRF.Check(r) {
		http.Redirect(w, r, "/account?error=expired", http.StatusSeeOther)
		return sess, u, false
	}
	return sess, u, true
}

func (h *Handler) record(r *http.Request, u directory.User, action string, details map[string]any) {
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: action, OrgID: u.OrgID,
		Actor: "user:" + u.ID, UserID: u.ID, Details: details}))
}

func (h *Handler) rename(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.form(w, r)
	if !ok {
		return
	}
	id, name := mux.Vars(r)["id"], strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len([]rune(name)) > 64 {
		http.Redirect(w, r, "/account?error=name", http.StatusSeeOther)
		return
	}
	if err := h.Passkeys.Rename(r.Context(), u.ID, id, name); err != nil {
		h.afterError(w, r, "rename passkey", err)
		return
	}
	h.record(r, u, "passkey.renamed", map[string]any{"passkey": id, "name": name})
	http.Redirect(w, r, "/account?done=renamed", http.StatusSeeOther)
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.form(w, r)
	if !ok {
		return
	}
	// Like adding one, removing a passkey needs a recent passkey check: a stolen session cookie
	// alone must not be enough to strip an account of its passkeys.
	if h.now().Sub(sess.VerifiedAt) >= FreshCheck {
		http.Redirect(w, r, "/account?error=verify", http.StatusSeeOther)
		return
	}
	id := mux.Vars(r)["id"]
	if err := h.Passkeys.Remove(r.Context(), u.ID, id); err != nil {
		if errors.Is(err, passkey.ErrLastPasskey) {
			http.Redirect(w, r, "/account?error=last", http.StatusSeeOther)
			return
		}
		h.afterError(w, r, "remove passkey", err)
		return
	}
	h.record(r, u, "passkey.removed", map[string]any{"passkey": id})
	http.Redirect(w, r, "/account?done=removed", http.StatusSeeOther)
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.form(w, r)
	if !ok {
		return
	}
	id := mux.Vars(r)["id"]
	target, err := h.Sessions.Store.Get(r.Context(), id)
	if err != nil || target.UserID != u.ID {
		http.Redirect(w, r, "/account?error=missing", http.StatusSeeOther)
		return
	}
	if err := h.Sessions.Store.End(r.Context(), id); err != nil {
		h.afterError(w, r, "end session", err)
		return
	}
	if err := h.Tokens.RevokeBySession(r.Context(), id); err != nil {
		h.serverError(w, r, "revoke the ended session's tokens", err)
		return
	}
	h.record(r, u, "session.ended", map[string]any{"sid": id, "reason": "account"})
	http.Redirect(w, r, "/account?done=ended", http.StatusSeeOther)
}

func (h *Handler) endOthers(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.form(w, r)
	if !ok {
		return
	}
	ids, err := h.Sessions.Store.EndAllForUser(r.Context(), u.ID, sess.ID)
	if err != nil {
		h.serverError(w, r, "end other sessions", err)
		return
	}
	for _, id := range ids {
		if err := h.Tokens.RevokeBySession(r.Context(), id); err != nil {
			h.serverError(w, r, "revoke the ended sessions' tokens", err)
			return
		}
	}
	h.record(r, u, "session.ended", map[string]any{"sids": ids, "reason": "account: all others"})
	http.Redirect(w, r, "/account?done=ended-others", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.CSRF.Check(r) {
		h.UI.Error(w, r, http.StatusForbidden, "Not signed out", "The form expired. Please go back and try again.", "")
		return
	}
	sess, err := h.Sessions.End(w, r)
	var frames []string
	if err == nil {
		if h.FrontChannel != nil {
			if frames, err = h.FrontChannel(r.Context(), sess.ID); err != nil {
				httpx.Logger(r.Context()).Warn("front-channel logout URIs", "err", err)
			}
		}
		if err := h.Tokens.RevokeBySession(r.Context(), sess.ID); err != nil {
			httpx.Logger(r.Context()).Error("revoke the signed-out session's tokens", "err", err)
		}
		_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "session.ended", OrgID: sess.OrgID,
			Actor: "user:" + sess.UserID, UserID: sess.UserID, Details: map[string]any{"sid": sess.ID, "reason": "sign-out"}}))
	}
	if len(frames) > 0 {
		w.Header().Set("Content-Security-Policy", httpx.FrameCSP(frames))
	}
	h.UI.Render(w, r, http.StatusOK, "signed_out", ui.SignedOutPage{Base: ui.Base{Title: "Signed out"},
		Heading: "You are signed out", Message: "You have signed out of Portcullis on this device.", Frames: frames})
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
}

// Device names a browser and operating system from a user agent, for people to recognise their
// sessions ("Chrome on Windows").
func Device(ua string) string {
	browser := "Browser"
	for _, b := range []struct{ token, name string }{{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	os := "unknown system"
	for _, o := range []struct{ token, name string }{{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, o.token) {
			os = o.name
			break
		}
	}
	if ua == "" {
		return "Unknown device"
	}
	return browser + " on " + os
}
