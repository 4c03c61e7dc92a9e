package provider

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/hmac"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/consent"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/provider/rplogout"
	"github.com/portcullis-id/portcullis/provider/store"
	"github.com/portcullis-id/portcullis/ui"
)

// Token lifetimes. Signing keys stay published for RetiredKeyPublish after retirement, which
// must cover the longest-lived JWT we sign (ID and JWT access tokens), also with a client's own
// lifetimes (clients.MaxJWTLifetime; TestClientLifespans checks it).
const (
	AccessTokenLifespan   = time.Hour
	IDTokenLifespan       = time.Hour
	RefreshTokenLifespan  = 30 * 24 * time.Hour
	AuthorizeCodeLifespan = 5 * time.Minute
	PARLifespan           = 90 * time.Second
	PendingLifespan       = 30 * time.Minute
	RetiredKeyPublish     = 2 * time.Hour
)

// Users is what the provider reads of the directory.
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
}

// Sessions is what the provider needs of sign-in sessions.
type Sessions interface {
	Current(r *http.Request) (session.Session, error)
	End(w http.ResponseWriter, r *http.Request) (session.Session, error)
}

// Provider serves the OAuth 2.0 and OpenID Connect endpoints.
type Provider struct {
	Issuer   string
	OAuth2   *fosite.Fosite
	Store    *store.Store
	Keys     *keys.Manager
	Clients  ClientStore
	Cache    *ClientCache
	Users    Users
	Sessions Sessions
	Pending  *PendingStore
	Audit    *audit.Log
	UI       *ui.Renderer
	CSRF     *httpx.CSRF
	Log      *slog.Logger
	// OnTokenIssued, when set, is told the grant type of every token response (metrics).
	OnTokenIssued func(grantType string)
	// Consent keeps users' decisions for third-party clients (package consent).
	Consent *consent.Store
	// Logout queues back-channel logout tokens (its OnEnd is the session store's hook; its worker
	// runs with the server) and lists front-channel logout URIs for the signed-out page.
	Logout *rplogout.Notifier
}

// Deps are the provider's collaborators, built by the composition root.
type Deps struct {
	Issuer   string
	DB       *database.DB
	Secret   *secret.Secret
	Keys     *keys.Manager
	Clients  ClientStore
	Users    Users
	Sessions Sessions
	Audit    *audit.Log
	UI       *ui.Renderer
	CSRF     *httpx.CSRF
	Log      *slog.Logger
}

// New composes fosite with our storage, token strategies and keys.
func New(d Deps) *Provider {
	cfg := &fosite.Config{
		AccessTokenLifespan:             AccessTokenLifespan,
		RefreshTokenLifespan:            RefreshTokenLifespan,
		AuthorizeCodeLifespan:           AuthorizeCodeLifespan,
		IDTokenLifespan:                 IDTokenLifespan,
		PushedAuthorizeContextLifespan:  PARLifespan,
		IDTokenIssuer:                   d.Issuer,
		AccessTokenIssuer:               d.Issuer,
		TokenURL:                        d.Issuer + "/oauth2/token",
		GlobalSecret:                    d.Secret.Key("fosite-hmac"),
		ScopeStrategy:                   fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:        fosite.DefaultAudienceMatchingStrategy,
		EnforcePKCEForPublicClients:     true,
		EnablePKCEPlainChallengeMethod:  false,
		AllowedPromptValues:             []string{"none", "login", "consent"},
		RefreshTokenScopes:              []string{"offline_access"},
		ClientSecretsHasher:             secretHasher{d.Secret.Hasher("client-secret")},
		FormPostHTMLTemplate:            ui.FormPostTemplate,
		PushedAuthorizeRequestURIPrefix: parPrefix,
		MinParameterEntropy:             fosite.MinParameterEntropy,
		SendDebugMessagesToClients:      false,
	}
	cache := newClientCache(clientSource{d.Clients})
	st := store.New(d.DB, cache, func() fosite.Session { return NewSession() })
	core := &tokenStrategy{
		HMACSHAStrategy: oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: cfg}, cfg),
		hmacConfig:      cfg,
		keys:            d.Keys, issuer: d.Issuer, lifespan: AccessTokenLifespan,
	}
	// The store keeps a code's PKCE and OpenID Connect requests in the code's row, which fosite
	// names by signature for one and by the code itself for the other.
	st.CodeSignature = core.AuthorizeCodeSignature
	strategy := &compose.CommonStrategy{
		CoreStrategy:               core,
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: d.Keys.Signer(), Config: cfg},
		Signer:                     d.Keys.Signer(),
	}
	f := compose.Compose(cfg, st, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
		compose.PushedAuthorizeHandlerFactory,
	).(*fosite.Fosite)
	quietTokenHandlers(cfg)
	cfg.ClientAuthenticationStrategy = clientAuthentication(f)
	return &Provider{
		Issuer: d.Issuer, OAuth2: f, Store: st, Keys: d.Keys, Clients: d.Clients, Cache: cache, Users: d.Users,
		Sessions: d.Sessions, Pending: &PendingStore{DB: d.DB}, Consent: consent.NewStore(d.DB), Audit: d.Audit, UI: d.UI, CSRF: d.CSRF, Log: d.Log,
		Logout: &rplogout.Notifier{DB: d.DB, Issuer: d.Issuer, Keys: d.Keys, Clients: d.Clients, Audit: d.Audit, Log: d.Log},
	}
}

// Mount registers every provider endpoint.
func (p *Provider) Mount(r *mux.Router) {
	r.HandleFunc("/.well-known/openid-configuration", p.discovery).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/jwks.json", p.jwks).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/oauth2/auth", p.authorize).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/oauth2/auth/resume", p.resume).Methods(http.MethodGet)
	p.consentPage().Mount(r)
	r.HandleFunc("/oauth2/token", p.token).Methods(http.MethodPost)
	r.HandleFunc("/oauth2/par", p.par).Methods(http.MethodPost)
	r.HandleFunc("/oauth2/introspect", p.introspect).Methods(http.MethodPost)
	r.HandleFunc("/oauth2/revoke", p.revoke).Methods(http.MethodPost)
	r.HandleFunc("/userinfo", p.userinfo).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/oauth2/logout", p.logout).Methods(http.MethodGet, http.MethodPost)
}

func (p *Provider) log(ctx context.Context) *slog.Logger { return httpx.Logger(ctx) }

func (p *Provider) record(r *http.Request, e audit.Event) {
	if p.Audit == nil {
		return
	}
	_ = p.Audit.Record(r.Context(), audit.FromRequest(r, e))
}
