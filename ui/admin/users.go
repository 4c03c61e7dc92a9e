package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/account"
)

// usersPerPage is the length of one page of the users list.
const usersPerPage = 50

type usersPage struct {
	ui.Base
	Prefix        string
	Query, Status string
	Users         []directory.User
	// NextURL is the next page's address ("" on the last page); FirstURL returns to the start.
	NextURL, FirstURL string
}

func (h *Handler) users(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	q := r.URL.Query()
	f := adm.UserFilter{Query: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	list, next, err := h.Service.ListUsers(c.ctx(), c.actor, f, adm.Page{Cursor: q.Get("cursor"), Limit: usersPerPage})
	if err != nil {
		h.failed(c, "list users", err)
		return
	}
	p := usersPage{Base: h.base(c, "Users", "users"), Prefix: c.prefix, Query: f.Query, Status: f.Status, Users: list}
	keep := url.Values{}
	if f.Query != "" {
		keep.Set("q", f.Query)
	}
	if f.Status != "" {
		keep.Set("status", f.Status)
	}
	if q.Get("cursor") != "" {
		p.FirstURL = c.prefix + "/users?" + keep.Encode()
	}
	if next != "" {
		keep.Set("cursor", next)
		p.NextURL = c.prefix + "/users?" + keep.Encode()
	}
	h.UI.Render(w, r, http.StatusOK, "admin_users", p)
}

type newUserPage struct {
	ui.Base
	Prefix                       string
	Username, DisplayName, Email string
	Roles                        string
	SendEmail                    bool
	Error                        string
}

func (h *Handler) newUser(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	h.UI.Render(w, r, http.StatusOK, "admin_user_new", newUserPage{Base: h.base(c, "Add a user", "users"), Prefix: c.prefix, SendEmail: true})
}

// splitRoles reads a comma- or space-separated list of roles.
func splitRoles(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t' })
}

// linkPage shows a freshly issued link once (enrollment or recovery), or says it was emailed.
type linkPage struct {
	ui.Base
	Prefix    string
	Heading   string
	User      directory.User
	Kind      string // "enrollment" or "recovery"
	URL       string
	Emailed   bool
	ExpiresAt time.Time
	Facts     []string
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	f := r.PostFormValue
	n := adm.NewUser{Username: strings.TrimSpace(f("username")), DisplayName: strings.TrimSpace(f("display_name")),
		Email: strings.TrimSpace(f("email")), Roles: splitRoles(f("roles")), SendEmail: f("send_email") == "true"}
	if len(n.Roles) > 0 && !c.fresh {
		// Giving roles (admin above all) is a role change.
		h.message(c, http.StatusForbidden, "Confirm it's you first",
			"Adding a user with roles needs a passkey check from the last five minutes. Use “Confirm it's you” above, then go back and try again.")
		return
	}
	u, en, err := h.Service.CreateUser(c.ctx(), c.actor, n)
	if err != nil {
		if ae, ok := adm.AsError(err); ok && (ae.Kind == adm.KindInvalid || ae.Kind == adm.KindConflict) {
			h.UI.Render(w, r, http.StatusBadRequest, "admin_user_new", newUserPage{Base: h.base(c, "Add a user", "users"),
				Prefix: c.prefix, Username: n.Username, DisplayName: n.DisplayName, Email: n.Email, Roles: f("roles"),
				SendEmail: n.SendEmail, Error: problemText(ae)})
			return
		}
		h.failed(c, "create user", err)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "admin_link", linkPage{Base: h.base(c, "User added", "users"), Prefix: c.prefix,
		Heading: "User added", User: u, Kind: "enrollment", URL: shownURL(en), Emailed: en.Emailed, ExpiresAt: en.ExpiresAt})
}

func shownURL(en adm.Enrollment) string {
	if en.Emailed {
		return ""
	}
	return en.URL
}

type userPage struct {
	ui.Base
	Prefix   string
	User     directory.User
	Roles    string
	IsAdmin  bool
	Passkeys []passkeyView
	Sessions []sessionView
	Self     bool
	Notice   string
	Error    string
	CanEmail bool
	// Profile is the display name and email form (profile.go): the user's, or what the admin
	// typed when it was refused.
	Profile profileView
}

type passkeyView struct {
	passkey.Credential
	Kind string
}

type sessionView struct {
	session.Session
	Device  string
	Current bool
}

func (h *Handler) user(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	h.userPage(c, http.StatusOK, userNotice(r.URL.Query().Get("done")), "")
}

func userNotice(code string) string {
	return map[string]string{"disabled": "The user is disabled: their sessions are ended and their tokens revoked.",
		"enabled": "The user is enabled.", "roles": "Roles saved.", "passkey": "The passkey is revoked.",
		"session": "The session is ended and its tokens revoked.",
		"profile": "The display name and email are saved."}[code]
}

// userPage renders a user's page with a notice or an error.
func (h *Handler) userPage(c *call, status int, notice, errMsg string) {
	h.userPageWith(c, status, notice, errMsg, nil)
}

// userPageWith is userPage with keep changing the page before it is shown.
func (h *Handler) userPageWith(c *call, status int, notice, errMsg string, keep func(*userPage)) {
	id := mux.Vars(c.r)["id"]
	u, err := h.Service.GetUser(c.ctx(), c.actor, id)
	if err != nil {
		h.failed(c, "get user", err)
		return
	}
	creds, _, err := h.Service.ListPasskeys(c.ctx(), c.actor, id, adm.Page{Limit: adm.MaxLimit})
	if err != nil {
		h.failed(c, "list passkeys", err)
		return
	}
	sessions, _, err := h.Service.ListSessions(c.ctx(), c.actor, id, adm.Page{Limit: adm.MaxLimit})
	if err != nil {
		h.failed(c, "list sessions", err)
		return
	}
	p := userPage{Base: h.base(c, u.Username, "users"), Prefix: c.prefix, User: u, Roles: strings.Join(u.Roles, ", "),
		Self: u.ID == c.user.ID, Notice: notice, Error: errMsg,
		CanEmail: recovery.Emailable(u) && h.Recoveries != nil && h.Recoveries.Mail != nil,
		Profile:  profileView{DisplayName: u.DisplayName, Email: u.Email}}
	for _, role := range u.Roles {
		p.IsAdmin = p.IsAdmin || role == roster.AdminRole
	}
	for _, cr := range creds {
		kind := "Device-bound"
		if cr.Synced() {
			kind = "Synced"
		}
		p.Passkeys = append(p.Passkeys, passkeyView{Credential: cr, Kind: kind})
	}
	for _, s := range sessions {
		p.Sessions = append(p.Sessions, sessionView{Session: s, Device: account.Device(s.UserAgent), Current: s.ID == c.sess.ID})
	}
	if keep != nil {
		keep(&p)
	}
	h.UI.Render(c.w, c.r, status, "admin_user", p)
}

// userFailed answers a failed action on a user's page: a problem the admin can fix is shown on
// the page; anything else as failed does.
func (h *Handler) userFailed(c *call, what string, err error) {
	if ae, ok := adm.AsError(err); ok && (ae.Kind == adm.KindInvalid || ae.Kind == adm.KindConflict) {
		h.userPage(c, http.StatusConflict, "", problemText(ae))
		return
	}
	h.failed(c, what, err)
}

func (h *Handler) userURL(c *call, done string) string {
	return c.prefix + "/users/" + url.PathEscape(mux.Vars(c.r)["id"]) + "?done=" + done
}

func (h *Handler) setStatus(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	status := r.PostFormValue("status")
	if _, err := h.Service.UpdateUser(c.ctx(), c.actor, mux.Vars(r)["id"], adm.UserUpdate{Status: &status}); err != nil {
		h.userFailed(c, "set status", err)
		return
	}
	done := "enabled"
	if status == directory.StatusDisabled {
		done = "disabled"
	}
	h.see(c, h.userURL(c, done))
}

func (h *Handler) setRoles(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	roles := splitRoles(r.PostFormValue("roles"))
	if _, err := h.Service.UpdateUser(c.ctx(), c.actor, mux.Vars(r)["id"], adm.UserUpdate{Roles: &roles}); err != nil {
		h.userFailed(c, "set roles", err)
		return
	}
	h.see(c, h.userURL(c, "roles"))
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	v := mux.Vars(r)
	if err := h.Service.RemovePasskey(c.ctx(), c.actor, v["id"], v["pid"]); err != nil {
		h.userFailed(c, "remove passkey", err)
		return
	}
	h.see(c, h.userURL(c, "passkey"))
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	v := mux.Vars(r)
	if err := h.Service.EndSession(c.ctx(), c.actor, v["id"], v["sid"]); err != nil {
		h.userFailed(c, "end session", err)
		return
	}
	h.see(c, h.userURL(c, "session"))
}

func (h *Handler) startRecovery(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	if h.Recoveries == nil {
		h.message(c, http.StatusNotImplemented, "Not available", "Account recovery is not set up on this server.")
		return
	}
	f := r.PostFormValue
	req := adm.RecoveryRequest{Delivery: f("delivery"), KeepPasskeys: f("keep_passkeys") == "true"}
	if v := f("valid_for"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			h.userPage(c, http.StatusBadRequest, "", "Valid for: use a duration such as 24h.")
			return
		}
		req.ValidFor = d
	}
	st, err := h.Recoveries.Start(c.ctx(), c.actor, mux.Vars(r)["id"], req)
	if err != nil {
		h.userFailed(c, "start recovery", err)
		return
	}
	facts := []string{plural(int(st.PasskeysRemoved), "passkey", "passkeys") + " removed",
		plural(st.SessionsEnded, "session", "sessions") + " ended", plural(int(st.TokensRevoked), "token", "tokens") + " revoked"}
	h.UI.Render(w, r, http.StatusOK, "admin_link", linkPage{Base: h.base(c, "Recovery started", "users"), Prefix: c.prefix,
		Heading: "Recovery started", User: st.User, Kind: "recovery", URL: st.URL, Emailed: st.Emailed, ExpiresAt: st.ExpiresAt, Facts: facts})
}

func (h *Handler) resendEnrollment(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	id := mux.Vars(r)["id"]
	en, err := h.Service.ResendEnrollment(c.ctx(), c.actor, id, r.PostFormValue("send_email") == "true", 0)
	if err != nil {
		h.userFailed(c, "resend enrollment", err)
		return
	}
	u, err := h.Service.GetUser(c.ctx(), c.actor, id)
	if err != nil {
		h.failed(c, "get user", err)
		return
	}
	h.UI.Render(w, r, http.StatusOK, "admin_link", linkPage{Base: h.base(c, "New enrollment link", "users"), Prefix: c.prefix,
		Heading: "New enrollment link", User: u, Kind: "enrollment", URL: shownURL(en), Emailed: en.Emailed, ExpiresAt: en.ExpiresAt})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
