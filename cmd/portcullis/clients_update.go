package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/provider/clients"
)

// specFlags registers the flags of clients create and clients update that describe a client.
func specFlags(fs *flag.FlagSet, spec *clients.Spec, jwks *string) {
	fs.StringVar(&spec.Name, "name", "", "display name (required)")
	fs.Var((*listFlag)(&spec.RedirectURIs), "redirect-uri", "redirect URI (repeatable)")
	fs.Var((*listFlag)(&spec.PostLogoutRedirectURIs), "post-logout-redirect-uri", "post-logout redirect URI (repeatable)")
	fs.Var((*listFlag)(&spec.GrantTypes), "grant-type", "authorization_code, refresh_token or client_credentials (repeatable)")
	fs.Var((*listFlag)(&spec.Scopes), "scope", "allowed scope (repeatable)")
	fs.Var((*listFlag)(&spec.Audience), "audience", "allowed audience (repeatable)")
	fs.StringVar(&spec.AuthMethod, "auth-method", "", "client_secret_basic, client_secret_post, private_key_jwt or none")
	fs.StringVar(jwks, "jwks", "", "JSON Web Key Set for private_key_jwt, or @FILE")
	fs.StringVar(&spec.JWKSURI, "jwks-uri", "", "JWKS URI for private_key_jwt")
	fs.StringVar(&spec.AuthSigningAlg, "auth-signing-alg", "", "private_key_jwt assertion algorithm: ES256, RS256 or PS256 (default: from the first --jwks signing key, RS256 with --jwks-uri)")
	fs.StringVar(&spec.IDTokenAlg, "id-token-alg", "", "ID token signing algorithm: ES256 (default) or RS256")
	fs.BoolVar(&spec.JWTAccessTokens, "jwt-access-tokens", false, "issue JWT access tokens (RFC 9068)")
	fs.BoolVar(&spec.RequirePAR, "require-par", false, "require pushed authorization requests")
	fs.BoolVar(&spec.FirstParty, "first-party", false, "first-party app: no consent screen")
	fs.BoolVar(&spec.CanIntrospect, "introspect", false, "may introspect other clients' tokens")
	fs.StringVar(&spec.LogoURI, "logo-uri", "", "https URL of the app's logo, shown on the consent page")
	fs.StringVar(&spec.PolicyURI, "policy-uri", "", "https URL of the app's privacy policy, linked from the consent page")
	fs.StringVar(&spec.TOSURI, "tos-uri", "", "https URL of the app's terms of service, linked from the consent page")
	fs.StringVar(&spec.BackchannelLogoutURI, "backchannel-logout-uri", "", "URI that receives a logout token when a session the app got tokens in ends (OIDC Back-Channel Logout)")
	fs.BoolVar(&spec.BackchannelLogoutSessionRequired, "backchannel-logout-session-required", true, "the app needs sid in logout tokens (Portcullis always sends it)")
	fs.StringVar(&spec.FrontchannelLogoutURI, "frontchannel-logout-uri", "", "URI the signed-out page loads in an iframe (OIDC Front-Channel Logout)")
	fs.BoolVar(&spec.FrontchannelLogoutSessionRequired, "frontchannel-logout-session-required", false, "add iss and sid to the front-channel logout URI")
	fs.DurationVar(&spec.Lifetimes.AccessToken, "access-token-lifetime", 0, "how long the app's access tokens live, 1m to 24h, at most 1h with --jwt-access-tokens (0: the server's default, 1h)")
	fs.DurationVar(&spec.Lifetimes.RefreshToken, "refresh-token-lifetime", 0, "how long the app's refresh tokens live, 1h to 2160h (90 days) (0: the server's default, 30 days)")
	fs.DurationVar(&spec.Lifetimes.IDToken, "id-token-lifetime", 0, "how long the app's ID tokens live, 1m to 1h (0: the server's default, 1h)")
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// specFields copies one flag's field of a spec to another, for clients update: only the flags
// given change the client.
var specFields = map[string]func(dst, src *clients.Spec){
	"name":                                 func(d, s *clients.Spec) { d.Name = s.Name },
	"redirect-uri":                         func(d, s *clients.Spec) { d.RedirectURIs = s.RedirectURIs },
	"post-logout-redirect-uri":             func(d, s *clients.Spec) { d.PostLogoutRedirectURIs = s.PostLogoutRedirectURIs },
	"grant-type":                           func(d, s *clients.Spec) { d.GrantTypes = s.GrantTypes },
	"scope":                                func(d, s *clients.Spec) { d.Scopes = s.Scopes },
	"audience":                             func(d, s *clients.Spec) { d.Audience = s.Audience },
	"auth-method":                          func(d, s *clients.Spec) { d.AuthMethod = s.AuthMethod },
	"jwks":                                 func(d, s *clients.Spec) { d.JWKS = s.JWKS },
	"jwks-uri":                             func(d, s *clients.Spec) { d.JWKSURI = s.JWKSURI },
	"auth-signing-alg":                     func(d, s *clients.Spec) { d.AuthSigningAlg = s.AuthSigningAlg },
	"id-token-alg":                         func(d, s *clients.Spec) { d.IDTokenAlg = s.IDTokenAlg },
	"jwt-access-tokens":                    func(d, s *clients.Spec) { d.JWTAccessTokens = s.JWTAccessTokens },
	"require-par":                          func(d, s *clients.Spec) { d.RequirePAR = s.RequirePAR },
	"first-party":                          func(d, s *clients.Spec) { d.FirstParty = s.FirstParty },
	"introspect":                           func(d, s *clients.Spec) { d.CanIntrospect = s.CanIntrospect },
	"logo-uri":                             func(d, s *clients.Spec) { d.LogoURI = s.LogoURI },
	"policy-uri":                           func(d, s *clients.Spec) { d.PolicyURI = s.PolicyURI },
	"tos-uri":                              func(d, s *clients.Spec) { d.TOSURI = s.TOSURI },
	"backchannel-logout-uri":               func(d, s *clients.Spec) { d.BackchannelLogoutURI = s.BackchannelLogoutURI },
	"backchannel-logout-session-required":  func(d, s *clients.Spec) { d.BackchannelLogoutSessionRequired = s.BackchannelLogoutSessionRequired },
	"frontchannel-logout-uri":              func(d, s *clients.Spec) { d.FrontchannelLogoutURI = s.FrontchannelLogoutURI },
	"frontchannel-logout-session-required": func(d, s *clients.Spec) { d.FrontchannelLogoutSessionRequired = s.FrontchannelLogoutSessionRequired },
	"access-token-lifetime":                func(d, s *clients.Spec) { d.Lifetimes.AccessToken = s.Lifetimes.AccessToken },
	"refresh-token-lifetime":               func(d, s *clients.Spec) { d.Lifetimes.RefreshToken = s.Lifetimes.RefreshToken },
	"id-token-lifetime":                    func(d, s *clients.Spec) { d.Lifetimes.IDToken = s.Lifetimes.IDToken },
}

// update changes the settings given as flags of an existing client (clients.Revise: its
// organisation, type and secret stay). A client switched to a secret method is issued a secret,
// shown once.
func (c *clientCLI) update(ctx context.Context, id string, given clients.Spec, set map[string]bool) error {
	cl, err := c.get(ctx, id)
	if err != nil {
		return err
	}
	spec := cl.Spec()
	for name := range set {
		if copyField, ok := specFields[name]; ok {
			copyField(&spec, &given)
		}
	}
	next, err := clients.Revise(cl, spec, time.Now())
	if err != nil {
		return err
	}
	var secret string
	err = c.env.db.InTx(ctx, func(ctx context.Context) error {
		if err := c.store.Update(ctx, next); err != nil {
			return err
		}
		if next.UsesSecret() && len(next.SecretHash) == 0 {
			secret, next.SecretHash = clients.NewSecret(c.env.secret.Hasher("client-secret"))
			if err := c.store.SetSecretHash(ctx, id, next.SecretHash, time.Now()); err != nil {
				return err
			}
		}
		return c.audit(ctx, "client.updated", next)
	})
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(toJSON(next, secret))
	}
	c.print(next)
	if secret != "" {
		fmt.Fprintf(c.out, "client_secret: %s\n(shown once: store it now; only a hash is kept)\n", secret)
	}
	return nil
}
