package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const clientsUsage = "usage: portcullis clients create|list|show|update|delete|rotate-secret [flags]"

func cmdClients(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(clientsUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("clients "+sub, stderr)
	output := fs.String("output", "text", "text or json")
	var spec clients.Spec
	var org, jwks string
	switch sub {
	case "create":
		specFlags(fs, &spec, &jwks)
		fs.StringVar(&spec.Type, "type", "confidential", "confidential or public")
		fs.StringVar(&org, "org", "system", "organisation slug")
	case "list":
		fs.StringVar(&org, "org", "", "only this organisation (slug)")
	case "update":
		specFlags(fs, &spec, &jwks)
	case "show", "delete", "rotate-secret":
	default:
		return errors.New(clientsUsage)
	}
	cfg, err := loadConfig(fs, args, dbKeys...)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return &configError{"--output", "want text or json"}
	}
	e, err := openEnv(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer e.db.Close()
	c := &clientCLI{env: e, store: clients.NewStore(e.db), dir: directory.NewStore(e.db), out: stdout, json: *output == "json"}
	switch sub {
	case "create":
		if jwks, err = readMaybeFile(jwks); err != nil {
			return err
		}
		spec.JWKS = jwks
		return c.create(ctx, spec, org)
	case "list":
		return c.list(ctx, org)
	}
	id, err := oneArg(fs, "CLIENT_ID")
	if err != nil {
		return err
	}
	switch sub {
	case "update":
		if jwks, err = readMaybeFile(jwks); err != nil {
			return err
		}
		spec.JWKS = jwks
		return c.update(ctx, id, spec, setFlags(fs))
	case "show":
		return c.show(ctx, id)
	case "delete":
		return c.delete(ctx, id)
	default:
		return c.rotate(ctx, id)
	}
}

func oneArg(fs *flag.FlagSet, name string) (string, error) {
	if fs.NArg() != 1 {
		return "", fmt.Errorf("want exactly one %s argument (flags go before it)", name)
	}
	return fs.Arg(0), nil
}

func readMaybeFile(v string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	b, err := os.ReadFile(v[1:])
	if err != nil {
		return "", &configError{"--jwks", err.Error()}
	}
	return string(b), nil
}

type clientCLI struct {
	env   *env
	store *clients.Store
	dir   *directory.Store
	out   io.Writer
	json  bool
}

// toJSON is the machine-readable view of a client (shared with the admin API).
func toJSON(c clients.Client, secret string) clients.View { return clients.ViewOf(c, secret) }

func (c *clientCLI) audit(ctx context.Context, action string, cl clients.Client) error {
	log := &audit.Log{DB: c.env.db, Logger: c.env.log}
	return log.Record(ctx, audit.Event{Action: action, OrgID: cl.OrgID, Actor: "cli", ClientID: cl.ID,
		Details: map[string]any{"name": cl.Name}})
}

func (c *clientCLI) orgID(ctx context.Context, slug string) (string, error) {
	o, err := c.dir.GetOrgBySlug(ctx, slug)
	if errors.Is(err, database.ErrNotFound) {
		return "", &configError{"--org", fmt.Sprintf("no organisation with slug %q", slug)}
	}
	return o.ID, err
}

func (c *clientCLI) create(ctx context.Context, spec clients.Spec, org string) error {
	var err error
	if spec.OrgID, err = c.orgID(ctx, org); err != nil {
		return err
	}
	cl, secret, err := clients.New(spec, c.env.secret.Hasher("client-secret"), time.Now())
	if err != nil {
		return err
	}
	// The client and its audit record land together or not at all.
	err = c.env.db.InTx(ctx, func(ctx context.Context) error {
		if err := c.store.Create(ctx, cl); err != nil {
			return err
		}
		return c.audit(ctx, "client.created", cl)
	})
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(toJSON(cl, secret))
	}
	c.print(cl)
	if secret != "" {
		fmt.Fprintf(c.out, "client_secret: %s\n(shown once: store it now; only a hash is kept)\n", secret)
	}
	return nil
}

