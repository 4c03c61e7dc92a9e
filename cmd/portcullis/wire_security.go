package main

import (
	"net/url"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/security"
)

// mountSecurity serves the public security page (/security). rpID and rpName are what build
// gave the passkey service; the rest comes from the same configuration values the other
// components were wired with, so the page states what the server does.
func mountSecurity(r *mux.Router, e *env, orgs *directory.Store, km *keys.Manager, renderer *ui.Renderer, rpID, rpName string) {
	(&security.Handler{Settings: securitySettings(e.cfg, rpID, rpName), Orgs: orgs, Keys: km, UI: renderer}).Mount(r)
}

// securitySettings is the configuration the security page reports.
func securitySettings(cfg Config, rpID, rpName string) security.Settings {
	return security.Settings{
		Issuer: cfg.Issuer, RPID: rpID, RPName: rpName, Origins: passkeyOrigins(cfg),
		SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute,
		PasswordAccount: cfg.Passwords.accountRule(), PasswordIP: cfg.Passwords.ipRule(), Argon2: cfg.Passwords.Argon2,
		// The rules mountHandoff gives the cross-device code.
		CodeAccount: throttle.DefaultCodeAccount(), CodeIP: throttle.DefaultCodeIP(),
		EmailConfigured: cfg.Mail.Host != "", LogLevel: cfg.LogLevel, ListOrgs: cfg.SecurityPageOrgs,
	}
}

// passkeyOrigins are the origins build gives the passkey service: the issuer's own, then the
// configured extra ones.
func passkeyOrigins(cfg Config) []string {
	u, _ := url.Parse(cfg.Issuer)
	return append([]string{u.Scheme + "://" + u.Host}, cfg.RPOrigins...)
}
