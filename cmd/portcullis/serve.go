package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/handoff"
	"github.com/portcullis-id/portcullis/authn/login"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/health"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/metrics"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/ui"
	"github.com/portcullis-id/portcullis/ui/account"
)

var serveKeys = append(append([]string{"addr", "issuer", "database", "secret-file", "log-format", "log-level", "no-migrate",
	"session-idle", "session-absolute", "rp-id", "rp-origin", "rp-name", "metrics-addr", "trusted-proxy", "sign-in-rate-limit", "security-page-orgs"}, mailKeys...), passwordKeys...)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	cfg, err := loadConfig(fs, args, serveKeys...)
	if err != nil {
		return err
	}
	tuneRuntime()
	e, err := openEnv(ctx, cfg, stderr, !cfg.NoMigrate)
	if err != nil {
		return err
	}
	defer e.db.Close()
	app, err := build(ctx, e)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// First run: until an administrator exists, print a single-use link to create one.
	if link, err := issueSetupLink(ctx, e); err != nil {
		return err
	} else if link != "" {
		fmt.Fprintf(stderr, "\nNo administrator yet. Open this link within %s to create one: %s\n\n", SetupLinkValidity, link)
	}
	return app.serve(ctx, ln)
}

// app is the wired server.
type app struct {
	log      *slog.Logger
	handler  http.Handler
	keys     *keys.Manager
	provider *provider.Provider
	passkeys *passkey.Service
	sessions *session.Store
	links    *enroll.Links
	throttle *throttle.Limiter
	handoffs *handoff.Store
	// metrics is served on its own listener when metrics-addr is set.
	metrics     http.Handler
	metricsAddr string
}

// build wires every component; it is the only place that knows them all.
func build(ctx context.Context, e *env) (*app, error) {
	https := strings.HasPrefix(e.cfg.Issuer, "https://")
	km := keys.NewManager(e.db, e.secret.Sealer("signing-keys"), keys.Options{RetiredPublishFor: provider.RetiredKeyPublish})
	if err := km.Ensure(ctx); err != nil {
		return nil, err
	}
	renderer, err := ui.New()
	if err != nil {
		return nil, err
	}
	clientStore := clients.NewStore(e.db)
	users := directory.NewStore(e.db)
	sessions := &session.Manager{Store: session.NewStore(e.db, e.secret.Hasher("session")), Secure: https,
		Idle: e.cfg.SessionIdle, Absolute: e.cfg.SessionAbsolute, Lifetimes: users.SessionLifetimesFor}
	m := metrics.New(e.db.SQL())
	auditLog := &audit.Log{DB: e.db, Logger: e.log, Observe: m.Audited}
	csrf := &httpx.CSRF{Key: e.secret.Key("csrf"), Secure: https}
	prov := provider.New(provider.Deps{
		Issuer: e.cfg.Issuer, DB: e.db, Secret: e.secret, Keys: km, Clients: clientStore, Users: users,
		Sessions: sessions, Audit: auditLog, UI: renderer, CSRF: csrf, Log: e.log,
	})

	u, _ := url.Parse(e.cfg.Issuer)
	rpID := e.cfg.RPID
	if rpID == "" {
		rpID = u.Hostname()
	}
	rpName := e.cfg.RPName
	if rpName == "" {
		rpName = "Portcullis"
	}
	passkeys, err := passkey.New(passkey.Config{RPID: rpID, RPDisplayName: rpName, Policies: users,
		Origins: append([]string{u.Scheme + "://" + u.Host}, e.cfg.RPOrigins...)}, e.db, e.secret.Hasher("passkey"), users)
	if err != nil {
		return nil, err
	}
	ceremonies := &login.CeremonyCookie{Secure: https}
	hasher, err := password.NewHasher(e.cfg.Passwords.Argon2)
	if err != nil {
		return nil, &configError{"password", err.Error()}
	}
	limiter := throttle.New(e.db, nil)

	prov.OnTokenIssued = m.TokenIssued
	sessions.Store.OnEnd = prov.Logout.OnEnd // every ended session queues its back-channel logout tokens
	r := mux.NewRouter()
	r.Use(m.Middleware)
	prov.Mount(r)
	(&login.Handler{Passkeys: passkeys, Sessions: sessions, Pending: prov.Pending, Clients: prov.Cache, Orgs: users,
		Users: users, Audit: auditLog, UI: renderer, CSRF: csrf, Cookies: ceremonies,
		Passwords: &login.Passwords{Hasher: hasher, Limiter: limiter, Account: e.cfg.Passwords.accountRule(),
			IP: e.cfg.Passwords.ipRule()},
		Steps: &login.StepCookie{Sealer: e.secret.Sealer("signin-step"), Secure: https}}).Mount(r)
	links := &enroll.Links{DB: e.db, Hasher: e.secret.Hasher("link")}
	(&enroll.Handler{DB: e.db, Links: links, Users: users,
		Passkeys: passkeys, Sessions: sessions, Ceremonies: ceremonies, Audit: auditLog, UI: renderer, CSRF: csrf,
		Passwords: hasher}).Mount(r)
	handoffs := mountHandoff(r, e, passkeys, sessions, users, auditLog, renderer, csrf, ceremonies, prov.Pending, prov.Cache, limiter)
	(&account.Handler{Tokens: prov.Store, Users: users, Passkeys: passkeys, Sessions: sessions, Ceremonies: ceremonies, Audit: auditLog,
		UI: renderer, CSRF: csrf, Codes: recoveryCodes(e), Lost: recoveryService(e, passkeys, sessions.Store, prov.Store, auditLog),
		Handoffs: handoffs, Apps: prov.Consent, FrontChannel: prov.Logout.FrontChannel}).Mount(r)
	mountAdmin(r, e, prov, users, links, sessions.Store, passkeys, auditLog)
	mountRecovery(r, e, users, passkeys, sessions, ceremonies, auditLog, renderer, csrf, prov, limiter)
	mountSecurity(r, e, users, km, renderer, rpID, rpName)
	mountAdminPages(r, e, prov, users, links, sessions, passkeys, ceremonies, auditLog, renderer, csrf)
	(&health.Handler{DB: e.db, Version: version}).Mount(r)
	ui.MountStatic(r)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		renderer.Error(w, req, http.StatusNotFound, "Page not found", "There is nothing at this address.", "")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		renderer.Error(w, req, http.StatusMethodNotAllowed, "Not allowed", "This address does not accept that kind of request.", "")
	})
	// Each request reads an organisation at most once (directory.WithOrgMemo).
	memo := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req.WithContext(directory.WithOrgMemo(req.Context())))
	})
	proxies, err := httpx.ParseTrustedProxies(e.cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	limited := signInRateLimit(e.cfg.SignInRateLimit, auditLog, renderer, memo)
	// The client's address is resolved first, for everything after it (audit, sessions, limits).
	h := httpx.ClientAddresses(proxies, httpx.Middleware(e.log, httpx.SecurityHeaders(httpx.LimitBody(1<<20, limited))))
	return &app{log: e.log, handler: h, keys: km, provider: prov, passkeys: passkeys, sessions: sessions.Store, links: links,
		throttle: limiter, handoffs: handoffs, metrics: m.Handler(), metricsAddr: e.cfg.MetricsAddr}, nil
}

