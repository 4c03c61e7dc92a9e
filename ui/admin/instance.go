package admin

import (
	"net/http"
	"strings"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/ui"
)

// The instance pages (/admin) are for admins of the system organisation: the guard checks the
// session against the system organisation, and the use cases refuse other actors again.

type orgsPage struct {
	ui.Base
	Orgs       []directory.Org
	NextURL    string
	Slug, Name string
	Notice     string
	Error      string
}

func (h *Handler) orgs(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, true)
	if c == nil {
		return
	}
	p := orgsPage{Base: h.base(c, "Organisations", "orgs")}
	if r.URL.Query().Get("done") == "created" {
		p.Notice = "The organisation is created, with passkeys off. Add its first admin with: portcullis users create --org SLUG --role admin."
	}
	h.orgsPage(c, p, http.StatusOK)
}

func (h *Handler) orgsPage(c *call, p orgsPage, status int) {
	list, next, err := h.Service.ListOrgs(c.ctx(), c.actor, adm.Page{Cursor: c.r.URL.Query().Get("cursor"), Limit: adm.DefaultLimit})
	if err != nil {
		h.failed(c, "list organisations", err)
		return
	}
	p.Orgs = list
	if next != "" {
		p.NextURL = "/admin?cursor=" + next
	}
	h.UI.Render(c.w, c.r, status, "admin_orgs", p)
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, true)
	if c == nil {
		return
	}
	slug, name := strings.TrimSpace(r.PostFormValue("slug")), strings.TrimSpace(r.PostFormValue("name"))
	if _, err := h.Service.CreateOrg(c.ctx(), c.actor, slug, name); err != nil {
		if ae, ok := adm.AsError(err); ok && (ae.Kind == adm.KindInvalid || ae.Kind == adm.KindConflict) {
			h.orgsPage(c, orgsPage{Base: h.base(c, "Organisations", "orgs"), Slug: slug, Name: name, Error: problemText(ae)}, http.StatusBadRequest)
			return
		}
		h.failed(c, "create organisation", err)
		return
	}
	h.see(c, "/admin?done=created")
}

type keysPage struct {
	ui.Base
	Keys   []keys.KeyInfo
	Notice string
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, true)
	if c == nil {
		return
	}
	h.keysPage(c, "")
}

func (h *Handler) keysPage(c *call, notice string) {
	list, err := h.Service.SigningKeys(c.ctx(), c.actor)
	if err != nil {
		h.failed(c, "list keys", err)
		return
	}
	h.UI.Render(c.w, c.r, http.StatusOK, "admin_keys", keysPage{Base: h.base(c, "Signing keys", "keys"), Keys: list, Notice: notice})
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, true)
	if c == nil {
		return
	}
	kids, err := h.Service.RotateKeys(c.ctx(), c.actor, r.PostFormValue("alg"))
	if err != nil {
		h.failed(c, "rotate keys", err)
		return
	}
	h.keysPage(c, "Rotated: now signing with "+strings.Join(kids, ", ")+". Other servers switch within 30 seconds.")
}
