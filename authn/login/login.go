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
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/brand"
)

// Passkeys is what sign-in needs of the passkey ceremonies.
type Passkeys interface {
	BeginLogin(ctx context.Context, orgID, username string) ([]byte, string, error)
	BeginDiscoverableLogin(ctx context.Context, orgID string) ([]byte, string, error)
	FinishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (directory.User, passkey.Credential, error)
	BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error)
	FinishRegistration(ctx context.Context, ceremony string, user directory.User, credentialJSON []byte, name, addedVia string) (passkey.Credential, error)
}

// Clients resolves the client of a pending request, for its name and organisation.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Handler serves /login (and /o/{slug}/login) with its passkey ceremonies, password sign-in
// where the organisation's policy still allows it, and the passkey prompt after a password.
type Handler struct {
	Passkeys  Passkeys
	Sessions  *session.Manager
	Pending   *provider.PendingStore
	Clients   Clients
	Orgs      Orgs
	Users     *directory.Store
	Passwords *Passwords
	Steps     *StepCookie
	Audit     *audit.Log
	UI        *ui.Renderer
	CSRF      *httpx.CSRF
	Cookies   *CeremonyCookie
}

// Mount registers the sign-in routes, at the root (system organisation, or the organisation of
// the pending request's client) and under /o/{slug} (an organisation's own sign-in URL).
func (h *Handler) Mount(r *mux.Router) {
	for _, prefix := range []string{"", "/o/{slug:[a-z0-9-]+}"} {
		r.HandleFunc(prefix+"/login", h.page).Methods(http.MethodGet, http.MethodPost)
		r.HandleFunc(prefix+"/login/begin", h.begin).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/begin-any", h.beginAny).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/finish", h.finish).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/password", h.password).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/passkey", h.promptPage).Methods(http.MethodGet)
		r.HandleFunc(prefix+"/login/passkey/begin", h.promptBegin).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/passkey/finish", h.promptFinish).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/passkey/skip", h.promptSkip).Methods(http.MethodPost)
	}
	// The organisation's primary colour, linked from its branded sign-in pages (ui/brand).
	r.Handle(brand.Route, brand.Stylesheet{Orgs: h.Orgs}).Methods(http.MethodGet, http.MethodHead)
}

type page struct {
	ui.Base
	ClientName  string
	OrgName     string
	Username    string
	Message     string
	Error       bool
	Password    bool   // offer password sign-in
	PasswordURL string // where the password form posts
	PasskeysOff bool   // the organisation has not turned passkeys on: the password form leads
	HandoffURL  string // "Sign in from another device" (authn/handoff)
	RecoverURL  string // "Lost your passkey? Use a recovery code" (authn/recovery)
	SecurityURL string // the organisation's security page (ui/security)
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	t, err := h.target(r, r.URL.Query().Get("request"))
	if err != nil {
		h.expired(w, r)
		return
	}
	p := h.loginPage(w, r, t)
	// OIDC Core 3.1.2.1: login_hint pre-fills the username; it is only a hint.
	if directory.ValidateUsername(t.LoginHint) == nil {
		p.Username = t.LoginHint
	}
	if r.Method == http.MethodPost {
		// Only reached without JavaScript: passkeys need the browser's WebAuthn API.
		p.Username = r.PostFormValue("username")
		p.Message, p.Error = "Signing in with a passkey needs JavaScript. Turn it on for this site and reload.", true
	}
	h.UI.Render(w, r, http.StatusOK, "login", p)
}

