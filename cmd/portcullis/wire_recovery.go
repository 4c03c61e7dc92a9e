package main

import (
	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/store"
	"github.com/portcullis-id/portcullis/ui"
)

// recoveryCodes is the store of users' self-service recovery codes; its hasher has a purpose of
// its own, so a code hash is useless as any other kind of secret.
func recoveryCodes(e *env) *recovery.Codes {
	return &recovery.Codes{DB: e.db, Hasher: e.secret.Hasher("recovery-code")}
}

// recoveryService starts recoveries (the CLI) and handles lost devices (the account page).
func recoveryService(e *env, passkeys recovery.PasskeyRemover, sessions *session.Store, tokens recovery.SessionTokens, auditLog *audit.Log) *recovery.Service {
	return &recovery.Service{DB: e.db, Links: links(e), Sessions: sessions, UserTokens: store.UserTokens{DB: e.db},
		SessionTokens: tokens, Passkeys: passkeys, Audit: auditLog}
}

// mountRecovery serves the recovery link page (/recover/{token}) and the recovery-code page
// (/recover-code, /o/{slug}/recover-code).
func mountRecovery(r *mux.Router, e *env, users *directory.Store, passkeys *passkey.Service, sessions *session.Manager,
	ceremonies *login.CeremonyCookie, auditLog *audit.Log, renderer *ui.Renderer, csrf *httpx.CSRF, prov *provider.Provider,
	limiter *throttle.Limiter) {
	sender, err := newMailer(e.cfg, e.log)
	if err != nil {
		// The settings were validated when loaded; should the sender still fail, recovery works
		// without its notices rather than not at all.
		e.log.Error("recovery: no email notices", "err", err)
		sender = nil
	}
	(&recovery.Handler{DB: e.db, Links: links(e), Users: users, Passkeys: passkeys, Sessions: sessions,
		Ceremonies: ceremonies, Codes: recoveryCodes(e), Limiter: limiter, Audit: auditLog, UI: renderer, CSRF: csrf,
		Mail: sender, Issuer: e.cfg.Issuer, Pending: prov.Pending, Clients: prov.Cache}).Mount(r)
}
