// Package login owns the sign-in page and its passkey ceremonies: username first, autofill
// (conditional mediation) and usernameless ("Sign in with a passkey"). A successful ceremony
// starts a sign-in session (authn/session) and sends the browser back to the pending authorize
// request (provider, /oauth2/auth/resume) or to the account page.
package login

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// Passkeys is what sign-in needs of the passkey ceremonies.
type Passkeys interface {
	BeginLogin(ctx context.Context, orgID, username string) ([]byte, string, error)
	BeginDiscoverableLogin(ctx context.Context) ([]byte, string, error)
	FinishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (directory.User, passkey.Credential, error)
}

// Clients resolves the client of a pending request, for its name and organisation.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Handler serves /login and its ceremony endpoints.
type Handler struct {
	Passkeys Passkeys
	Sessions *session.Manager
	Pending  *provider.PendingStore
	Clients  Clients
	Audit    *audit.Log
	UI       *ui.Renderer
	CSRF     *httpx.CSRF
	Cookies  *CeremonyCookie
}

// Mount registers the sign-in routes.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/login", h.page).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/login/begin", h.begin).Methods(http.MethodPost)
	r.HandleFunc("/login/begin-any", h.beginAny).Methods(http.MethodPost)
	r.HandleFunc("/login/finish", h.finish).Methods(http.MethodPost)
}

type page struct {
	ui.Base
	ClientName string
	Username   string
	Message    string
}

// target is where a sign-in leads: a pending authorize request (of a client in one
// organisation) or, without one, the account page in the system organisation.
type target struct {
	pendingID  string
	orgID      string
	clientName string
	loginHint  string
}

func (h *Handler) target(ctx context.Context, pendingID string) (target, error) {
	t := target{orgID: directory.SystemOrgID}
	if pendingID == "" {
		return t, nil
	}
	pend, err := h.Pending.Get(ctx, pendingID, time.Now())
	if err != nil {
		return t, err
	}
	c, err := h.Clients.Get(ctx, pend.ClientID)
	if err != nil {
		return t, err
	}
	return target{pendingID: pend.ID, orgID: c.OrgID, clientName: c.Name, loginHint: pend.Form.Get("login_hint")}, nil
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	pendingID := r.URL.Query().Get("request")
	t, err := h.target(r.Context(), pendingID)
	if err != nil {
		h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
			"Go back to the app you were signing in to and start again.", "")
		return
	}
	p := page{Base: ui.Base{Title: "Sign in", CSRFToken: h.CSRF.Token(w, r), Script: true,
		Data: ui.ScriptData{Begin: "/login/begin", BeginAny: "/login/begin-any", Finish: "/login/finish", Request: t.pendingID}},
		ClientName: t.clientName}
	// OIDC Core 3.1.2.1: login_hint pre-fills the username; it is only a hint.
	if directory.ValidateUsername(t.loginHint) == nil {
		p.Username = t.loginHint
	}
	if r.Method == http.MethodPost {
		// Only reached without JavaScript: passkeys need the browser's WebAuthn API.
		p.Username = r.PostFormValue("username")
		p.Message = "Signing in with a passkey needs JavaScript. Turn it on for this site and reload."
	}
	h.UI.Render(w, r, http.StatusOK, "login", p)
}

type beginRequest struct {
	Username    string `json:"username"`
	Request     string `json:"request"`
	Conditional bool   `json:"conditional"`
}

type finishRequest struct {
	Credential json.RawMessage `json:"credential"`
	Request    string          `json:"request"`
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request) {
	var req beginRequest
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	if err := directory.ValidateUsername(req.Username); err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "Enter your username (no spaces).")
		return
	}
	t, err := h.target(r.Context(), req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This sign-in request has expired. Go back to the app and start again.")
		return
	}
	opts, ceremony, err := h.Passkeys.BeginLogin(r.Context(), t.orgID, req.Username)
	if err != nil {
		httpx.JSONServerError(w, r, "begin login", err)
		return
	}
	h.Cookies.Set(w, ceremony)
	// The same words whether or not the account exists (no account enumeration).
	writeOptions(w, opts, "This account is protected by a passkey. Use it to continue.")
}

func (h *Handler) beginAny(w http.ResponseWriter, r *http.Request) {
	var req beginRequest
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	opts, ceremony, err := h.Passkeys.BeginDiscoverableLogin(r.Context())
	if err != nil {
		httpx.JSONServerError(w, r, "begin discoverable login", err)
		return
	}
	h.Cookies.Set(w, ceremony)
	writeOptions(w, opts, "Choose your passkey.")
}

func writeOptions(w http.ResponseWriter, opts []byte, message string) {
	httpx.JSON(w, http.StatusOK, map[string]any{"publicKey": json.RawMessage(opts), "message": message})
}

func (h *Handler) finish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req finishRequest
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	ceremony := h.Cookies.Take(w, r)
	t, err := h.target(ctx, req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This sign-in request has expired. Go back to the app and start again.")
		return
	}
	user, cred, err := h.Passkeys.FinishLogin(ctx, ceremony, req.Credential)
	if err == nil && user.OrgID != t.orgID {
		// A user of one organisation can never sign in to another's clients.
		err = passkey.ErrNotRecognised
	}
	if err != nil {
		h.failed(r, t, user, err)
		httpx.JSONError(w, http.StatusUnauthorized, publicMessage(err))
		return
	}
	now := time.Now().UTC()
	var sess session.Session
	// The session and its audit record land together (one commit).
	err = h.Audit.DB.InTx(ctx, func(ctx context.Context) error {
		if old, err := h.Sessions.Current(r.WithContext(ctx)); err == nil {
			if err := h.Sessions.Store.End(ctx, old.ID); err != nil {
				return err
			}
		}
		var err error
		sess, err = h.Sessions.Start(ctx, w, r, session.Session{UserID: user.ID, OrgID: user.OrgID, Method: "passkey",
			AMR: cred.AMR(), ACR: provider.ACRPhishingResistant, AuthTime: now, VerifiedAt: now})
		if err != nil {
			return err
		}
		return h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "signin.succeeded", OrgID: user.OrgID,
			Actor: "user:" + user.ID, UserID: user.ID, Details: map[string]any{"method": "passkey", "passkey": cred.ID,
				"provider": cred.Provider, "synced": cred.Synced(), "sid": sess.ID}}))
	})
	if err != nil {
		httpx.JSONServerError(w, r, "start session", err)
		return
	}
	redirect := "/account"
	if t.pendingID != "" {
		redirect = "/oauth2/auth/resume?request=" + url.QueryEscape(t.pendingID)
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": redirect})
}

func (h *Handler) failed(r *http.Request, t target, user directory.User, err error) {
	detail := passkey.Detail(err)
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "signin.failed", Outcome: audit.Failure,
		OrgID: t.orgID, UserID: user.ID, Details: map[string]any{"method": "passkey", "reason": detail}}))
}

// publicMessage is the sentence a person sees for a failed ceremony; details stay in the log.
func publicMessage(err error) string {
	for _, known := range []error{passkey.ErrCeremonyExpired, passkey.ErrNotRecognised, passkey.ErrUserVerification,
		passkey.ErrCounterRegression} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return "That passkey could not be checked. Please try again."
}
