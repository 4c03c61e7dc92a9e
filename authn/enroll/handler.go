package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/brand"
)

// Registrar is what enrollment needs of the passkey ceremonies.
type Registrar interface {
	BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error)
	FinishRegistration(ctx context.Context, ceremony string, user directory.User, credentialJSON []byte, name, addedVia string) (passkey.Credential, error)
}

// Ceremonies binds a ceremony to the browser.
type Ceremonies interface {
	Set(w http.ResponseWriter, token string)
	Take(w http.ResponseWriter, r *http.Request) string
}

// Handler serves the first-run setup link and enrollment links.
type Handler struct {
	DB         *database.DB
	Links      *Links
	Users      *directory.Store
	Passkeys   Registrar
	Sessions   *session.Manager
	Ceremonies Ceremonies
	Audit      *audit.Log
	UI         *ui.Renderer
	CSRF       *httpx.CSRF
	// Passwords hashes the password a person sets from an enrollment link where the
	// organisation's policy allows one (Off, or Optional with "Do this later").
	Passwords *password.Hasher
}

// Mount registers the setup and enrollment routes.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/setup/{token}", h.setupPage).Methods(http.MethodGet)
	r.HandleFunc("/setup/{token}/begin", h.setupBegin).Methods(http.MethodPost)
	r.HandleFunc("/setup/{token}/finish", h.finish(PurposeSetup)).Methods(http.MethodPost)
	r.HandleFunc("/enroll/{token}", h.enrollPage).Methods(http.MethodGet)
	r.HandleFunc("/enroll/{token}/begin", h.enrollBegin).Methods(http.MethodPost)
	r.HandleFunc("/enroll/{token}/finish", h.finish(PurposeEnrollment)).Methods(http.MethodPost)
	r.HandleFunc("/enroll/{token}/password", h.setPassword).Methods(http.MethodPost)
}

type enrollPage struct {
	ui.Base
	Setup       bool
	DisplayName string
	Username    string
	BeginURL    string
	FinishURL   string
	// What the organisation's policy lets the person do (authn/policy.Enrollment).
	Passkey     bool   // create a passkey
	Password    bool   // set a password instead (Optional: "Do this later"; Off: the only way)
	PasswordURL string // where the password form posts
	// MinLength is the shortest password the organisation accepts (its password rules).
	MinLength int
	Message   string
}

func (h *Handler) invalid(w http.ResponseWriter, r *http.Request, setup bool) {
	msg := "This enrollment link has expired or has been used already. Ask your administrator for a new one."
	if setup {
		msg = "This setup link has expired or has been used already. Run `portcullis setup-link` on the server for a fresh one."
	}
	h.UI.Error(w, r, http.StatusGone, "This link no longer works", msg, "")
}

// setupOpen reports whether first-run setup is still possible: once an administrator exists,
// every setup link is dead, even one issued earlier and not yet used.
func (h *Handler) setupOpen(ctx context.Context) bool {
	exists, err := AdminExists(ctx, h.DB)
	return err == nil && !exists
}

func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) {
	token := mux.Vars(r)["token"]
	if _, err := h.Links.Peek(r.Context(), PurposeSetup, token); err != nil || !h.setupOpen(r.Context()) {
		h.invalid(w, r, true)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "enroll", enrollPage{Base: ui.Base{Title: "Set up Portcullis", CSRFToken: h.CSRF.Token(w, r),
		Script: true}, Setup: true, MinLength: password.MinLength, Passkey: true, BeginURL: "/setup/" + token + "/begin", FinishURL: "/setup/" + token + "/finish"})
}

func (h *Handler) enrollPage(w http.ResponseWriter, r *http.Request) {
	token := mux.Vars(r)["token"]
	link, err := h.Links.Peek(r.Context(), PurposeEnrollment, token)
	if err != nil {
		h.invalid(w, r, false)
		return
	}
	u, err := h.Users.GetUser(r.Context(), link.UserID)
	if err != nil || !u.Active() {
		h.invalid(w, r, false)
		return
	}
	p, err := h.enrollFor(w, r, token, u)
	if err != nil {
		h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
		httpx.Logger(r.Context()).Error("enrollment page", "err", err)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "enroll", p)
}

