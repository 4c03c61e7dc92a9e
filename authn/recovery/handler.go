package recovery

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/mail"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// Clients resolves the client of a pending authorize request, for its organisation.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Handler serves the recovery link page (/recover/{token}) and the recovery-code page
// (/recover-code and /o/{slug}/recover-code).
type Handler struct {
	DB         *database.DB
	Links      *enroll.Links
	Users      *directory.Store
	Passkeys   enroll.Registrar
	Sessions   *session.Manager
	Ceremonies enroll.Ceremonies
	Codes      *Codes
	Limiter    *throttle.Limiter
	Audit      *audit.Log
	UI         *ui.Renderer
	CSRF       *httpx.CSRF
	// Mail tells users that recovery completed; Issuer makes the links in those messages.
	Mail   mail.Sender
	Issuer string
	// Pending and Clients resolve the organisation of a pending authorize request (?request=) on
	// the recovery-code page; with neither, the URL's organisation (or the system one) is used.
	Pending *provider.PendingStore
	Clients Clients
}

// Mount registers the recovery routes.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/recover/{token}", h.linkPage).Methods(http.MethodGet)
	r.HandleFunc("/recover/{token}/begin", h.begin).Methods(http.MethodPost)
	r.HandleFunc("/recover/{token}/finish", h.finish).Methods(http.MethodPost)
	for _, prefix := range []string{"", "/o/{slug:[a-z0-9-]+}"} {
		r.HandleFunc(prefix+"/recover-code", h.codePage).Methods(http.MethodGet)
		r.HandleFunc(prefix+"/recover-code", h.codeSubmit).Methods(http.MethodPost)
	}
}

type linkPage struct {
	ui.Base
	DisplayName, Username string
	BeginURL, FinishURL   string
}

const linkGone = "This recovery link has expired or has been used already. Contact your administrator for a new one."

func (h *Handler) invalid(w http.ResponseWriter, r *http.Request, reason string) {
	// The token is not logged: whoever reads the audit log must not be able to use it.
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "recovery.link_invalid", Outcome: audit.Failure,
		Details: map[string]any{"reason": reason}}))
	h.UI.Error(w, r, http.StatusGone, "This link no longer works", linkGone, "")
}

// linkUser returns the link and the active user it recovers.
func (h *Handler) linkUser(ctx context.Context, token string) (enroll.Link, directory.User, error) {
	link, err := h.Links.Peek(ctx, PurposeRecovery, token)
	if err != nil {
		return enroll.Link{}, directory.User{}, err
	}
	u, err := h.Users.GetUser(ctx, link.UserID)
	if err == nil && !u.Active() {
		err = enroll.ErrInvalidLink
	}
	return link, u, err
}

func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	token := mux.Vars(r)["token"]
	_, u, err := h.linkUser(r.Context(), token)
	if enroll.IsInvalid(err) {
		h.invalid(w, r, "expired, used or unknown")
		return
	}
	if err != nil {
		httpx.Logger(r.Context()).Error("recovery page", "err", err)
		h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
		return
	}
	h.UI.Render(w, r, http.StatusOK, "recover", linkPage{Base: ui.Base{Title: "Recover your account", CSRFToken: h.CSRF.Token(w, r),
		Script: true}, DisplayName: u.DisplayName, Username: u.Username,
		BeginURL: "/recover/" + token + "/begin", FinishURL: "/recover/" + token + "/finish"})
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	_, u, err := h.linkUser(r.Context(), mux.Vars(r)["token"])
	if enroll.IsInvalid(err) {
		httpx.JSONError(w, http.StatusGone, linkGone)
		return
	}
	if err != nil {
		httpx.JSONServerError(w, r, "recovery: load user", err)
		return
	}
	passkey.WriteRegistrationOptions(w, r, u, h.Passkeys.BeginRegistration, h.Ceremonies.Set)
}

// finish stores the new passkey and uses up the link, then signs the person in with that passkey.
// As in enrollment, the link is used up first (of two finishes only one gets it) and the ceremony
// is finished outside any transaction; a refused passkey releases the link for another try.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req struct {
		Credential json.RawMessage `json:"credential"`
		Name       string          `json:"name"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	ceremony := h.Ceremonies.Take(w, r)
	var user directory.User
	var cred passkey.Credential
	link, err := h.Links.Use(ctx, PurposeRecovery, mux.Vars(r)["token"])
	if err == nil {
		user, err = h.Users.GetUser(ctx, link.UserID)
	}
	if err == nil && !user.Active() {
		err = enroll.ErrInvalidLink
	}
	if err == nil {
		cred, err = h.Passkeys.FinishRegistration(ctx, ceremony, user, req.Credential, strings.TrimSpace(req.Name), passkey.AddedViaRecovery)
	}
	if err != nil && link.ID != "" && !enroll.IsInvalid(err) {
		if rerr := h.Links.Release(ctx, link.ID); rerr != nil {
			httpx.Logger(ctx).Error("release recovery link after a refused passkey", "err", rerr)
		}
	}
	if err != nil {
		if enroll.IsInvalid(err) {
			httpx.JSONError(w, http.StatusGone, linkGone)
			return
		}
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.registration_failed", Outcome: audit.Failure,
			UserID: user.ID, OrgID: user.OrgID, Details: map[string]any{"via": PurposeRecovery, "reason": passkey.Detail(err)}}))
		httpx.JSONError(w, http.StatusBadRequest, passkey.RegistrationMessage(err))
		return
	}
	now := time.Now().UTC()
	sess, err := h.Sessions.Replace(ctx, w, r, session.Session{UserID: user.ID, OrgID: user.OrgID, Method: "passkey",
		AMR: cred.AMR(), ACR: provider.ACRPhishingResistant, AuthTime: now, VerifiedAt: now, PasskeyID: cred.ID})
	if err != nil {
		httpx.JSONServerError(w, r, "start session", err)
		return
	}
	actor := "user:" + user.ID
	// How the recovery began: an admin's link (created by "cli" or "user:ID") or a recovery code.
	via := "link"
	if strings.HasPrefix(link.CreatedBy, codeLinkCreator) {
		via = "recovery_code"
	}
	record := func(action string, details map[string]any) {
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: action, OrgID: user.OrgID, Actor: actor,
			UserID: user.ID, Details: details}))
	}
	record("passkey.added", map[string]any{"via": PurposeRecovery, "passkey": cred.ID, "provider": cred.Provider, "synced": cred.Synced()})
	if cred.PasswordRetired {
		record("password.removed", map[string]any{"reason": "first passkey under a mandatory policy"})
	}
	record("recovery.completed", map[string]any{"via": via, "started_by": link.CreatedBy, "passkey": cred.ID,
		"from": map[string]string{"ip": httpx.ClientIP(r), "device": r.UserAgent()}})
	record("signin.succeeded", map[string]any{"method": "passkey", "via": PurposeRecovery, "sid": sess.ID})
	h.notifyCompleted(ctx, user, cred, now)
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": "/account?done=recovered"})
}
