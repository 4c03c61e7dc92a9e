package consent

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// Request is a parked authorize request as the consent page sees it.
type Request struct {
	ID     string
	Client clients.Client
	Scopes []string
}

// Requests is the provider's side of the page: the parked request, and where the answer goes.
type Requests interface {
	// ConsentRequest returns a parked request that has not expired, or database.ErrNotFound.
	ConsentRequest(ctx context.Context, id string) (Request, error)
	// AnswerConsent marks the parked request allowed or denied by the user, for the resumed
	// request to act on.
	AnswerConsent(ctx context.Context, id, userID string, allowed bool) error
}

// Sessions is what the page needs of sign-in sessions.
type Sessions interface {
	Current(r *http.Request) (session.Session, error)
}

// Users reads the directory.
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
}

// Handler serves the consent page, /consent?request=<pending id>.
type Handler struct {
	Store    *Store
	Requests Requests
	Sessions Sessions
	Users    Users
	Audit    *audit.Log
	UI       *ui.Renderer
	CSRF     *httpx.CSRF
	Now      func() time.Time
}

// Mount registers the consent page.
func (h *Handler) Mount(r *mux.Router) {
	r.HandleFunc("/consent", h.page).Methods(http.MethodGet)
	r.HandleFunc("/consent", h.answer).Methods(http.MethodPost)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

type consentPage struct {
	ui.Base
	Request string
	App     clients.Client
	User    directory.User
	Scopes  []Scope
}

type continuePage struct {
	ui.Base
	Heading, Message string
}

// resumeURL is where every answer goes: the authorize dispatcher, which decides what comes next.
func resumeURL(id string) string { return "/oauth2/auth/resume?request=" + url.QueryEscape(id) }

// load returns the parked request and the signed-in user it is for. Without a session for the
// client's organisation (expired, signed out in another tab) the dispatcher decides again.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, id string) (Request, directory.User, bool) {
	ctx := r.Context()
	req, err := h.Requests.ConsentRequest(ctx, id)
	if errors.Is(err, database.ErrNotFound) || id == "" {
		h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
			"Go back to the app you were signing in to and start again.", "")
		return Request{}, directory.User{}, false
	}
	if err != nil {
		h.serverError(w, r, "load pending authorize request", err)
		return Request{}, directory.User{}, false
	}
	sess, err := h.Sessions.Current(r)
	if err == nil {
		u, err := h.Users.GetUser(ctx, sess.UserID)
		if err == nil && u.Active() && u.OrgID == req.Client.OrgID {
			return req, u, true
		}
	}
	http.Redirect(w, r, resumeURL(id), http.StatusSeeOther)
	return Request{}, directory.User{}, false
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("request")
	req, u, ok := h.load(w, r, id)
	if !ok {
		return
	}
	if origin := httpsOrigin(req.Client.LogoURI); origin != "" {
		// The logo is the app's own, served from its origin: allow that one origin for images.
		w.Header().Set("Content-Security-Policy", strings.Replace(httpx.CSP, "img-src 'self' data:", "img-src 'self' data: "+origin, 1))
	}
	h.UI.Render(w, r, http.StatusOK, "consent", consentPage{
		Base:    ui.Base{Title: "Allow " + req.Client.Name + "?", CSRFToken: h.CSRF.Token(w, r), SignedIn: true},
		Request: req.ID, App: req.Client, User: u, Scopes: Describe(req.Scopes)})
}

// answer records Allow or Deny. The browser then moves on to the dispatcher by a page that
// continues by itself, not by a redirect: a redirect would end this form submission at the
// client's redirect URI, which the page's CSP (form-action 'self') forbids.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request) {
	if !h.CSRF.Check(r) {
		h.UI.Error(w, r, http.StatusForbidden, "The form expired", "Go back to the app you were signing in to and start again.", "")
		return
	}
	id := r.PostFormValue("request")
	req, u, ok := h.load(w, r, id)
	if !ok {
		return
	}
	allowed := r.PostFormValue("decision") == "allow"
	ctx := r.Context()
	action := "consent.denied"
	if allowed {
		action = "consent.granted"
	}
	err := h.Store.DB.InTx(ctx, func(ctx context.Context) error {
		if allowed {
			if err := h.Store.Grant(ctx, u.ID, req.Client.ID, req.Scopes, h.now()); err != nil {
				return err
			}
		}
		if err := h.Requests.AnswerConsent(ctx, req.ID, u.ID, allowed); err != nil {
			return err
		}
		return h.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: action, OrgID: u.OrgID, Actor: "user:" + u.ID,
			UserID: u.ID, ClientID: req.Client.ID, Details: map[string]any{"scope": strings.Join(req.Scopes, " "), "name": req.Client.Name}}))
	})
	if errors.Is(err, database.ErrNotFound) {
		h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
			"Go back to the app you were signing in to and start again.", "")
		return
	}
	if err != nil {
		h.serverError(w, r, "record consent", err)
		return
	}
	heading, msg := "Allowed", "Continuing to "+req.Client.Name+"…"
	if !allowed {
		heading, msg = "Not allowed", "Returning to "+req.Client.Name+" without access…"
	}
	h.UI.Render(w, r, http.StatusOK, "continue", continuePage{Base: ui.Base{Title: heading, Refresh: resumeURL(req.ID)},
		Heading: heading, Message: msg})
}

// httpsOrigin returns the origin of an https URL, or "".
func httpsOrigin(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return "https://" + u.Host
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
}
