package api

import (
	"net/http"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// The organisation's session lifetimes (admin/sessions_settings.go).

func (h *Handler) getSessionLifetimes(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	o, err := h.Service.Settings(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.SessionLifetimesDetails(o.Sessions))
}

// sessionLifetimesBody is a change of session lifetimes: a field left out keeps its value;
// "default" (or "0") restores the server's default.
type sessionLifetimesBody struct {
	Idle     *string `json:"idle"`
	Absolute *string `json:"absolute"`
}

func (b sessionLifetimesBody) apply(l *directory.SessionLifetimes) error {
	var err error
	if b.Idle != nil {
		if l.Idle, err = admin.ParseLifetime("idle", *b.Idle); err != nil {
			return err
		}
	}
	if b.Absolute != nil {
		if l.Absolute, err = admin.ParseLifetime("absolute", *b.Absolute); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) putSessionLifetimes(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b sessionLifetimesBody
	if !decode(w, r, &b, false) {
		return
	}
	o, err := h.Service.ChangeSessionLifetimes(r.Context(), a, b.apply)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.SessionLifetimesDetails(o.Sessions))
}