// enrollFor is the enrollment page for u under their organisation's policy.
func (h *Handler) enrollFor(w http.ResponseWriter, r *http.Request, token string, u directory.User) (enrollPage, error) {
	org, err := h.Users.GetOrg(r.Context(), u.OrgID)
	if err != nil {
		return enrollPage{}, err
	}
	choice := policy.Enrollment(org.Policy)
	title := "Create your passkey"
	if choice == policy.PasswordOnly {
		title = "Set your password"
	}
	return enrollPage{Base: ui.Base{Title: title, CSRFToken: h.CSRF.Token(w, r), Script: choice != policy.PasswordOnly,
		Brand: brand.Apply(w, org)}, MinLength: org.Passwords.MinLength,
		DisplayName: u.DisplayName, Username: u.Username,
		Passkey: choice != policy.PasswordOnly, Password: choice != policy.PasskeyOnly,
		BeginURL: "/enroll/" + token + "/begin", FinishURL: "/enroll/" + token + "/finish",
		PasswordURL: "/enroll/" + token + "/password"}, nil
}

// setupBegin creates (once) the first admin the setup link is for, then starts registration.
func (h *Handler) setupBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	req.Username, req.DisplayName = strings.TrimSpace(req.Username), strings.TrimSpace(req.DisplayName)
	if err := directory.ValidateUsername(req.Username); err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "Choose a username of 1 to 64 letters, digits or . _ @ + - (no spaces).")
		return
	}
	if req.DisplayName == "" || len(req.DisplayName) > 100 {
		httpx.JSONError(w, http.StatusBadRequest, "Enter your name (up to 100 characters).")
		return
	}
	token := mux.Vars(r)["token"]
	if !h.setupOpen(ctx) {
		httpx.JSONError(w, http.StatusGone, "This setup link has expired or has been used already.")
		return
	}
	var user directory.User
	err := h.DB.InTx(ctx, func(ctx context.Context) error {
		link, err := h.Links.Peek(ctx, PurposeSetup, token)
		if err != nil {
			return err
		}
		if link.UserID != "" {
			if user, err = h.Users.GetUser(ctx, link.UserID); err != nil {
				return err
			}
			if user.Username != req.Username {
				return errUsernameFixed
			}
			return nil
		}
		user, err = h.Users.CreateUser(ctx, directory.User{OrgID: directory.SystemOrgID, Username: req.Username,
			DisplayName: req.DisplayName, Roles: []string{"admin"}})
		if err != nil {
			return err
		}
		if err := h.Links.Bind(ctx, link.ID, user.ID); err != nil {
			return err
		}
		return h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "user.created", OrgID: user.OrgID,
			Actor: "setup-link", UserID: user.ID, Details: map[string]any{"username": user.Username, "roles": user.Roles}}))
	})
	switch {
	case IsInvalid(err):
		httpx.JSONError(w, http.StatusGone, "This setup link has expired or has been used already.")
		return
	case errors.Is(err, errUsernameFixed):
		httpx.JSONError(w, http.StatusBadRequest, "Setup already started with the username "+user.Username+"; use that username.")
		return
	case errors.Is(err, database.ErrAlreadyExists):
		httpx.JSONError(w, http.StatusConflict, "That username is taken. Choose another.")
		return
	case err != nil:
		httpx.JSONServerError(w, r, "setup: create admin", err)
		return
	}
	h.beginFor(w, r, user)
}

var errUsernameFixed = errors.New("setup username already chosen")

