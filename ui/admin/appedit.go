package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/ui"
)

// editForm is the edit-app form: what an admin may change of an app after creating it. Its
// type, grant types and client authentication stay (change those through the admin API).
type editForm struct {
	Name                                    string
	RedirectURIs, PostLogoutURIs            string // one per line
	Scopes                                  string // space-separated
	FirstParty, JWTAccessTokens, PAR        bool
	AccessLifetime, RefreshLifetime         string // durations as typed; "" is the server's default
	IDLifetime                              string
	LogoURI, PolicyURI, TOSURI              string
	BackchannelURI, FrontchannelURI         string
	BackchannelSession, FrontchannelSession bool
}

func editFormOf(c clients.Client) editForm {
	return editForm{Name: c.Name, RedirectURIs: strings.Join(c.RedirectURIs, "\n"),
		PostLogoutURIs: strings.Join(c.PostLogoutRedirectURIs, "\n"), Scopes: strings.Join(c.Scopes, " "),
		FirstParty: c.FirstParty, JWTAccessTokens: c.JWTAccessTokens, PAR: c.RequirePAR,
		AccessLifetime: showLifetime(c.Lifetimes.AccessToken), RefreshLifetime: showLifetime(c.Lifetimes.RefreshToken),
		IDLifetime: showLifetime(c.Lifetimes.IDToken), LogoURI: c.LogoURI, PolicyURI: c.PolicyURI, TOSURI: c.TOSURI,
		BackchannelURI: c.BackchannelLogoutURI, FrontchannelURI: c.FrontchannelLogoutURI,
		BackchannelSession: c.BackchannelLogoutSessionRequired, FrontchannelSession: c.FrontchannelLogoutSessionRequired}
}

func readEditForm(r *http.Request) editForm {
	p := r.PostFormValue
	on := func(k string) bool { return p(k) == "true" }
	return editForm{Name: p("name"), RedirectURIs: p("redirect_uris"), PostLogoutURIs: p("post_logout_redirect_uris"),
		Scopes: p("scopes"), FirstParty: on("first_party"), JWTAccessTokens: on("jwt_access_tokens"), PAR: on("require_par"),
		AccessLifetime: p("access_token_lifetime"), RefreshLifetime: p("refresh_token_lifetime"), IDLifetime: p("id_token_lifetime"),
		LogoURI: p("logo_uri"), PolicyURI: p("policy_uri"), TOSURI: p("tos_uri"),
		BackchannelURI: p("backchannel_logout_uri"), FrontchannelURI: p("frontchannel_logout_uri"),
		BackchannelSession: on("backchannel_logout_session_required"), FrontchannelSession: on("frontchannel_logout_session_required")}
}

// lifetimes reads the three lifetimes, or names the field that is not a duration.
func (f editForm) lifetimes() (clients.Lifetimes, *adm.Error) {
	var l clients.Lifetimes
	for _, v := range []struct {
		field, raw string
		dst        *time.Duration
	}{
		{"access_token_lifetime", f.AccessLifetime, &l.AccessToken},
		{"refresh_token_lifetime", f.RefreshLifetime, &l.RefreshToken},
		{"id_token_lifetime", f.IDLifetime, &l.IDToken},
	} {
		d, ok := parseLifetime(v.raw)
		if !ok {
			return l, &adm.Error{Kind: adm.KindInvalid, Code: adm.CodeInvalid, Field: v.field,
				Message: "Use a duration such as 15m, 8h or 30d, or leave it empty for the server's default."}
		}
		*v.dst = d
	}
	return l, nil
}

// apply sets what the form edits on a spec; the rest of the app stays as it is.
func (f editForm) apply(s *clients.Spec, l clients.Lifetimes) {
	s.Name, s.RedirectURIs = f.Name, strings.Fields(f.RedirectURIs)
	s.PostLogoutRedirectURIs, s.Scopes = strings.Fields(f.PostLogoutURIs), strings.Fields(f.Scopes)
	s.FirstParty, s.JWTAccessTokens, s.RequirePAR = f.FirstParty, f.JWTAccessTokens, f.PAR
	s.Lifetimes = l
	s.LogoURI, s.PolicyURI, s.TOSURI = f.LogoURI, f.PolicyURI, f.TOSURI
	s.BackchannelLogoutURI, s.FrontchannelLogoutURI = f.BackchannelURI, f.FrontchannelURI
	s.BackchannelLogoutSessionRequired, s.FrontchannelLogoutSessionRequired = f.BackchannelSession, f.FrontchannelSession
}

// parseLifetime reads "" or "0" (the default), a Go duration ("15m", "8h") or a number of days ("30d").
func parseLifetime(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, true
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 3650 {
			return 0, false
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// showLifetime writes a lifetime the way parseLifetime reads it: "" for the default.
func showLifetime(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

type editAppPage struct {
	ui.Base
	Prefix string
	App    clients.Client
	Form   editForm
	Error  string
	Field  string // the field the error is about, marked on the form
}

func (h *Handler) editApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	cl, err := h.Service.GetClient(c.ctx(), c.actor, mux.Vars(r)["id"])
	if err != nil {
		h.failed(c, "get app", err)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "admin_app_edit", editAppPage{Base: h.base(c, "Edit "+cl.Name, "apps"),
		Prefix: c.prefix, App: cl, Form: editFormOf(cl)})
}

// saveApp stores an edited app. It is sensitive: an app's redirect URIs and lifetimes decide
// where tokens go and how long they work, so it needs a fresh passkey check like a new secret.
func (h *Handler) saveApp(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	id := mux.Vars(r)["id"]
	f := readEditForm(r)
	l, bad := f.lifetimes()
	if bad != nil {
		h.editRefused(c, id, f, bad)
		return
	}
	cl, secret, err := h.Service.UpdateClient(c.ctx(), c.actor, id, func(s *clients.Spec) { f.apply(s, l) })
	if err != nil {
		if ae, ok := adm.AsError(err); ok && ae.Kind == adm.KindInvalid {
			h.editRefused(c, id, f, ae)
			return
		}
		h.failed(c, "update app", err)
		return
	}
	h.appPage(c, cl, secret, "The changes are saved.")
}

// editRefused shows the form again as posted, with the problem next to its field.
func (h *Handler) editRefused(c *call, id string, f editForm, ae *adm.Error) {
	cl, err := h.Service.GetClient(c.ctx(), c.actor, id)
	if err != nil {
		h.failed(c, "get app", err)
		return
	}
	h.UI.Render(c.w, c.r, http.StatusBadRequest, "admin_app_edit", editAppPage{Base: h.base(c, "Edit "+cl.Name, "apps"),
		Prefix: c.prefix, App: cl, Form: f, Error: editLabel(ae.Field) + ": " + ae.Message, Field: ae.Field})
}

// editLabel is the label of a field of the edit form, as the page shows it.
func editLabel(field string) string {
	if l, ok := map[string]string{"access_token_lifetime": "Access token lifetime", "refresh_token_lifetime": "Refresh token lifetime",
		"id_token_lifetime": "ID token lifetime", "policy_uri": "Privacy policy URL", "tos_uri": "Terms of service URL",
		"backchannel_logout_uri": "Back-channel logout URI", "frontchannel_logout_uri": "Front-channel logout URI"}[field]; ok {
		return l
	}
	return fieldLabel(field)
}
