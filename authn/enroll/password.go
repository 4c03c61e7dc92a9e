package enroll

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
)

// setPassword sets the person's password from an enrollment link, where the policy allows it:
// under Off it is how they sign in; under Optional it is "Do this later", and they are asked for
// a passkey again at a later sign-in. The link is used up and the person signed in.
func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := mux.Vars(r)["token"]
	if !h.CSRF.Check(r) {
		h.UI.Error(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.", "")
		return
	}
	link, err := h.Links.Peek(ctx, PurposeEnrollment, token)
	if err != nil {
		h.invalid(w, r, false)
		return
	}
	user, err := h.Users.GetUser(ctx, link.UserID)
	if err != nil || !user.Active() {
		h.invalid(w, r, false)
		return
	}
	page, err := h.enrollFor(w, r, token, user)
	if err != nil {
		h.serverError(w, r, "enrollment page", err)
		return
	}
	if !page.Password {
		page.Message = "Your organisation signs in with passkeys: create a passkey to continue."
		h.UI.Render(w, r, http.StatusBadRequest, "enroll", page)
		return
	}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	// The organisation's password rules (its minimum length), never below the NIST floor.
	if err := password.CheckNewMin(pw, user.Username, page.MinLength); err != nil {
		page.Message = err.Error()
		h.UI.Render(w, r, http.StatusBadRequest, "enroll", page)
		return
	}
	if pw != confirm {
		page.Message = "The two passwords are not the same. Type the same password twice."
		h.UI.Render(w, r, http.StatusBadRequest, "enroll", page)
		return
	}
	hash, err := h.Passwords.Hash(pw)
	if err != nil {
		h.serverError(w, r, "hash password", err)
		return
	}
	now := time.Now().UTC()
	skipped := page.Passkey // Optional: choosing a password is "Do this later"
	err = h.DB.InTx(ctx, func(ctx context.Context) error {
		if _, err := h.Links.Use(ctx, PurposeEnrollment, token); err != nil {
			return err
		}
		if err := h.Users.SetPasswordHash(ctx, user.ID, hash); err != nil {
			return err
		}
		if skipped {
			if err := h.Users.SetPasskeySkipped(ctx, user.ID, now); err != nil {
				return err
			}
		}
		actor := "user:" + user.ID
		if err := h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "password.set", OrgID: user.OrgID,
			Actor: actor, UserID: user.ID, Details: map[string]any{"via": PurposeEnrollment, "passkey_skipped": skipped}})); err != nil {
			return err
		}
		return h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: PurposeEnrollment + ".completed",
			OrgID: user.OrgID, Actor: actor, UserID: user.ID, Details: map[string]any{"method": "password"}}))
	})
	if IsInvalid(err) {
		h.invalid(w, r, false)
		return
	}
	if err != nil {
		h.serverError(w, r, "set password", err)
		return
	}
	sess, err := h.Sessions.Replace(ctx, w, r, session.Session{UserID: user.ID, OrgID: user.OrgID, Method: "password",
		AMR: []string{"pwd"}, ACR: provider.ACRPassword, AuthTime: now})
	if err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	_ = h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "signin.succeeded", OrgID: user.OrgID,
		Actor: "user:" + user.ID, UserID: user.ID, Details: map[string]any{"method": "password", "via": PurposeEnrollment, "sid": sess.ID}}))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.",
		httpx.RequestID(r.Context()))
}
