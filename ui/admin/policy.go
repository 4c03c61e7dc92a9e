package admin

import (
	"net/http"
	"strings"
	"time"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/ui"
)

// policyView is an organisation's passkey policy as the forms write it: the edit form, the
// preview and the hidden fields of the confirm form all use it, so that what is applied is
// exactly what was previewed.
type policyView struct {
	Mode          string
	PasswordsEnd  string // YYYY-MM-DD (UTC) or ""
	RequireUV     bool
	AllowSynced   bool
	AAGUIDs       string // one per line
	RemindAfter   string // a Go duration: 0s, 72h0m0s
	RecoveryCodes bool
}

func describePolicy(p policy.Policy) policyView {
	v := policyView{Mode: string(p.Mode), RequireUV: p.RequireUV, AllowSynced: p.AllowSynced,
		AAGUIDs: strings.Join(p.AllowedAAGUIDs, "\n"), RemindAfter: p.RemindAfter.String(), RecoveryCodes: p.RecoveryCodes}
	if p.PasswordsEndAt != nil {
		v.PasswordsEnd = p.PasswordsEndAt.UTC().Format(time.DateOnly)
	}
	return v
}

// readPolicy reads the policy form. Check boxes post "true"; the confirm form's hidden fields
// post "true" or "false".
func readPolicy(r *http.Request) policyView {
	f := r.PostFormValue
	return policyView{Mode: strings.TrimSpace(f("passkeys")), PasswordsEnd: strings.TrimSpace(f("passwords_end")),
		RequireUV: f("require_user_verification") == "true", AllowSynced: f("allow_synced") == "true",
		AAGUIDs: strings.TrimSpace(f("allowed_aaguids")), RemindAfter: strings.TrimSpace(f("remind_after")),
		RecoveryCodes: f("recovery_codes") == "true"}
}

// apply writes the form onto a policy, naming the field it cannot read.
func (v policyView) apply(p *policy.Policy) error {
	p.Mode = policy.Mode(v.Mode)
	p.PasswordsEndAt = nil
	if v.PasswordsEnd != "" {
		t, err := time.Parse(time.DateOnly, v.PasswordsEnd)
		if err != nil {
			return &adm.Error{Kind: adm.KindInvalid, Code: adm.CodeInvalid, Field: "passwords_end_at", Message: "Give a date such as 2027-03-31, or leave it empty."}
		}
		p.PasswordsEndAt = &t
	}
	p.RequireUV, p.AllowSynced, p.RecoveryCodes = v.RequireUV, v.AllowSynced, v.RecoveryCodes
	p.AllowedAAGUIDs = strings.Fields(v.AAGUIDs)
	p.RemindAfter = 0
	if v.RemindAfter != "" {
		d, err := time.ParseDuration(v.RemindAfter)
		if err != nil || d < 0 {
			return &adm.Error{Kind: adm.KindInvalid, Code: adm.CodeInvalid, Field: "remind_after", Message: "Use 0 (ask at every sign-in) or a duration such as 72h."}
		}
		p.RemindAfter = d
	}
	return nil
}

type policyPage struct {
	ui.Base
	Prefix  string
	Current policyView
	Form    policyView
	Notice  string
	Error   string
	// The preview: who is affected and how, before anything changes.
	Preview bool
	Impact  []string
	Users   int
	// The other settings of the page (settings.go): forms of their own, each applied at once.
	Branding  brandingView
	MinLength string
	Sessions  sessionsView // sessions.go
	// SettingsError is a refused change of branding, password rules or session lifetimes,
	// naming the field.
	SettingsError string
}

func (h *Handler) policy(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	org, err := h.Service.Policy(c.ctx(), c.actor)
	if err != nil {
		h.failed(c, "policy", err)
		return
	}
	cur := describePolicy(org.Policy)
	p := policyPage{Base: h.base(c, "Policy", "policy"), Prefix: c.prefix, Current: cur, Form: cur}
	p.settings(org)
	switch r.URL.Query().Get("done") {
	case "saved":
		p.Notice = "The policy is saved and applies from now on."
	case "branding":
		p.Notice = "The branding is saved: the organisation's sign-in pages show it from now on."
	case "password-rules":
		p.Notice = "The password rules are saved and apply to passwords set from now on."
	case "session-lifetimes":
		p.Notice = "The session lifetimes are saved and apply to sessions started from now on."
	}
	h.UI.Render(w, r, http.StatusOK, "admin_policy", p)
}

// policyPreview shows who the new policy would affect and how (nothing changes yet), with a
// form that applies exactly that policy.
func (h *Handler) policyPreview(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	h.policyChange(c, readPolicy(r), false)
}

func (h *Handler) policyApply(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	h.policyChange(c, readPolicy(r), true)
}

func (h *Handler) policyChange(c *call, form policyView, apply bool) {
	ch, err := h.Service.ChangePolicy(c.ctx(), c.actor, form.apply, apply)
	if err != nil {
		ae, ok := adm.AsError(err)
		if !ok || ae.Kind != adm.KindInvalid {
			h.failed(c, "change policy", err)
			return
		}
		org, err := h.Service.Policy(c.ctx(), c.actor)
		if err != nil {
			h.failed(c, "policy", err)
			return
		}
		p := policyPage{Base: h.base(c, "Policy", "policy"),
			Prefix: c.prefix, Current: describePolicy(org.Policy), Form: form, Error: problemText(ae)}
		p.settings(org)
		h.UI.Render(c.w, c.r, http.StatusBadRequest, "admin_policy", p)
		return
	}
	if apply {
		h.see(c, c.prefix+"/policy?done=saved")
		return
	}
	h.UI.Render(c.w, c.r, http.StatusOK, "admin_policy", policyPage{Base: h.base(c, "Policy: review the change", "policy"),
		Prefix: c.prefix, Current: describePolicy(ch.Previous), Form: describePolicy(ch.Org.Policy), Preview: true,
		Impact: ch.Impact.Lines, Users: ch.Impact.Users})
}
