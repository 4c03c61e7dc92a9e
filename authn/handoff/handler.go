package handoff

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/mail"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// The new device's session (see NewDeviceSession).
const (
	// Method is the session's Method.
	Method = "handoff"
	// AMRHandoff marks a sign-in approved from another device. Not an RFC 8176 value: none fits.
	AMRHandoff = "handoff"
	// ApproveWithin is how recent the trusted device's passkey check must be to approve.
	ApproveWithin = 2 * time.Minute
)

// NewDeviceSession is the session a completed handoff starts on the new device. Its amr is
// ["handoff", "user"]: "user" (RFC 8176) because the person confirmed with a passkey on the
// trusted device; not "hwk"/"swk"/"mfa", because the new device's own passkey did not sign this
// sign-in in (it was just created). Its acr is "0", not "phr": a code can be read out to someone
// else, so a person can be talked into approving an attacker's device; a relying party that asks
// for acr_values=phr gets a passkey sign-in instead (the new passkey will do). VerifiedAt stays
// zero: the code grants no fresh passkey check, so it cannot change passkeys or approve codes.
func NewDeviceSession(now time.Time) session.Session {
	return session.Session{Method: Method, AMR: []string{AMRHandoff, "user"}, ACR: provider.ACRPassword, AuthTime: now}
}

// Passkeys is what the handoff needs of the passkey service: the new device's own passkey.
type Passkeys interface {
	BeginRegistration(ctx context.Context, user directory.User) ([]byte, string, error)
	FinishRegistration(ctx context.Context, ceremony string, user directory.User, credentialJSON []byte, name, addedVia string) (passkey.Credential, error)
}

// Clients resolves the client of a pending request, for its name and organisation.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Orgs reads organisations.
type Orgs interface {
	GetOrg(ctx context.Context, id string) (directory.Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (directory.Org, error)
}

// Users reads users.
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUsername(ctx context.Context, orgID, username string) (directory.User, error)
}

// Ceremonies binds a WebAuthn ceremony to the browser (login.CeremonyCookie).
type Ceremonies interface {
	Set(w http.ResponseWriter, token string)
	Take(w http.ResponseWriter, r *http.Request) string
}

// Handler serves both halves of the handoff: the new device's pages under /login/handoff (and
// /o/{slug}/login/handoff) and the trusted device's under /account/handoff.
type Handler struct {
	Store      *Store
	Passkeys   Passkeys
	Sessions   *session.Manager
	Pending    *provider.PendingStore
	Clients    Clients
	Orgs       Orgs
	Users      Users
	Ceremonies Ceremonies
	Audit      *audit.Log
	UI         *ui.Renderer
	CSRF       *httpx.CSRF
	// Limiter counts code entry: Account per signed-in account (reset on success), IP per client
	// address (every guess, never reset).
	Limiter     *throttle.Limiter
	Account, IP throttle.Rule
	// Mail tells the user a passkey was added from a new device (when they have a verified
	// address); AccountURL is the absolute URL of the account page the message links to.
	Mail       mail.Sender
	AccountURL string
	// Device names a browser and operating system from a User-Agent ("Chrome on Windows").
	Device func(ua string) string
	// Secure: https deployment (Secure cookie with the __Host- prefix).
	Secure bool
	Now    func() time.Time
}

// Mount registers the routes.
func (h *Handler) Mount(r *mux.Router) {
	for _, prefix := range []string{"", "/o/{slug:[a-z0-9-]+}"} {
		r.HandleFunc(prefix+"/login/handoff", h.newDevicePage).Methods(http.MethodGet)
		r.HandleFunc(prefix+"/login/handoff/start", h.start).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/handoff/status", h.status).Methods(http.MethodGet)
		r.HandleFunc(prefix+"/login/handoff/passkey/begin", h.passkeyBegin).Methods(http.MethodPost)
		r.HandleFunc(prefix+"/login/handoff/passkey/finish", h.passkeyFinish).Methods(http.MethodPost)
	}
	r.HandleFunc("/account/handoff", h.enterPage).Methods(http.MethodGet)
	r.HandleFunc("/account/handoff", h.verify).Methods(http.MethodPost)
	r.HandleFunc("/account/handoff/{id}/approve", h.approve).Methods(http.MethodPost)
	r.HandleFunc("/account/handoff/{id}/deny", h.deny).Methods(http.MethodPost)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

func (h *Handler) device(ua string) string {
	if h.Device != nil {
		return h.Device(ua)
	}
	if ua == "" {
		return "Unknown device"
	}
	return "A browser"
}

// target is what the new device signs in to, resolved as the sign-in page resolves it (the
// client decides the organisation).
func (h *Handler) target(r *http.Request, pendingID string) (login.Target, error) {
	return login.Targets{Pending: h.Pending, Clients: h.Clients, Orgs: h.Orgs}.Resolve(r, pendingID)
}

// cookie carries the new device's browser secret: only this browser can poll for and complete
// its handoff. Strict: it is only ever needed by the page's own script calls.
type cookie struct{ secure bool }

func (c cookie) name() string {
	if c.secure {
		return "__Host-portcullis_handoff"
	}
	return "portcullis_handoff"
}

func (c cookie) set(w http.ResponseWriter, v string) {
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: v, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int((CodeLifetime + CompleteWithin).Seconds())})
}

func (c cookie) get(r *http.Request) string {
	ck, err := r.Cookie(c.name())
	if err != nil || len(ck.Value) > 100 {
		return ""
	}
	return ck.Value
}

func (c cookie) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: "", Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (h *Handler) cookie() cookie { return cookie{secure: h.Secure} }

func (h *Handler) record(r *http.Request, e audit.Event) {
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, e))
}

func ipKey(r *http.Request) string {
	addr, _ := netip.ParseAddr(httpx.ClientIP(r))
	return throttle.IPKey("code", addr)
}

func accountKey(userID string) string { return "code:user:" + userID }

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
}
