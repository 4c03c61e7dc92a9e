package main

import (
	"strings"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/handoff"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/account"
)

// mountHandoff wires the cross-device sign-in code (authn/handoff): the new device's pages under
// /login/handoff and /o/{slug}/login/handoff, the trusted device's under /account/handoff. It
// returns the store, for the janitor (Store.Purge) and the account page (Store.RecentForUser).
// limiter counts code entry (throttle.DefaultCodeAccount per account, DefaultCodeIP per address).
func mountHandoff(r *mux.Router, e *env, passkeys *passkey.Service, sessions *session.Manager, users *directory.Store,
	auditLog *audit.Log, renderer *ui.Renderer, csrf *httpx.CSRF, ceremonies *login.CeremonyCookie,
	pending *provider.PendingStore, clientCache *provider.ClientCache, limiter *throttle.Limiter) *handoff.Store {
	sender, err := newMailer(e.cfg, e.log)
	if err != nil {
		// The settings were validated when loaded; should the sender still fail, the handoff works
		// without its email notice (the account page still lists it) rather than not at all.
		e.log.Error("handoff: no email notices", "err", err)
		sender = nil
	}
	store := handoff.NewStore(e.db, e.secret.Hasher("handoff"), nil)
	(&handoff.Handler{Store: store, Passkeys: passkeys, Sessions: sessions, Pending: pending, Clients: clientCache,
		Orgs: users, Users: users, Ceremonies: ceremonies, Audit: auditLog, UI: renderer, CSRF: csrf,
		Limiter: limiter, Account: throttle.DefaultCodeAccount(), IP: throttle.DefaultCodeIP(),
		Mail: sender, AccountURL: strings.TrimSuffix(e.cfg.Issuer, "/") + "/account", Device: account.Device,
		Secure: strings.HasPrefix(e.cfg.Issuer, "https://")}).Mount(r)
	return store
}
