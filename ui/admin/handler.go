package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// FreshCheck is how recent a passkey check must be for a sensitive action (as on the account page).
const FreshCheck = 5 * time.Minute

// Directory finds organisations and the signed-in user (*directory.Store).
type Directory interface {
	GetOrgBySlug(ctx context.Context, slug string) (directory.Org, error)
	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUsername(ctx context.Context, orgID, username string) (directory.User, error)
}

// Verifier runs the fresh passkey check (*passkey.Service).
type Verifier interface {
	BeginLogin(ctx context.Context, orgID, username string) ([]byte, string, error)
	FinishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (directory.User, passkey.Credential, error)
}

// Ceremonies binds a passkey ceremony to the browser (*login.CeremonyCookie).
type Ceremonies interface {
	Set(w http.ResponseWriter, token string)
	Take(w http.ResponseWriter, r *http.Request) string
}

// Handler serves the admin pages.
type Handler struct {
	Service    *adm.Service
	Recoveries *adm.Recoveries
	Directory  Directory
	Sessions   *session.Manager
	Passkeys   Verifier
	Ceremonies Ceremonies
	Audit      *audit.Log
	UI         *ui.Renderer
	CSRF       *httpx.CSRF
	// Issuer is the public URL apps are configured with.
	Issuer string
	Now    func() time.Time
}

const orgPrefix = "/o/{slug:[a-z0-9-]+}/admin"

// Mount registers the admin routes.
func (h *Handler) Mount(r *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	for _, rt := range []struct {
		method, path string
		fn           http.HandlerFunc
	}{
		{get, "", h.overview},
		{post, "/verify/begin", h.verifyBegin},
		{post, "/verify/finish", h.verifyFinish},
		{get, "/users", h.users},
		{get, "/users/new", h.newUser},
		{post, "/users", h.createUser},
		{get, "/users/{id}", h.user},
		{post, "/users/{id}/status", h.setStatus},
		{post, "/users/{id}/roles", h.setRoles},
		{post, "/users/{id}/profile", h.setProfile},
		{post, "/users/{id}/passkeys/{pid}/remove", h.removePasskey},
		{post, "/users/{id}/sessions/{sid}/end", h.endSession},
		{post, "/users/{id}/recovery", h.startRecovery},
		{post, "/users/{id}/enrollment", h.resendEnrollment},
		{get, "/import", h.importForm},
		{post, "/import", h.importPreview},
		{post, "/import/apply", h.importApply},
		{get, "/apps", h.apps},
		{get, "/apps/new", h.newApp},
		{post, "/apps", h.createApp},
		{get, "/apps/{id}", h.app},
		{get, "/apps/{id}/edit", h.editApp},
		{post, "/apps/{id}/edit", h.saveApp},
		{post, "/apps/{id}/rotate", h.rotateApp},
		{post, "/apps/{id}/delete", h.deleteApp},
		{get, "/policy", h.policy},
		{post, "/policy/preview", h.policyPreview},
		{post, "/policy", h.policyApply},
		{post, "/policy/branding", h.brandingApply},
		{post, "/policy/password-rules", h.passwordRulesApply},
		{post, "/policy/session-lifetimes", h.sessionLifetimesApply},
		{get, "/audit", h.auditLog},
		{get, "/audit/export", h.auditExport},
	} {
		r.HandleFunc(orgPrefix+rt.path, rt.fn).Methods(rt.method)
	}
	r.HandleFunc("/admin", h.orgs).Methods(get)
	r.HandleFunc("/admin/orgs", h.createOrg).Methods(post)
	r.HandleFunc("/admin/keys", h.keys).Methods(get)
	r.HandleFunc("/admin/keys/rotate", h.rotateKeys).Methods(post)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// level is what a request needs beyond an admin's passkey session.
type level int

const (
	view      level = iota // a page
	change                 // a form post: CSRF token
	sensitive              // a form post that also needs a fresh passkey check
	script                 // a call of the WebAuthn helper: CSRF token in a header, JSON answers
)

// call is one admin request that passed the checks.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	org   directory.Org
	user  directory.User
	sess  session.Session
	actor adm.Actor
	// prefix is /o/{slug}/admin of the admin's organisation.
	prefix string
	fresh  bool
}

