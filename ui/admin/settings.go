package admin

import (
	"net/http"
	"strconv"
	"strings"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
)

// The Policy page's branding and password-rules forms (admin/settings.go). Each is applied at
// once (nothing to preview: no one's access changes) and is sensitive, so it needs a passkey
// check from the last five minutes, like applying the policy.

// brandingView is the branding form.
type brandingView struct {
	Name, LogoURI, Colour string
}

func (p *policyPage) settings(org directory.Org) {
	b := org.Branding
	p.Branding = brandingView{Name: b.DisplayName, LogoURI: b.LogoURI, Colour: b.PrimaryColour}
	p.MinLength = strconv.Itoa(org.Passwords.MinLength)
	p.Sessions = sessionsView{Idle: adm.LifetimeText(org.Sessions.Idle), Absolute: adm.LifetimeText(org.Sessions.Absolute)}
}

func (h *Handler) brandingApply(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	form := brandingView{Name: r.PostFormValue("brand_name"), LogoURI: r.PostFormValue("brand_logo_uri"),
		Colour: r.PostFormValue("brand_colour")}
	_, err := h.Service.ChangeBranding(c.ctx(), c.actor, func(b *directory.Branding) error {
		*b = directory.Branding{DisplayName: form.Name, LogoURI: form.LogoURI, PrimaryColour: form.Colour}
		return nil
	})
	if err != nil {
		h.settingsRefused(c, err, func(p *policyPage) { p.Branding = form })
		return
	}
	h.see(c, c.prefix+"/policy?done=branding")
}

func (h *Handler) passwordRulesApply(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	raw := strings.TrimSpace(r.PostFormValue("min_length"))
	_, err := h.Service.ChangePasswordRules(c.ctx(), c.actor, func(p *directory.PasswordRules) error {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return &adm.Error{Kind: adm.KindInvalid, Code: adm.CodeInvalid, Field: "min_length", Message: "Give a number of characters, such as 14."}
		}
		p.MinLength = n
		return nil
	})
	if err != nil {
		h.settingsRefused(c, err, func(p *policyPage) { p.MinLength = raw })
		return
	}
	h.see(c, c.prefix+"/policy?done=password-rules")
}

// settingsRefused shows the Policy page again with the refusal (naming the field) and what the
// admin typed, or answers another error as failed does.
func (h *Handler) settingsRefused(c *call, err error, keep func(*policyPage)) {
	ae, ok := adm.AsError(err)
	if !ok || ae.Kind != adm.KindInvalid {
		h.failed(c, "change settings", err)
		return
	}
	org, err := h.Service.Policy(c.ctx(), c.actor)
	if err != nil {
		h.failed(c, "policy", err)
		return
	}
	cur := describePolicy(org.Policy)
	p := policyPage{Base: h.base(c, "Policy", "policy"), Prefix: c.prefix, Current: cur, Form: cur, SettingsError: problemText(ae)}
	p.settings(org)
	keep(&p)
	h.UI.Render(c.w, c.r, http.StatusBadRequest, "admin_policy", p)
}
