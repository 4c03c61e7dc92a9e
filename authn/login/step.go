package login

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/brand"
)

// stepLifetime bounds the passkey prompt after a password: long enough to create a passkey,
// short enough that a forgotten tab is no standing sign-in.
const stepLifetime = 10 * time.Minute

// step is a password sign-in that the policy stopped before the app: the password was right,
// and the person must (Required) or may create a passkey before a session starts.
type step struct {
	UserID   string    `json:"u"`
	OrgID    string    `json:"o"`
	Pending  string    `json:"p,omitempty"`
	Required bool      `json:"r,omitempty"`
	AuthTime time.Time `json:"t"`
	Expires  time.Time `json:"e"`
}

// StepCookie carries a step in the browser, sealed (encrypted and authenticated) with a key
// derived from the system secret: any server process can read it, nobody can forge or alter it,
// and it holds no credential of its own (it expires with the step and is removed once used).
type StepCookie struct {
	Sealer *secret.Sealer
	Secure bool
}

var errNoStep = errors.New("no valid sign-in step")

func (c *StepCookie) name() string {
	if c.Secure {
		return "__Host-portcullis_step"
	}
	return "portcullis_step"
}

// Set stores s in the browser.
func (c *StepCookie) Set(w http.ResponseWriter, s step) {
	raw, _ := json.Marshal(s)
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: base64.RawURLEncoding.EncodeToString(c.Sealer.Seal(raw)),
		Path: "/", HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode, MaxAge: int(stepLifetime.Seconds())})
}

// Get returns the browser's unexpired step.
func (c *StepCookie) Get(r *http.Request, now time.Time) (step, error) {
	ck, err := r.Cookie(c.name())
	if err != nil {
		return step{}, errNoStep
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return step{}, errNoStep
	}
	raw, err := c.Sealer.Open(sealed)
	if err != nil {
		return step{}, errNoStep
	}
	var s step
	if json.Unmarshal(raw, &s) != nil || !now.Before(s.Expires) {
		return step{}, errNoStep
	}
	return s, nil
}

// Clear removes the step: it leads to one session at most.
func (c *StepCookie) Clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: "", Path: "/", HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type promptPage struct {
	ui.Base
	Required  bool
	OrgName   string
	Name      string
	BeginURL  string
	FinishURL string
	SkipURL   string
}

// currentStep resolves the sign-in target and the browser's step, which must be for it.
func (h *Handler) currentStep(r *http.Request) (Target, step, directory.User, error) {
	t, err := h.target(r, r.URL.Query().Get("request"))
	if err != nil {
		return t, step{}, directory.User{}, err
	}
	s, err := h.Steps.Get(r, time.Now())
	if err != nil || s.OrgID != t.Org.ID || s.Pending != t.PendingID {
		return t, step{}, directory.User{}, errNoStep
	}
	u, err := h.Users.GetUser(r.Context(), s.UserID)
	if err != nil || !u.Active() {
		return t, step{}, directory.User{}, errNoStep
	}
	return t, s, u, nil
}

func (h *Handler) promptPage(w http.ResponseWriter, r *http.Request) {
	t, s, u, err := h.currentStep(r)
	if err != nil {
		h.UI.Error(w, r, http.StatusBadRequest, "Please sign in again",
			"This step of signing in has expired. Go back to the app, or to the sign-in page, and start again.", "")
		return
	}
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	h.UI.Render(w, r, http.StatusOK, "passkey_prompt", promptPage{Base: ui.Base{Title: "Create a passkey",
		CSRFToken: h.CSRF.Token(w, r), Script: true, Brand: brand.Apply(w, t.Org)}, Required: s.Required, OrgName: t.Org.Name, Name: name,
		BeginURL: t.Base + "/login/passkey/begin" + t.Query(), FinishURL: t.Base + "/login/passkey/finish" + t.Query(),
		SkipURL: t.Base + "/login/passkey/skip" + t.Query()})
}

func (h *Handler) promptBegin(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	_, _, u, err := h.currentStep(r)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This step of signing in has expired. Sign in again.")
		return
	}
	passkey.WriteRegistrationOptions(w, r, u, h.Passkeys.BeginRegistration, h.Cookies.Set)
}

// promptFinish stores the new passkey and then starts the session the password earned.
func (h *Handler) promptFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req struct {
		Credential json.RawMessage `json:"credential"`
		Name       string          `json:"name"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	ceremony := h.Cookies.Take(w, r)
	t, s, u, err := h.currentStep(r)
	if err != nil {
		httpx.JSONError(w, http.StatusBadRequest, "This step of signing in has expired. Sign in again.")
		return
	}
	cred, err := h.Passkeys.FinishRegistration(ctx, ceremony, u, req.Credential, strings.TrimSpace(req.Name), passkey.AddedViaSignIn)
	if err != nil {
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.registration_failed", Outcome: audit.Failure,
			OrgID: u.OrgID, UserID: u.ID, Details: map[string]any{"via": passkey.AddedViaSignIn, "reason": passkey.Detail(err)}}))
		httpx.JSONError(w, http.StatusBadRequest, passkey.RegistrationMessage(err))
		return
	}
	actor := "user:" + u.ID
	_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.added", OrgID: u.OrgID, Actor: actor, UserID: u.ID,
		Details: map[string]any{"via": passkey.AddedViaSignIn, "passkey": cred.ID, "provider": cred.Provider, "synced": cred.Synced()}}))
	if cred.PasswordRetired {
		_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "password.removed", OrgID: u.OrgID, Actor: actor,
			UserID: u.ID, Details: map[string]any{"reason": "first passkey under a mandatory policy"}}))
	}
	h.Steps.Clear(w)
	if _, err := h.signIn(w, r, u, passwordSession(s.AuthTime), map[string]any{"passkey_created": cred.ID}); err != nil {
		httpx.JSONServerError(w, r, "start session", err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": t.Next()})
}

// promptSkip is "Do this later": only where the policy offers it, and remembered so the person
// is asked again when the policy says.
func (h *Handler) promptSkip(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.CSRF.Check(r) {
		h.UI.Error(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.", "")
		return
	}
	t, s, u, err := h.currentStep(r)
	if err != nil || s.Required {
		h.UI.Error(w, r, http.StatusBadRequest, "Please sign in again",
			"This step of signing in has expired. Go back to the app, or to the sign-in page, and start again.", "")
		return
	}
	now := time.Now().UTC()
	if err := h.Users.SetPasskeySkipped(ctx, u.ID, now); err != nil {
		h.serverError(w, r, "record skip", err)
		return
	}
	_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "passkey.prompt_skipped", OrgID: u.OrgID,
		Actor: "user:" + u.ID, UserID: u.ID}))
	h.Steps.Clear(w)
	if _, err := h.signIn(w, r, u, passwordSession(s.AuthTime), nil); err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	h.continueTo(w, r, t)
}
