package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/ui"
)

// RecoveryCodes creates and counts a user's self-service recovery codes (*recovery.Codes).
type RecoveryCodes interface {
	Generate(ctx context.Context, userID string) ([]string, error)
	Remaining(ctx context.Context, userID string) (int, error)
}

// LostDevices removes a lost device's passkey and ends what it signed in (*recovery.Service).
type LostDevices interface {
	LostDevice(ctx context.Context, u directory.User, passkeyID string, e audit.Event) (recovery.Lost, error)
}

// recoveryView is the account page's recovery section.
type recoveryView struct {
	Lost      bool // offer "I lost this device"
	Codes     bool // the organisation allows recovery codes
	CodesLeft int
	Verified  bool // a passkey check recent enough to create codes
}

func (h *Handler) recoveryView(r *http.Request, u directory.User) (recoveryView, error) {
	v := recoveryView{Lost: h.Lost != nil}
	if h.Codes == nil {
		return v, nil
	}
	org, err := h.Users.GetOrg(r.Context(), u.OrgID)
	if err != nil || !org.Policy.RecoveryCodes {
		return v, err
	}
	v.Codes = true
	if v.CodesLeft, err = h.Codes.Remaining(r.Context(), u.ID); err != nil {
		return v, err
	}
	if sess, err := h.Sessions.Current(r); err == nil {
		v.Verified = h.verified(sess)
	}
	return v, nil
}

// verified reports a passkey check within FreshCheck. Unlike adding a first passkey, recovery
// codes and a lost device's removal need a passkey check: a session alone (perhaps the stolen
// cookie of the lost device) must not be able to mint codes or strip passkeys.
func (h *Handler) verified(sess session.Session) bool {
	return !sess.VerifiedAt.IsZero() && h.now().Sub(sess.VerifiedAt) < FreshCheck
}

// codesPage shows new recovery codes, once.
type codesPage struct {
	ui.Base
	Codes []string
}

// createCodes creates (or replaces) the user's recovery codes and shows them in the response to
// the POST itself, never in a URL, and never again.
func (h *Handler) createCodes(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.form(w, r)
	if !ok {
		return
	}
	if h.Codes == nil {
		http.NotFound(w, r)
		return
	}
	org, err := h.Users.GetOrg(r.Context(), u.OrgID)
	if err != nil {
		h.serverError(w, r, "load organisation", err)
		return
	}
	if !org.Policy.RecoveryCodes {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	if !h.verified(sess) {
		http.Redirect(w, r, "/account?error=verify-codes", http.StatusSeeOther)
		return
	}
	had, err := h.Codes.Remaining(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, "count recovery codes", err)
		return
	}
	codes, err := h.Codes.Generate(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, "create recovery codes", err)
		return
	}
	h.record(r, u, "recovery_codes.created", map[string]any{"count": len(codes), "replaced_unused": had})
	h.UI.Render(w, r, http.StatusOK, "recovery_codes", codesPage{Base: ui.Base{Title: "Your recovery codes",
		CSRFToken: h.CSRF.Token(w, r), SignedIn: true}, Codes: codes})
}

// lost handles "I lost this device": the passkey goes, and so do the sessions it signed in and
// their tokens, at once. Never the last passkey: the user would have no way back in.
func (h *Handler) lost(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.form(w, r)
	if !ok {
		return
	}
	if h.Lost == nil {
		http.NotFound(w, r)
		return
	}
	if !h.verified(sess) {
		http.Redirect(w, r, "/account?error=verify-lost", http.StatusSeeOther)
		return
	}
	id := mux.Vars(r)["id"]
	details := map[string]any{}
	if creds, err := h.Passkeys.List(r.Context(), u.ID); err == nil {
		for _, c := range creds {
			if c.ID == id {
				details["name"], details["provider"] = c.Name, c.Provider
			}
		}
	}
	_, err := h.Lost.LostDevice(r.Context(), u, id, audit.FromRequest(r, audit.Event{Actor: "user:" + u.ID, Details: details}))
	switch {
	case errors.Is(err, passkey.ErrLastPasskey):
		http.Redirect(w, r, "/account?error=lost-last", http.StatusSeeOther)
	case err != nil:
		h.afterError(w, r, "lost device", err)
	default:
		http.Redirect(w, r, "/account?done=lost", http.StatusSeeOther)
	}
}
