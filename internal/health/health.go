// Package health serves the liveness and readiness probes.
package health

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/internal/httpx"
)

// Checker reports whether a dependency is ready.
type Checker interface {
	Ready(ctx context.Context) error
}

// Handler serves /healthz (the process answers) and /readyz (the database answers and its
// schema is current).
type Handler struct {
	DB      Checker
	Version string
}

// Mount registers the probes.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/healthz", h.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", h.readyz).Methods(http.MethodGet, http.MethodHead)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok", "version": h.Version})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := h.DB.Ready(ctx); err != nil {
		httpx.Logger(ctx).Warn("not ready", "err", err)
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "not ready"})
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
}
