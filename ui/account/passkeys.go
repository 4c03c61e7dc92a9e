package account

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// fresh reports a recent enough proof of identity for adding a passkey: a passkey check within
// FreshCheck or, for someone who has no passkey yet (a password user adding their first), a
// sign-in within FreshCheck.
func (h *Handler) fresh(sess session.Session, passkeys int) bool {
	if h.now().Sub(sess.VerifiedAt) < FreshCheck {
		return true
	}
	return passkeys == 0 && h.now().Sub(sess.AuthTime) < FreshCheck
}

func (h *Handler) freshFor(r *http.Request, sess session.Session, userID string) bool {
	n, err := h.Passkeys.Count(r.Context(), userID)
	return err == nil && h.fresh(sess, n)
}

func (h *Handler) afterError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, passkey.ErrInvalidName) {
		http.Redirect(w, r, "/account?error=name", http.StatusSeeOther)
		return
	}
	if errors.Is(err, passkey.ErrNotFound) || errors.Is(err, database.ErrNotFound) {
		http.Redirect(w, r, "/account?error=missing", http.StatusSeeOther)
		return
	}
	h.serverError(w, r, what, err)
}

// verifyBegin starts a fresh passkey check for the signed-in user (before adding a passkey).
func (h *Handler) verifyBegin(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.current(w, r, false)
	if !ok {
		return
	}
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	opts, ceremony, err := h.Passkeys.BeginLogin(r.Context(), u.OrgID, u.Username)
	if err != nil {
		httpx.JSONServerError(w, r, "begin passkey check", err)
		return
	}
	h.Ceremonies.Set(w, ceremony)
	httpx.JSON(w, http.StatusOK, map[string]any{"publicKey": json.RawMessage(opts), "message": "Confirm it's you with your passkey."})
}

func (h *Handler) verifyFinish(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Credential json.RawMessage `json:"credential"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	who, _, err := h.Passkeys.FinishLogin(r.Context(), h.Ceremonies.Take(w, r), req.Credential)
	if err == nil && who.ID != u.ID {
		err = passkey.ErrNotRecognised
	}
	if err != nil {
		h.record(r, u, "passkey.check_failed", map[string]any{"reason": passkey.Detail(err)})
		httpx.JSON(w, http.StatusUnauthorized, map[string]string{"error": "That passkey did not confirm it's you. Try again."})
		return
	}
	if err := h.Sessions.Store.MarkVerified(r.Context(), sess.ID, h.now()); err != nil {
		httpx.JSONServerError(w, r, "mark session verified", err)
		return
	}
	h.record(r, u, "passkey.checked", map[string]any{"sid": sess.ID})
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": "/account"})
}

func (h *Handler) addBegin(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, false)
	if !ok {
		return
	}
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	if !h.freshFor(r, sess, u.ID) {
		httpx.JSONError(w, http.StatusForbidden, "Confirm it's you with your passkey first, then add the new one.")
		return
	}
	passkey.WriteRegistrationOptions(w, r, u, h.Passkeys.BeginRegistration, h.Ceremonies.Set)
}

func (h *Handler) addFinish(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.current(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Credential json.RawMessage `json:"credential"`
		Name       string          `json:"name"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	if !h.freshFor(r, sess, u.ID) {
		httpx.JSONError(w, http.StatusForbidden, "Confirm it's you with your passkey first, then add the new one.")
		return
	}
	cred, err := h.Passkeys.FinishRegistration(r.Context(), h.Ceremonies.Take(w, r), u, req.Credential, strings.TrimSpace(req.Name), passkey.AddedViaAccount)
	if err != nil {
		h.record(r, u, "passkey.registration_failed", map[string]any{"via": "account", "reason": passkey.Detail(err)})
		httpx.JSON(w, http.StatusBadRequest, map[string]string{"error": passkey.RegistrationMessage(err)})
		return
	}
	h.record(r, u, "passkey.added", map[string]any{"via": "account", "passkey": cred.ID, "provider": cred.Provider, "synced": cred.Synced()})
	if cred.PasswordRetired {
		h.record(r, u, "password.removed", map[string]any{"reason": "first passkey under a mandatory policy"})
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": "/account?done=added"})
}
