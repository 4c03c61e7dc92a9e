package admin

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// appTemplate is a starting point for a new app.
type appTemplate struct {
	Key, Name, Type, About, RedirectHint string
}

// appTemplates are the kinds of app an admin starts from. Public clients cannot keep a secret
// and must use PKCE (RFC 8252 for native apps; the provider requires PKCE of every public
// client); a web app with a server keeps a secret.
var appTemplates = []appTemplate{
	{Key: "mobile", Name: "Mobile or desktop app", Type: clients.TypePublic,
		About:        "A native app: public (no secret), signs in with PKCE through the system browser (RFC 8252).",
		RedirectHint: "A private-use scheme in reverse-DNS form (com.example.app:/callback), an https address the app claims, or http://127.0.0.1 for a desktop app."},
	{Key: "web", Name: "Web app", Type: clients.TypeConfidential,
		About:        "An app with a server side: confidential, authenticates with a secret shown once.",
		RedirectHint: "The app's https callback address, e.g. https://app.example.com/callback."},
	{Key: "spa", Name: "Single-page app", Type: clients.TypePublic,
		About:        "An app that runs only in the browser: public (no secret), signs in with PKCE.",
		RedirectHint: "The app's https address that receives the code, e.g. https://app.example.com/callback."},
	{Key: "custom", Name: "Custom", Type: clients.TypeConfidential,
		About: "Choose every setting yourself."},
}

func templateOf(key string) (appTemplate, bool) {
	for _, t := range appTemplates {
		if t.Key == key {
			return t, true
		}
	}
	return appTemplate{}, false
}

// appForm is the new-app form as posted.
type appForm struct {
	Template                         appTemplate
	Name, Type                       string
	RedirectURIs, PostLogoutURIs     string // one per line
	Scopes                           string // space-separated
	Code, Refresh, ClientCredentials bool
	FirstParty, JWTAccessTokens, PAR bool
}

func (f appForm) spec() clients.Spec {
	s := clients.Spec{Name: f.Name, Type: f.Type, RedirectURIs: strings.Fields(f.RedirectURIs),
		PostLogoutRedirectURIs: strings.Fields(f.PostLogoutURIs), Scopes: strings.Fields(f.Scopes),
		FirstParty: f.FirstParty, JWTAccessTokens: f.JWTAccessTokens, RequirePAR: f.PAR, GrantTypes: []string{}}
	for _, g := range []struct {
		on   bool
		name string
	}{{f.Code, clients.GrantAuthorizationCode}, {f.Refresh, clients.GrantRefreshToken}, {f.ClientCredentials, clients.GrantClientCredentials}} {
		if g.on {
			s.GrantTypes = append(s.GrantTypes, g.name)
		}
	}
	if len(s.Scopes) == 0 {
		s.Scopes = nil // the defaults
	}
	return s
}

type appsPage struct {
	ui.Base
	Prefix    string
	Apps      []clients.Client
	Templates []appTemplate
	NextURL   string
	Notice    string
}

func (h *Handler) apps(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	cur := r.URL.Query().Get("cursor")
	list, next, err := h.Service.ListClients(c.ctx(), c.actor, adm.Page{Cursor: cur, Limit: adm.DefaultLimit})
	if err != nil {
		h.failed(c, "list apps", err)
		return
	}
	p := appsPage{Base: h.base(c, "Apps", "apps"), Prefix: c.prefix, Apps: list, Templates: appTemplates}
	if next != "" {
		p.NextURL = c.prefix + "/apps?cursor=" + next
	}
	if r.URL.Query().Get("done") == "deleted" {
		p.Notice = "The app is deleted and every token issued to it revoked."
	}
	h.UI.Render(w, r, http.StatusOK, "admin_apps", p)
}

type newAppPage struct {
	ui.Base
	Prefix string
	Form   appForm
	Error  string
}

