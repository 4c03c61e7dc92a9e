package main

import (
	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/admin/api"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/store"
)

// adminService builds the administration use cases on the environment; the server passes what
// only it has (the passkey service, the provider's token store).
func adminService(e *env, users *directory.Store, links *enroll.Links, sessions *session.Store, auditLog *audit.Log) *admin.Service {
	return &admin.Service{DB: e.db, Directory: users, Links: links, Sessions: sessions,
		UserTokens: store.UserTokens{DB: e.db}, Clients: clients.NewStore(e.db),
		ClientSecrets: e.secret.Hasher("client-secret"), Audit: auditLog, Issuer: e.cfg.Issuer}
}

// mountAdmin mounts the JSON admin API (/api/admin/v1).
func mountAdmin(r *mux.Router, e *env, prov *provider.Provider, users *directory.Store, links *enroll.Links,
	sessions *session.Store, passkeys *passkey.Service, auditLog *audit.Log) {
	svc := adminService(e, users, links, sessions, auditLog)
	svc.SessionTokens, svc.Passkeys, svc.Keys = prov.Store, passkeys, prov.Keys
	// The configuration was validated at start-up, so this fails only if the mail settings are
	// unusable; the API then hands links over instead of emailing them, and says so in the log.
	rec := &admin.Recoveries{Service: svc, Recovery: recoveryService(e, passkeys, sessions, prov.Store, auditLog)}
	if m, err := newUserMailer(e.cfg, e); err != nil {
		e.log.Error("admin API: email delivery of enrollment and recovery links is off", "err", err)
	} else {
		svc.Mail = m.enrollment
		if m.smtp {
			rec.Mail = m.sender
		}
	}
	(&api.Handler{Service: svc, Recoveries: rec, Tokens: prov, Clients: prov.Clients, Audit: auditLog}).Mount(r)
}