func (c *clientCLI) print(cl clients.Client) {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "client_id:\t%s\n", cl.ID)
	fmt.Fprintf(tw, "name:\t%s\n", cl.Name)
	fmt.Fprintf(tw, "type:\t%s\n", cl.Type())
	fmt.Fprintf(tw, "organisation:\t%s\n", cl.OrgID)
	fmt.Fprintf(tw, "redirect_uris:\t%s\n", strings.Join(cl.RedirectURIs, " "))
	fmt.Fprintf(tw, "post_logout_redirect_uris:\t%s\n", strings.Join(cl.PostLogoutRedirectURIs, " "))
	fmt.Fprintf(tw, "grant_types:\t%s\n", strings.Join(cl.GrantTypes, " "))
	fmt.Fprintf(tw, "scopes:\t%s\n", strings.Join(cl.Scopes, " "))
	fmt.Fprintf(tw, "token_endpoint_auth_method:\t%s\n", cl.TokenEndpointAuthMethod)
	if cl.TokenEndpointAuthSigningAlg != "" {
		fmt.Fprintf(tw, "token_endpoint_auth_signing_alg:\t%s\n", cl.TokenEndpointAuthSigningAlg)
	}
	fmt.Fprintf(tw, "id_token_signed_response_alg:\t%s\n", cl.IDTokenSignedResponseAlg)
	fmt.Fprintf(tw, "options:\tjwt_access_tokens=%t require_par=%t first_party=%t introspect=%t\n",
		cl.JWTAccessTokens, cl.RequirePAR, cl.FirstParty, cl.CanIntrospect)
	fmt.Fprintf(tw, "lifetimes:\taccess_token=%s refresh_token=%s id_token=%s\n", lifetime(cl.Lifetimes.AccessToken),
		lifetime(cl.Lifetimes.RefreshToken), lifetime(cl.Lifetimes.IDToken))
	for _, l := range [][2]string{{"logo_uri", cl.LogoURI}, {"policy_uri", cl.PolicyURI}, {"tos_uri", cl.TOSURI},
		{"backchannel_logout_uri", cl.BackchannelLogoutURI}, {"frontchannel_logout_uri", cl.FrontchannelLogoutURI}} {
		if l[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", l[0], l[1])
		}
	}
	_ = tw.Flush()
}

// lifetime shows a client's token lifetime; 0 is the server's default.
func lifetime(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return d.String()
}

func (c *clientCLI) list(ctx context.Context, org string) error {
	orgID := ""
	if org != "" {
		var err error
		if orgID, err = c.orgID(ctx, org); err != nil {
			return err
		}
	}
	list, err := c.store.List(ctx, orgID)
	if err != nil {
		return err
	}
	if c.json {
		out := make([]clients.View, 0, len(list))
		for _, cl := range list {
			out = append(out, toJSON(cl, ""))
		}
		return json.NewEncoder(c.out).Encode(out)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tORG\tGRANTS")
	for _, cl := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, cl.Type(), cl.OrgID, strings.Join(cl.GrantTypes, ","))
	}
	return tw.Flush()
}

func (c *clientCLI) get(ctx context.Context, id string) (clients.Client, error) {
	cl, err := c.store.Get(ctx, id)
	if errors.Is(err, database.ErrNotFound) {
		return cl, fmt.Errorf("no client %q", id)
	}
	return cl, err
}

func (c *clientCLI) show(ctx context.Context, id string) error {
	cl, err := c.get(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(toJSON(cl, ""))
	}
	c.print(cl)
	return nil
}

func (c *clientCLI) delete(ctx context.Context, id string) error {
	cl, err := c.get(ctx, id)
	if err != nil {
		return err
	}
	err = c.env.db.InTx(ctx, func(ctx context.Context) error {
		if err := c.store.Delete(ctx, id); err != nil {
			return err
		}
		return c.audit(ctx, "client.deleted", cl)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "deleted client %s (%s) and its tokens\n", cl.ID, cl.Name)
	return nil
}

func (c *clientCLI) rotate(ctx context.Context, id string) error {
	cl, err := c.get(ctx, id)
	if err != nil {
		return err
	}
	if !cl.UsesSecret() {
		return fmt.Errorf("client %s authenticates with %s and has no secret", id, cl.TokenEndpointAuthMethod)
	}
	secret, hash := clients.NewSecret(c.env.secret.Hasher("client-secret"))
	err = c.env.db.InTx(ctx, func(ctx context.Context) error {
		if err := c.store.SetSecretHash(ctx, id, hash, time.Now()); err != nil {
			return err
		}
		return c.audit(ctx, "client.secret_rotated", cl)
	})
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]string{"client_id": id, "client_secret": secret})
	}
	fmt.Fprintf(c.out, "client_secret: %s\n(shown once: the old secret no longer works)\n", secret)
	return nil
}
