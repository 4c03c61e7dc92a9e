package api

import (
	"mime"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	p, ok := page(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	users, next, err := h.Service.ListUsers(r.Context(), a, admin.UserFilter{Query: q.Get("q"), Status: q.Get("status")}, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, users, next, viewUser)
}

type createUserBody struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Roles       []string `json:"roles"`
	SendEmail   bool     `json:"send_email"`
	ValidFor    string   `json:"valid_for"`
}

type createdUserView struct {
	User userView `json:"user"`
	enrollmentView
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b createUserBody
	if !decode(w, r, &b, false) {
		return
	}
	validFor, ok := duration(w, "valid_for", b.ValidFor)
	if !ok {
		return
	}
	u, en, err := h.Service.CreateUser(r.Context(), a, admin.NewUser{Username: b.Username, DisplayName: b.DisplayName,
		Email: b.Email, Roles: b.Roles, SendEmail: b.SendEmail, ValidFor: validFor})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, createdUserView{User: viewUser(u), enrollmentView: viewEnrollment(en)})
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	u, err := h.Service.GetUser(r.Context(), a, mux.Vars(r)["id"])
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewUser(u))
}

type updateUserBody struct {
	DisplayName *string   `json:"display_name"`
	Email       *string   `json:"email"`
	Roles       *[]string `json:"roles"`
	Status      *string   `json:"status"`
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b updateUserBody
	if !decode(w, r, &b, false) {
		return
	}
	u, err := h.Service.UpdateUser(r.Context(), a, mux.Vars(r)["id"], admin.UserUpdate{DisplayName: b.DisplayName,
		Email: b.Email, Roles: b.Roles, Status: b.Status})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewUser(u))
}

type linkBody struct {
	SendEmail bool   `json:"send_email"`
	ValidFor  string `json:"valid_for"`
}

func (h *Handler) enrollmentLink(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b linkBody
	if !decode(w, r, &b, true) {
		return
	}
	validFor, ok := duration(w, "valid_for", b.ValidFor)
	if !ok {
		return
	}
	en, err := h.Service.ResendEnrollment(r.Context(), a, mux.Vars(r)["id"], b.SendEmail, validFor)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, viewEnrollment(en))
}

type importedView struct {
	UserID        string `json:"user_id"`
	Username      string `json:"username"`
	EnrollmentURL string `json:"enrollment_url,omitempty"`
	Delivery      string `json:"delivery"` // "shown" or "email"
}

type importView struct {
	DryRun   bool           `json:"dry_run"`
	Mode     string         `json:"mode"`
	Summary  []string       `json:"summary"`
	Created  []importedView `json:"created"`
	Updated  int            `json:"updated"`
	Enabled  int            `json:"enabled"`
	Disabled int            `json:"disabled"`
}

// importUsers applies a CSV body (text/csv) of joiners and leavers; ?dry_run=true only says what
// would change.
func (h *Handler) importUsers(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the file as text/csv.", "")
		return
	}
	q := r.URL.Query()
	mode := roster.ModeJoiners
	if v := q.Get("mode"); v != "" {
		m, err := roster.ParseMode(v)
		if err != nil {
			badField(w, "mode", "Use joiners, leavers or full-sync.")
			return
		}
		mode = m
	}
	dryRun, ok := boolParam(w, r, "dry_run")
	if !ok {
		return
	}
	send, ok := boolParam(w, r, "send_email")
	if !ok {
		return
	}
	res, err := h.Service.ImportCSV(r.Context(), a, r.Body, admin.Import{Mode: mode, DryRun: dryRun, SendEmail: send})
	if err != nil {
		fail(w, r, err)
		return
	}
	out := importView{DryRun: res.DryRun, Mode: string(res.Mode), Summary: nonNil(res.Summary), Created: []importedView{},
		Updated: res.Updated, Enabled: res.Enabled, Disabled: res.Disabled}
	for _, c := range res.Created {
		iv := importedView{UserID: c.User.ID, Username: c.User.Username, EnrollmentURL: c.Enrollment.URL, Delivery: "shown"}
		if c.Enrollment.Emailed {
			iv.Delivery, iv.EnrollmentURL = "email", ""
		}
		out.Created = append(out.Created, iv)
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (h *Handler) listPasskeys(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	p, ok := page(w, r)
	if !ok {
		return
	}
	list, next, err := h.Service.ListPasskeys(r.Context(), a, mux.Vars(r)["id"], p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, list, next, viewPasskey)
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	v := mux.Vars(r)
	if err := h.Service.RemovePasskey(r.Context(), a, v["id"], v["pid"]); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	p, ok := page(w, r)
	if !ok {
		return
	}
	list, next, err := h.Service.ListSessions(r.Context(), a, mux.Vars(r)["id"], p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, list, next, viewSession)
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	v := mux.Vars(r)
	if err := h.Service.EndSession(r.Context(), a, v["id"], v["sid"]); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