func (c *call) ctx() context.Context { return c.r.Context() }

// guard checks an admin request for the organisation in the URL (or, with instance, the system
// organisation) and returns it, or answers and returns nil:
//   - an unknown organisation, or one the session does not belong to, is not found (404): an
//     admin of one organisation learns nothing of another;
//   - no session: to the organisation's sign-in page; a session that is not from a passkey
//     sign-in, or a user who is not an admin: refused (403), saying what to do;
//   - a form without its CSRF token, or a sensitive one without a fresh passkey check: refused.
func (h *Handler) guard(w http.ResponseWriter, r *http.Request, need level, instance bool) *call {
	ctx := r.Context()
	slug := mux.Vars(r)["slug"]
	if instance {
		slug = systemSlug
	}
	org, err := h.Directory.GetOrgBySlug(ctx, slug)
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		h.serverError(w, r, need, "load organisation", err)
		return nil
	}
	sess, serr := h.Sessions.Current(r)
	switch {
	case err != nil:
		h.notFound(w, r, need)
		return nil
	case serr != nil:
		h.refuse(w, r, need, http.StatusUnauthorized, "Sign in first", "Sign in with your passkey to open the admin pages.", org.Slug)
		return nil
	case sess.OrgID != org.ID:
		h.record(r, sess, "admin.refused", audit.Failure, map[string]any{"reason": "another organisation", "slug": slug})
		h.notFound(w, r, need)
		return nil
	}
	u, err := h.Directory.GetUser(ctx, sess.UserID)
	if err != nil || !u.Active() {
		h.refuse(w, r, need, http.StatusUnauthorized, "Sign in first", "Sign in with your passkey to open the admin pages.", org.Slug)
		return nil
	}
	if !slices.Contains(u.Roles, roster.AdminRole) {
		h.record(r, sess, "admin.refused", audit.Failure, map[string]any{"reason": "not an admin"})
		h.refuse(w, r, need, http.StatusForbidden, "Not an administrator",
			"Only administrators of "+org.Name+" can open these pages.", "")
		return nil
	}
	if sess.Method != "passkey" {
		// Whatever the organisation's policy: the admin pages change who can get in, so they
		// need the phishing-resistant sign-in.
		h.record(r, sess, "admin.refused", audit.Failure, map[string]any{"reason": "not a passkey sign-in", "method": sess.Method})
		h.refuse(w, r, need, http.StatusForbidden, "Sign in with a passkey",
			"The admin pages need a sign-in with a passkey; a password or a sign-in from another device is not enough. "+
				"Sign in again with your passkey.", org.Slug)
		return nil
	}
	c := &call{w: w, r: r, org: org, user: u, sess: sess, prefix: "/o/" + org.Slug + "/admin",
		actor: adm.UserActor(u.ID, org.ID, httpx.ClientIP(r), r.UserAgent()),
		fresh: h.now().Sub(sess.VerifiedAt) < FreshCheck}
	switch need {
	case change, sensitive:
		if !h.CSRF.Check(r) {
			h.message(c, http.StatusForbidden, "The form expired", "Go back, reload the page and try again.")
			return nil
		}
		if need == sensitive && !c.fresh {
			h.record(r, sess, "admin.refused", audit.Failure, map[string]any{"reason": "no recent passkey check", "path": r.URL.Path})
			h.message(c, http.StatusForbidden, "Confirm it's you first",
				"This change needs a passkey check from the last five minutes. Use “Confirm it's you” above, then go back and try again.")
			return nil
		}
	case script:
		if !h.CSRF.CheckHeader(r) {
			httpx.JSONError(w, http.StatusForbidden, "This page has expired. Reload it and try again.")
			return nil
		}
	}
	return c
}

func (h *Handler) record(r *http.Request, sess session.Session, action, outcome string, details map[string]any) {
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: action, Outcome: outcome, OrgID: sess.OrgID,
		Actor: "user:" + sess.UserID, UserID: sess.UserID, Details: details}))
}

