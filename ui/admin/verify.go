package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// systemSlug is the slug of the built-in system organisation, whose admins also get /admin.
const systemSlug = "system"

// verifyBegin starts the fresh passkey check ("Confirm it's you") of the signed-in admin. It is
// the account page's check (ui/account), answered here so that the admin comes back to the
// admin page they were on.
func (h *Handler) verifyBegin(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, script, false)
	if c == nil {
		return
	}
	var req struct{}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	opts, ceremony, err := h.Passkeys.BeginLogin(c.ctx(), c.user.OrgID, c.user.Username)
	if err != nil {
		httpx.JSONServerError(w, r, "begin passkey check", err)
		return
	}
	h.Ceremonies.Set(w, ceremony)
	httpx.JSON(w, http.StatusOK, map[string]any{"publicKey": json.RawMessage(opts), "message": "Confirm it's you with your passkey."})
}

// verifyFinish completes the check and marks the session verified now. The WebAuthn helper sends
// the page's data-request, which on admin pages is the path to come back to.
func (h *Handler) verifyFinish(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, script, false)
	if c == nil {
		return
	}
	var req struct {
		Credential json.RawMessage `json:"credential"`
		Request    string          `json:"request"`
	}
	if !h.CSRF.ReadJSON(w, r, &req) {
		return
	}
	who, _, err := h.Passkeys.FinishLogin(c.ctx(), h.Ceremonies.Take(w, r), req.Credential)
	if err == nil && who.ID != c.user.ID {
		err = passkey.ErrNotRecognised
	}
	if err != nil {
		h.record(r, c.sess, "passkey.check_failed", audit.Failure, map[string]any{"reason": passkey.Detail(err), "via": "admin"})
		httpx.JSON(w, http.StatusUnauthorized, map[string]string{"error": "That passkey did not confirm it's you. Try again."})
		return
	}
	if err := h.Sessions.Store.MarkVerified(c.ctx(), c.sess.ID, h.now()); err != nil {
		httpx.JSONServerError(w, r, "mark session verified", err)
		return
	}
	h.record(r, c.sess, "passkey.checked", audit.Success, map[string]any{"sid": c.sess.ID, "via": "admin"})
	httpx.JSON(w, http.StatusOK, map[string]string{"redirect": backTo(c, req.Request)})
}

// backTo is where to go after the check: the admin page the request names, if it is one of
// this admin's (a local path under their admin pages), else their overview. Nothing else, so
// that the field cannot send anyone off the site.
func backTo(c *call, path string) string {
	ok := (path == c.prefix || strings.HasPrefix(path, c.prefix+"/") ||
		(c.actor.Instance && (path == "/admin" || strings.HasPrefix(path, "/admin/")))) &&
		!strings.ContainsAny(path, "\\?#\r\n") && !strings.Contains(path, "//") && !strings.Contains(path, "/..")
	if !ok {
		return c.prefix
	}
	return path
}