// serve runs until ctx ends, then stops accepting connections and lets in-flight requests finish.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		// Requests keep running to completion during shutdown: their context is not the signal's.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go a.janitor(bgCtx)
	defer a.provider.Logout.Start(bgCtx)() // back-channel logout deliveries; stopped before the database closes
	stopMetrics, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("portcullis listening", "addr", ln.Addr().String(), "version", version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Every request has finished: flush the token writer before the database closes.
	if err := a.provider.Store.Close(); err != nil {
		a.log.Warn("close token store", "err", err)
	}
	a.log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics on the metrics listener, when one is configured: apart from the
// public listener, so that only the monitoring network sees how the instance is used.
func (a *app) serveMetrics() (stop func(), err error) {
	if a.metricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", a.metricsAddr, err)
	}
	mx := http.NewServeMux()
	mx.Handle("GET /metrics", a.metrics)
	srv := &http.Server{Handler: mx, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener", "err", err)
		}
	}()
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// janitor removes expired rows and keys in the background.
func (a *app) janitor(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.provider.Store.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge expired tokens", "err", err)
		} else if n > 0 {
			a.log.Debug("purged expired tokens", "rows", n)
		}
		// Ended sessions and dead links stay 30 days (visible to support), then go.
		monthAgo := time.Now().Add(-30 * 24 * time.Hour)
		if _, err := a.sessions.Purge(ctx, monthAgo); err != nil && ctx.Err() == nil {
			a.log.Warn("purge old sessions", "err", err)
		}
		if _, err := a.links.Purge(ctx, monthAgo); err != nil && ctx.Err() == nil {
			a.log.Warn("purge old links", "err", err)
		}
		if _, err := a.provider.Pending.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge expired pending authorize requests", "err", err)
		}
		if _, err := a.handoffs.Purge(ctx, monthAgo); err != nil && ctx.Err() == nil {
			a.log.Warn("purge old handoffs", "err", err)
		}
		if _, err := a.throttle.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge attempt counters", "err", err)
		}
		if _, err := a.passkeys.PurgeCeremonies(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge expired passkey ceremonies", "err", err)
		}
		if _, err := a.keys.Prune(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("prune retired keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