// base is the page frame of an admin page: the admin navigation, the CSRF token and the WebAuthn
// helper, whose "Confirm it's you" comes back to this page (the return path travels as the
// helper's request field).
func (h *Handler) base(c *call, title, section string) ui.Base {
	back := c.r.URL.Path
	if c.r.Method != http.MethodGet {
		back = c.prefix
		if section == "orgs" || section == "keys" {
			back = "/admin"
		}
	}
	return ui.Base{Title: title, CSRFToken: h.CSRF.Token(c.w, c.r), Script: true, SignedIn: true, Wide: true,
		Data:  ui.ScriptData{Finish: c.prefix + "/verify/finish", Request: back},
		Admin: &ui.AdminNav{Prefix: c.prefix, OrgName: c.org.Name, Instance: c.actor.Instance, Current: section, Fresh: c.fresh}}
}

type messagePage struct {
	ui.Base
	Heading, Message string
	LoginURL         string
}

// message shows a refusal or a problem inside the admin frame.
func (h *Handler) message(c *call, status int, heading, msg string) {
	h.UI.Render(c.w, c.r, status, "admin_message", messagePage{Base: h.base(c, heading, ""), Heading: heading, Message: msg})
}

// refuse answers a request that is not an admin's passkey session.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, need level, status int, heading, msg, loginSlug string) {
	if need == script {
		httpx.JSONError(w, status, msg)
		return
	}
	p := messagePage{Base: ui.Base{Title: heading}, Heading: heading, Message: msg}
	if loginSlug != "" {
		p.LoginURL = "/o/" + loginSlug + "/login"
	}
	h.UI.Render(w, r, status, "admin_message", p)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, need level) {
	if need == script {
		httpx.JSONError(w, http.StatusNotFound, "Not found.")
		return
	}
	h.UI.Error(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", "")
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, need level, what string, err error) {
	if need == script {
		httpx.JSONServerError(w, r, what, err)
		return
	}
	httpx.Logger(r.Context()).Error(what, "err", err)
	h.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", httpx.RequestID(r.Context()))
}

// failed answers a use case's error: not found (another organisation's id) as 404, a refusal
// as 403, a request to fix or a conflict with its message; anything else is ours.
func (h *Handler) failed(c *call, what string, err error) {
	ae, ok := adm.AsError(err)
	if !ok {
		h.serverError(c.w, c.r, view, what, err)
		return
	}
	switch ae.Kind {
	case adm.KindNotFound:
		h.notFound(c.w, c.r, view)
	case adm.KindForbidden:
		h.message(c, http.StatusForbidden, "Not allowed", ae.Message)
	case adm.KindConflict:
		h.message(c, http.StatusConflict, "Not done", ae.Message)
	default:
		h.message(c, http.StatusBadRequest, "Not done", problemText(ae))
	}
}

// problemText is an *Error as one sentence for a page, naming the field.
func problemText(ae *adm.Error) string {
	msg := ae.Message
	if ae.Field != "" {
		msg = fieldLabel(ae.Field) + ": " + msg
	}
	return msg
}

func fieldLabel(f string) string {
	if l, ok := map[string]string{"username": "Username", "display_name": "Display name", "email": "Email",
		"roles": "Roles", "redirect_uris": "Redirect URIs", "post_logout_redirect_uris": "Post-logout redirect URIs",
		"grant_types": "Grant types", "scopes": "Scopes", "name": "Name", "slug": "Slug", "valid_for": "Valid for",
		"delivery": "Delivery", "passkeys": "Passkeys", "passwords_end_at": "Passwords end",
		"remind_after": "Remind after", "allowed_aaguids": "Allowed authenticator models", "until": "Until",
		"cursor": "Page", "mode": "Mode", "logo_uri": "Logo URL", "primary_colour": "Primary colour",
		"min_length": "Minimum password length", "idle": "Idle lifetime", "absolute": "Absolute lifetime"}[f]; ok {
		return l
	}
	return f
}

// see redirects to a page of the admin after a successful change.
func (h *Handler) see(c *call, path string) {
	http.Redirect(c.w, c.r, path, http.StatusSeeOther)
}
