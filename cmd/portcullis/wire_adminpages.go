package main

import (
	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/ui"
	adminui "github.com/portcullis-id/portcullis/ui/admin"
)

// mountAdminPages mounts the server-rendered admin pages (/o/{slug}/admin, /admin) on the same
// administration use cases as the JSON admin API.
func mountAdminPages(r *mux.Router, e *env, prov *provider.Provider, users *directory.Store, links *enroll.Links,
	sessions *session.Manager, passkeys *passkey.Service, ceremonies *login.CeremonyCookie, auditLog *audit.Log,
	renderer *ui.Renderer, csrf *httpx.CSRF) {
	svc := adminService(e, users, links, sessions.Store, auditLog)
	svc.SessionTokens, svc.Passkeys, svc.Keys = prov.Store, passkeys, prov.Keys
	rec := &admin.Recoveries{Service: svc, Recovery: recoveryService(e, passkeys, sessions.Store, prov.Store, auditLog)}
	// The configuration was validated at start-up, so this fails only if the mail settings are
	// unusable; the pages then show links instead of emailing them, and say so in the log.
	if m, err := newUserMailer(e.cfg, e); err != nil {
		e.log.Error("admin pages: email delivery of links is off", "err", err)
	} else {
		svc.Mail = m.enrollment
		if m.smtp {
			rec.Mail = m.sender
		}
	}
	(&adminui.Handler{Service: svc, Recoveries: rec, Directory: users, Sessions: sessions, Passkeys: passkeys,
		Ceremonies: ceremonies, Audit: auditLog, UI: renderer, CSRF: csrf, Issuer: e.cfg.Issuer}).Mount(r)
}