func (h *Handler) enrollBegin(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	link, err := h.Links.Peek(r.Context(), PurposeEnrollment, mux.Vars(r)["token"])
	if err != nil {
		httpx.JSONError(w, http.StatusGone, "This enrollment link has expired or has been used already.")
		return
	}
	user, err := h.Users.GetUser(r.Context(), link.UserID)
	if err != nil || !user.Active() {
		httpx.JSONError(w, http.StatusGone, "This enrollment link has expired or has been used already.")
		return
	}
	org, err := h.Users.GetOrg(r.Context(), user.OrgID)
	if err != nil {
		httpx.JSONServerError(w, r, "load organisation", err)
		return
	}
	if policy.Enrollment(org.Policy) == policy.PasswordOnly {
		httpx.JSONError(w, http.StatusBadRequest, "Your organisation signs in with passwords for now: set a password instead.")
		return
	}
	h.beginFor(w, r, user)
}

func (h *Handler) beginFor(w http.ResponseWriter, r *http.Request, user directory.User) {
	passkey.WriteRegistrationOptions(w, r, user, h.Passkeys.BeginRegistration, h.Ceremonies.Set)
}

// finish stores the passkey and uses up the link in one transaction, then signs the person in.
func (h *Handler) finish(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var req struct {
			Credential json.RawMessage `json:"credential"`
			Name       string          `json:"name"`
		}
		if !h.CSRF.ReadJSON(w, r, &req) {
			return
		}
		ceremony := h.Ceremonies.Take(w, r)
		token := mux.Vars(r)["token"]
		// The link is used up first (atomically: of two finishes only one gets it), then the
		// ceremony is finished outside any transaction (a rollback must never bring a used
		// ceremony back); if the passkey is refused, the link is released for another try.
		var user directory.User
		var cred passkey.Credential
		link, err := h.Links.Use(ctx, purpose, token)
		if err == nil && purpose == PurposeSetup && !h.setupOpen(ctx) {
			err = ErrInvalidLink
		}
		if err == nil {
			user, err = h.Users.GetUser(ctx, link.UserID)
		}
		if err == nil && !user.Active() {
			err = ErrInvalidLink
		}
		if err == nil {
			cred, err = h.Passkeys.FinishRegistration(ctx, ceremony, user, req.Credential, strings.TrimSpace(req.Name), purpose)
		}
		if err != nil && link.ID != "" && !IsInvalid(err) {
			if rerr := h.Links.Release(ctx, link.ID); rerr != nil {
				httpx.Logger(ctx).Error("release link after a refused passkey", "err", rerr)
			}
		}
		if err == nil && purpose == PurposeSetup {
			// The instance has its administrator: no other setup link may create another.
			if xerr := h.Links.ExpireAll(ctx, PurposeSetup); xerr != nil {
				httpx.Logger(ctx).Error("expire setup links", "err", xerr)
			}
		}
		if err != nil {
			if IsInvalid(err) {
				httpx.JSONError(w, http.StatusGone, "This link has expired or has been used already.")
				return
			}
			detail := passkey.Detail(err)
			_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.registration_failed", Outcome: audit.Failure,
				UserID: user.ID, OrgID: user.OrgID, Details: map[string]any{"via": purpose, "reason": detail}}))
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
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.added", OrgID: user.OrgID, Actor: actor,
			UserID: user.ID, Details: map[string]any{"via": purpose, "passkey": cred.ID, "provider": cred.Provider, "synced": cred.Synced()}}))
		if cred.PasswordRetired {
			_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "password.removed", OrgID: user.OrgID, Actor: actor,
				UserID: user.ID, Details: map[string]any{"reason": "first passkey under a mandatory policy"}}))
		}
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: purpose + ".completed", OrgID: user.OrgID, Actor: actor, UserID: user.ID}))
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "signin.succeeded", OrgID: user.OrgID, Actor: actor,
			UserID: user.ID, Details: map[string]any{"method": "passkey", "via": purpose, "sid": sess.ID}}))
		httpx.JSON(w, http.StatusOK, map[string]string{"redirect": "/account"})
	}
}
