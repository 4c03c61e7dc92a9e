package security

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/ui"
)

// DefaultCacheFor is how long Facts are reused when Handler.CacheFor is zero: long enough that a
// burst of requests to this public page costs two queries, short enough that a policy change or a
// key rotation shows within seconds.
const DefaultCacheFor = 10 * time.Second

// Orgs lists the organisations and their policies (*directory.Store implements it).
type Orgs interface {
	ListOrgs(ctx context.Context) ([]directory.Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (directory.Org, error)
}

// Keys lists the signing keys (*keys.Manager implements it).
type Keys interface {
	List(ctx context.Context) ([]keys.KeyInfo, error)
}

var (
	_ Orgs = (*directory.Store)(nil)
	_ Keys = (*keys.Manager)(nil)
)

// Handler serves /security.
type Handler struct {
	Settings Settings
	Orgs     Orgs
	Keys     Keys
	UI       *ui.Renderer
	// CacheFor bounds how stale the page may be; zero means DefaultCacheFor, negative no cache.
	CacheFor time.Duration
	Now      func() time.Time

	mu       sync.Mutex
	cached   *Facts
	cachedAt time.Time
}

// Mount registers GET /security and GET /o/{slug}/security, an organisation's own page: the
// same facts with that organisation's policy, for the people who already know its sign-in URL
// (whatever security_page_orgs says about listing every organisation on /security).
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/security", h.page).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/o/{slug:[a-z0-9-]+}/security", h.page).Methods(http.MethodGet, http.MethodHead)
}

// Page is the template data of security.html.
type Page struct {
	ui.Base
	Facts
	// Own is the policy of the organisation whose page this is (/o/{slug}/security), or nil.
	Own *PolicyFacts
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	f, err := h.Facts(r.Context())
	if err != nil {
		id := httpx.RequestID(r.Context())
		slog.ErrorContext(r.Context(), "security page", "err", err, "request_id", id)
		h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong",
			"The security page could not be loaded. Please try again in a moment.", id)
		return
	}
	p := Page{Base: ui.Base{Title: "Security", Wide: true}, Facts: f}
	if slug := mux.Vars(r)["slug"]; slug != "" {
		o, err := h.Orgs.GetOrgBySlug(r.Context(), slug)
		if err != nil {
			h.UI.Error(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", "")
			return
		}
		own := policyFacts(o.Slug, o.Policy)
		p.Own = &own
		// The organisation's own session lifetimes, where it set them (0: the server's).
		if o.Sessions.Idle > 0 {
			p.Sessions.Idle = Duration(o.Sessions.Idle)
		}
		if o.Sessions.Absolute > 0 {
			p.Sessions.Absolute = Duration(o.Sessions.Absolute)
		}
	}
	h.UI.Render(w, r, http.StatusOK, "security", p)
}

// Facts returns what the page states, from Settings, the packages' constants and the live
// organisations and keys; a result younger than CacheFor is reused. Concurrent callers wait for
// one load rather than each querying the database. The result shares its slices with the cache:
// treat it as read-only.
func (h *Handler) Facts(ctx context.Context) (Facts, error) {
	if h.Orgs == nil || h.Keys == nil {
		return Facts{}, errors.New("security page: Orgs and Keys are required")
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	ttl := h.CacheFor
	if ttl == 0 {
		ttl = DefaultCacheFor
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t := now()
	if h.cached != nil && ttl > 0 && t.Sub(h.cachedAt) < ttl && !t.Before(h.cachedAt) {
		return *h.cached, nil
	}
	f, err := liveFacts(ctx, staticFacts(h.Settings), h.Orgs, h.Keys, t)
	if err != nil {
		return Facts{}, err
	}
	h.cached, h.cachedAt = &f, t
	return f, nil
}
