package admin

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	adm "github.com/portcullis-id/portcullis/admin"
)

// A user's display name and email, edited on their page (admin.Service.UpdateUser). The email is
// where enrollment and recovery links go, so changing it could hand someone's account to whoever
// reads the new address: the form needs a passkey check from the last five minutes.

// profileView is the profile form.
type profileView struct {
	DisplayName, Email string
}

func (h *Handler) setProfile(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	form := profileView{DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Email: strings.TrimSpace(r.PostFormValue("email"))}
	_, err := h.Service.UpdateUser(c.ctx(), c.actor, mux.Vars(r)["id"],
		adm.UserUpdate{DisplayName: &form.DisplayName, Email: &form.Email})
	if err != nil {
		if ae, ok := adm.AsError(err); ok && (ae.Kind == adm.KindInvalid || ae.Kind == adm.KindConflict) {
			h.userPageWith(c, http.StatusBadRequest, "", problemText(ae), func(p *userPage) { p.Profile = form })
			return
		}
		h.failed(c, "change profile", err)
		return
	}
	h.see(c, h.userURL(c, "profile"))
}
