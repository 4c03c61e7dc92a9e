package admin

import (
	"net/http"
	"strings"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/ui"
)

type overviewPage struct {
	ui.Base
	Prefix   string
	Org      directory.Org
	Adoption rollout.Adoption
	Policy   policyView
	Events   []eventView
}

// recentEvents is how many security events the overview lists.
const recentEvents = 10

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	ad, err := h.Service.Adoption(c.ctx(), c.actor)
	if err != nil {
		h.failed(c, "adoption", err)
		return
	}
	org, err := h.Service.Policy(c.ctx(), c.actor)
	if err != nil {
		h.failed(c, "policy", err)
		return
	}
	// Every admin read is audited too; the overview lists what changed or who signed in, so
	// it reads a few pages' worth and leaves the reads out.
	list, _, err := h.Service.AuditEvents(c.ctx(), c.actor, adm.AuditFilter{}, adm.Page{Limit: adm.MaxLimit})
	if err != nil {
		h.failed(c, "recent events", err)
		return
	}
	p := overviewPage{Base: h.base(c, "Overview", "overview"), Prefix: c.prefix, Org: org, Adoption: ad,
		Policy: describePolicy(org.Policy)}
	for _, e := range list {
		if len(p.Events) == recentEvents {
			break
		}
		if !isRead(e.Action) {
			p.Events = append(p.Events, eventOf(e))
		}
	}
	h.UI.Render(w, r, http.StatusOK, "admin_overview", p)
}

// isRead reports the audit actions of looking, not changing or signing in.
func isRead(action string) bool {
	for _, suffix := range []string{".listed", ".viewed", ".queried", ".previewed", ".exported", ".import_previewed"} {
		if strings.HasSuffix(action, suffix) {
			return true
		}
	}
	return action == "admin.refused"
}

// eventView is an audit event as the pages list it.
type eventView struct {
	audit.Stored
	Failed bool
}

func eventOf(e audit.Stored) eventView {
	return eventView{Stored: e, Failed: e.Outcome == audit.Failure}
}