// loginPage is the sign-in page for t, before any message.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, t Target) page {
	pol := t.Org.Policy
	p := page{Base: ui.Base{Title: "Sign in", CSRFToken: h.CSRF.Token(w, r), Script: true,
		Data: ui.ScriptData{Begin: t.Base + "/login/begin", BeginAny: t.Base + "/login/begin-any",
			Finish: t.Base + "/login/finish", Request: t.PendingID}, Brand: brand.Apply(w, t.Org)},
		ClientName: t.ClientName, PasswordURL: t.Base + "/login/password" + t.Query(),
		HandoffURL: t.Base + "/login/handoff" + t.Query(), RecoverURL: t.Base + "/recover-code" + t.Query(),
		SecurityURL: "/security"}
	if t.Org.ID != directory.SystemOrgID && t.Org.Slug != "" {
		p.SecurityURL = "/o/" + t.Org.Slug + "/security"
	}
	if t.Org.ID != directory.SystemOrgID {
		p.OrgName = t.Org.Name
	}
	// Password sign-in is shown wherever the organisation's policy may still accept one; whether
	// this user has a password is not revealed by the page (no account enumeration).
	p.Password = !t.NeedsPasskey && !policy.PasswordsRetired(pol, time.Now())
	p.PasskeysOff = p.Password && !policy.PasskeysOffered(pol)
	if t.NeedsPasskey {
		p.Message = "This app asks you to sign in with a passkey."
	}
	return p
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
	t, err := h.target(r, req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This sign-in request has expired. Go back to the app and start again.")
		return
	}
	opts, ceremony, err := h.Passkeys.BeginLogin(r.Context(), t.Org.ID, req.Username)
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
	t, err := h.target(r, req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This sign-in request has expired. Go back to the app and start again.")
		return
	}
	opts, ceremony, err := h.Passkeys.BeginDiscoverableLogin(r.Context(), t.Org.ID)
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
	t, err := h.target(r, req.Request)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This sign-in request has expired. Go back to the app and start again.")
		return
	}
	user, cred, err := h.Passkeys.FinishLogin(ctx, ceremony, req.Credential)
	if err == nil && user.OrgID != t.Org.ID {
		// A user of one organisation can never sign in to another's clients.
		err = passkey.ErrNotRecognised
	}
	if err != nil {
		h.failed(r, t, user, "passkey", passkey.Detail(err))
		httpx.JSONError(w, http.StatusUnauthorized, publicMessage(err))
		return
	}
	now := time.Now().UTC()
	_, err = h.signIn(w, r, user, session.Session{Method: "passkey", AMR: cred.AMR(), ACR: provider.ACRPhishingResistant,
		AuthTime: now, VerifiedAt: now, PasskeyID: cred.ID}, map[string]any{"passkey": cred.ID, "provider": cred.Provider, "synced": cred.Synced()})
	if err != nil {
		httpx.JSONServerError(w, r, "start session", err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": t.Next()})
}

// signIn ends any session this browser had, starts one for user and audits the sign-in, in one
// transaction. sess carries how the user signed in.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, user directory.User, sess session.Session, details map[string]any) (session.Session, error) {
	ctx := r.Context()
	sess.UserID, sess.OrgID = user.ID, user.OrgID
	err := h.Audit.DB.InTx(ctx, func(ctx context.Context) error {
		var err error
		if sess, err = h.Sessions.Replace(ctx, w, r, sess); err != nil {
			return err
		}
		d := map[string]any{"method": sess.Method, "sid": sess.ID}
		for k, v := range details {
			d[k] = v
		}
		return h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "signin.succeeded", OrgID: user.OrgID,
			Actor: "user:" + user.ID, UserID: user.ID, Details: d}))
	})
	return sess, err
}

func (h *Handler) failed(r *http.Request, t Target, user directory.User, method, reason string) {
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "signin.failed", Outcome: audit.Failure,
		OrgID: t.Org.ID, UserID: user.ID, Details: map[string]any{"method": method, "reason": reason}}))
}

// publicMessage is the sentence a person sees for a failed ceremony; details stay in the log.
func publicMessage(err error) string {
	if ref, ok := passkey.PolicyRefusal(err); ok {
		return ref.Error()
	}
	for _, known := range []error{passkey.ErrCeremonyExpired, passkey.ErrNotRecognised, passkey.ErrUserVerification,
		passkey.ErrCounterRegression} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return "That passkey could not be checked. Please try again."
}
