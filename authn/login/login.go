// Package login owns the sign-in page that the authorize endpoint sends people to. Passkey
// sign-in is not built yet: for now the page explains that sign-in is unavailable, while keeping
// the pending authorize request it was given by reference.
package login

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// ClientNames resolves a client id for display.
type ClientNames interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Handler serves /login.
type Handler struct {
	Pending *provider.PendingStore
	Clients ClientNames
	UI      *ui.Renderer
}

type page struct {
	ui.Base
	ClientName string
	Username   string
	Message    string
}

// Mount registers the sign-in page.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/login", h.login).Methods(http.MethodGet)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	p := page{Base: ui.Base{Title: "Sign in"}}
	if id := r.URL.Query().Get("request"); id != "" {
		if pend, err := h.Pending.Get(r.Context(), id, time.Now()); err == nil {
			if c, err := h.Clients.Get(r.Context(), pend.ClientID); err == nil {
				p.ClientName = c.Name
			}
		}
	}
	h.UI.Render(w, r, http.StatusOK, "login", p)
}
