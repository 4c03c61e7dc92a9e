package admin

import (
	"net/http"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
)

// The Policy page's session lifetimes form (admin/sessions_settings.go). Longer sessions weaken
// sign-in, so saving needs a passkey check from the last five minutes, like the policy.

// sessionsView is the session lifetimes form: durations as typed, "default" for the server's.
type sessionsView struct {
	Idle, Absolute string
}

func (h *Handler) sessionLifetimesApply(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	form := sessionsView{Idle: r.PostFormValue("session_idle"), Absolute: r.PostFormValue("session_absolute")}
	_, err := h.Service.ChangeSessionLifetimes(c.ctx(), c.actor, func(l *directory.SessionLifetimes) error {
		idle, err := adm.ParseLifetime("idle", form.Idle)
		if err != nil {
			return err
		}
		absolute, err := adm.ParseLifetime("absolute", form.Absolute)
		if err != nil {
			return err
		}
		*l = directory.SessionLifetimes{Idle: idle, Absolute: absolute}
		return nil
	})
	if err != nil {
		h.settingsRefused(c, err, func(p *policyPage) { p.Sessions = form })
		return
	}
	h.see(c, c.prefix+"/policy?done=session-lifetimes")
}
