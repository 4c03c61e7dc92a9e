package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// Prefix is where the API is mounted.
const Prefix = "/api/admin/v1"

// The scopes of the admin API (provider/clients allows clients to hold them).
const (
	ScopeRead  = "admin:read"  // GET requests
	ScopeWrite = "admin:write" // every other method
)

// Tokens validates bearer access tokens (provider.Provider.AccessToken).
type Tokens interface {
	AccessToken(ctx context.Context, token string) (clientID, subject string, scopes []string, err error)
}

// Clients reads the calling client's registration.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Handler serves the admin API.
type Handler struct {
	Service *admin.Service
	// Recoveries starts account recoveries (POST /users/{id}/recovery).
	Recoveries *admin.Recoveries
	Tokens     Tokens
	Clients    Clients
	Audit      *audit.Log

	routes []*mux.Route
}

// actorHandler is an API route once its caller is authenticated.
type actorHandler func(w http.ResponseWriter, r *http.Request, a admin.Actor)

// Mount registers the API's routes under Prefix.
func (h *Handler) Mount(r *mux.Router) {
	sub := r.PathPrefix(Prefix).Subrouter()
	add := func(method, path string, fn actorHandler) {
		h.routes = append(h.routes, sub.Handle(path, h.authenticated(fn)).Methods(method))
	}
	sub.HandleFunc("/openapi.json", serveOpenAPI).Methods(http.MethodGet)

	add(http.MethodGet, "/orgs", h.listOrgs)
	add(http.MethodPost, "/orgs", h.createOrg)
	add(http.MethodGet, "/orgs/{slug}", h.getOrg)

	add(http.MethodGet, "/users", h.listUsers)
	add(http.MethodPost, "/users", h.createUser)
	add(http.MethodPost, "/users/import", h.importUsers)
	add(http.MethodGet, "/users/{id}", h.getUser)
	add(http.MethodPatch, "/users/{id}", h.updateUser)
	add(http.MethodPost, "/users/{id}/enrollment-link", h.enrollmentLink)
	add(http.MethodPost, "/users/{id}/recovery", h.startRecovery)
	add(http.MethodGet, "/users/{id}/passkeys", h.listPasskeys)
	add(http.MethodDelete, "/users/{id}/passkeys/{pid}", h.removePasskey)
	add(http.MethodGet, "/users/{id}/sessions", h.listSessions)
	add(http.MethodDelete, "/users/{id}/sessions/{sid}", h.endSession)

	add(http.MethodGet, "/policy", h.getPolicy)
	add(http.MethodPut, "/policy", h.putPolicy)
	add(http.MethodGet, "/branding", h.getBranding)
	add(http.MethodPut, "/branding", h.putBranding)
	add(http.MethodGet, "/password-rules", h.getPasswordRules)
	add(http.MethodPut, "/password-rules", h.putPasswordRules)
	add(http.MethodGet, "/session-lifetimes", h.getSessionLifetimes)
	add(http.MethodPut, "/session-lifetimes", h.putSessionLifetimes)

	add(http.MethodGet, "/clients", h.listClients)
	add(http.MethodPost, "/clients", h.createClient)
	add(http.MethodGet, "/clients/{id}", h.getClient)
	add(http.MethodPatch, "/clients/{id}", h.updateClient)
	add(http.MethodDelete, "/clients/{id}", h.deleteClient)
	add(http.MethodPost, "/clients/{id}/rotate-secret", h.rotateSecret)

	add(http.MethodGet, "/audit", h.listAudit)
	add(http.MethodGet, "/audit/export", h.exportAudit)

	add(http.MethodGet, "/keys", h.listKeys)
	add(http.MethodPost, "/keys/rotate", h.rotateKeys)

	add(http.MethodGet, "/adoption", h.adoption)

	// Anything else under the prefix answers in JSON, not with the HTML error page.
	sub.PathPrefix("/").HandlerFunc(h.unmatched)
}

// unmatched answers 405 for a known path with another method, 404 otherwise.
func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		for _, rt := range h.routes {
			if rt.Match(probe, &mux.RouteMatch{}) && !slices.Contains(allowed, m) {
				allowed = append(allowed, m)
			}
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This address does not accept "+r.Method+".", "")
		return
	}
	writeError(w, http.StatusNotFound, admin.CodeNotFound, "There is no such API route.", "")
}

// authenticated checks the bearer token (RFC 6750) and the scope the method needs, and runs fn as
// the calling client.
func (h *Handler) authenticated(fn actorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token, ok := bearer(r)
		if !ok {
			// RFC 6750 section 3.1: no error code when the request had no credentials.
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "Send an access token: Authorization: Bearer <token>.", "")
			return
		}
		clientID, subject, scopes, err := h.Tokens.AccessToken(ctx, token)
		if err != nil {
			invalidToken(w, "The access token is not valid.")
			return
		}
		if subject != clientID {
			// A user's token acts for the user; the admin API is for clients acting for their
			// organisation, with a client-credentials token (RFC 9068 section 2.2: sub = client).
			invalidToken(w, "The admin API takes an access token from the client-credentials grant, not a user's token.")
			return
		}
		c, err := h.Clients.Get(ctx, clientID)
		if errors.Is(err, database.ErrNotFound) {
			invalidToken(w, "The access token is not valid.")
			return
		}
		if err != nil {
			serverError(w, r, "admin api: load client", err)
			return
		}
		a := admin.ClientActor(c.ID, c.OrgID, httpx.ClientIP(r), r.UserAgent())
		need := ScopeWrite
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			need = ScopeRead
		}
		// The scope must be in the token and still allowed to the client: taking a scope away
		// from a client takes effect before its tokens expire.
		if !slices.Contains(scopes, need) || !slices.Contains(c.Scopes, need) {
			_ = h.Audit.Record(ctx, audit.Event{Action: "admin_api.refused", Outcome: audit.Failure, OrgID: c.OrgID,
				Actor: a.Name, ClientID: c.ID, IP: a.IP, UserAgent: a.UserAgent,
				Details: map[string]any{"method": r.Method, "path": r.URL.Path, "missing_scope": need}})
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis", error="insufficient_scope", scope="`+need+`"`)
			writeError(w, http.StatusForbidden, admin.CodeForbidden, "This call needs the "+need+" scope.", "")
			return
		}
		fn(w, r, a)
	})
}

func invalidToken(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis", error="invalid_token"`)
	writeError(w, http.StatusUnauthorized, "invalid_token", msg, "")
}

// bearer returns the token of an "Authorization: Bearer" header (RFC 6750 section 2.1). Tokens
// in the query or the body (sections 2.2, 2.3) are not accepted: they end up in logs.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