func (h *Handler) newApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	t, ok := templateOf(r.URL.Query().Get("template"))
	if !ok {
		h.see(c, c.prefix+"/apps")
		return
	}
	f := appForm{Template: t, Type: t.Type, Code: true, Refresh: true, Scopes: "openid profile email offline_access"}
	h.UI.Render(w, r, http.StatusOK, "admin_app_new", newAppPage{Base: h.base(c, "New app: "+t.Name, "apps"), Prefix: c.prefix, Form: f})
}

func readAppForm(r *http.Request) (appForm, bool) {
	p := r.PostFormValue
	t, ok := templateOf(p("template"))
	f := appForm{Template: t, Name: strings.TrimSpace(p("name")), Type: t.Type, RedirectURIs: p("redirect_uris"),
		PostLogoutURIs: p("post_logout_redirect_uris"), Scopes: p("scopes"), Code: p("grant_code") == "true",
		Refresh: p("grant_refresh") == "true", ClientCredentials: p("grant_client_credentials") == "true",
		FirstParty: p("first_party") == "true", JWTAccessTokens: p("jwt_access_tokens") == "true", PAR: p("require_par") == "true"}
	if t.Key == "custom" {
		f.Type = p("type")
	}
	return f, ok
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	f, ok := readAppForm(r)
	if !ok {
		h.message(c, http.StatusBadRequest, "Not done", "Choose what kind of app to add.")
		return
	}
	if f.Type != clients.TypePublic && !c.fresh {
		// A confidential app is issued a secret: creating one is a secret change.
		h.message(c, http.StatusForbidden, "Confirm it's you first",
			"An app with a secret needs a passkey check from the last five minutes. Use “Confirm it's you” above, then go back and try again.")
		return
	}
	cl, secret, err := h.Service.CreateClient(c.ctx(), c.actor, f.spec())
	if err != nil {
		if ae, ok := adm.AsError(err); ok && ae.Kind == adm.KindInvalid {
			h.UI.Render(w, r, http.StatusBadRequest, "admin_app_new", newAppPage{Base: h.base(c, "New app: "+f.Template.Name, "apps"),
				Prefix: c.prefix, Form: f, Error: problemText(ae)})
			return
		}
		h.failed(c, "create app", err)
		return
	}
	h.appPage(c, cl, secret, "The app is added.")
}

type appPage struct {
	ui.Base
	Prefix       string
	App          clients.Client
	Type         string
	Secret       string
	Notice       string
	Issuer       string
	DiscoveryURL string
}

func (h *Handler) app(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	cl, err := h.Service.GetClient(c.ctx(), c.actor, mux.Vars(r)["id"])
	if err != nil {
		h.failed(c, "get app", err)
		return
	}
	h.appPage(c, cl, "", "")
}

func (h *Handler) appPage(c *call, cl clients.Client, secret, notice string) {
	h.UI.Render(c.w, c.r, http.StatusOK, "admin_app", appPage{Base: h.base(c, cl.Name, "apps"), Prefix: c.prefix, App: cl,
		Type: cl.Type(), Secret: secret, Notice: notice, Issuer: h.Issuer,
		DiscoveryURL: h.Issuer + "/.well-known/openid-configuration"})
}

func (h *Handler) rotateApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	id := mux.Vars(r)["id"]
	secret, err := h.Service.RotateClientSecret(c.ctx(), c.actor, id)
	if err != nil {
		h.failed(c, "rotate secret", err)
		return
	}
	cl, err := h.Service.GetClient(c.ctx(), c.actor, id)
	if err != nil {
		h.failed(c, "get app", err)
		return
	}
	h.appPage(c, cl, secret, "The app has a new secret; the old one no longer works.")
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	if _, err := h.Service.DeleteClient(c.ctx(), c.actor, mux.Vars(r)["id"]); err != nil {
		h.failed(c, "delete app", err)
		return
	}
	h.see(c, c.prefix+"/apps?done=deleted")
}
