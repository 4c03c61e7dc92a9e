package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

const orgsUsage = "usage: portcullis orgs create|list|show|set-policy|set-branding|set-password-rules|set-session-lifetimes|adoption [flags] [SLUG]"

// orgJSON is the machine-readable view of an organisation.
type orgJSON struct {
	ID             string         `json:"id"`
	Slug           string         `json:"slug"`
	Name           string         `json:"name"`
	Passkeys       string         `json:"passkeys"`
	PasswordsEndAt *time.Time     `json:"passwords_end_at,omitempty"`
	RequireUV      bool           `json:"require_user_verification"`
	AllowSynced    bool           `json:"allow_synced_passkeys"`
	AllowedAAGUIDs []string       `json:"allowed_aaguids"`
	RemindAfter    string         `json:"remind_after"`
	RecoveryCodes  bool           `json:"recovery_codes"`
	SignInURL      string         `json:"sign_in_url"`
	Branding       map[string]any `json:"branding"`
	PasswordRules  map[string]any `json:"password_rules"`
	Sessions       map[string]any `json:"session_lifetimes"`
	CreatedAt      time.Time      `json:"created_at"`
}

func toOrgJSON(o directory.Org, issuer string) orgJSON {
	p := o.Policy
	aaguids := p.AllowedAAGUIDs
	if aaguids == nil {
		aaguids = []string{}
	}
	return orgJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, Passkeys: string(p.Mode), PasswordsEndAt: p.PasswordsEndAt,
		RequireUV: p.RequireUV, AllowSynced: p.AllowSynced, AllowedAAGUIDs: aaguids, RemindAfter: p.RemindAfter.String(),
		RecoveryCodes: p.RecoveryCodes, SignInURL: issuer + "/o/" + o.Slug + "/login", CreatedAt: o.CreatedAt,
		Branding: admin.BrandingDetails(o.Branding), PasswordRules: admin.PasswordRulesDetails(o.Passwords),
		Sessions: admin.SessionLifetimesDetails(o.Sessions)}
}

// policyFlags are set-policy's flags; only those given change the policy.
type policyFlags struct {
	mode, passwordsEnd, remindAfter string
	requireUV, allowSynced          bool
	recoveryCodes                   bool
	aaguids                         listFlag
}

func (f *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mode, "passkeys", "", "off, optional or mandatory")
	fs.StringVar(&f.passwordsEnd, "passwords-end", "", "date (YYYY-MM-DD, UTC) or RFC 3339 time after which passwords stop working (mandatory only); \"none\" removes it")
	fs.BoolVar(&f.requireUV, "require-user-verification", true, "require a biometric or PIN with every passkey")
	fs.BoolVar(&f.allowSynced, "allow-synced", true, "accept synced passkeys (false: device-bound only)")
	fs.Var(&f.aaguids, "allowed-aaguid", "allow only this authenticator model (repeatable; \"none\" clears the list)")
	fs.StringVar(&f.remindAfter, "remind-after", "", "how long \"Do this later\" lasts (e.g. 72h; 0 asks at every sign-in)")
	fs.BoolVar(&f.recoveryCodes, "recovery-codes", false, "let users create self-service recovery codes (true|false)")
}

// apply changes p by the flags that were given.
func (f *policyFlags) apply(fs *flag.FlagSet, p policy.Policy) (policy.Policy, error) {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "passkeys":
			var m policy.Mode
			if m, err = policy.ParseMode(f.mode); err != nil {
				err = &configError{"--passkeys", err.Error()}
			}
			p.Mode = m
		case "passwords-end":
			p.PasswordsEndAt, err = parseDeadline(f.passwordsEnd)
		case "require-user-verification":
			p.RequireUV = f.requireUV
		case "allow-synced":
			p.AllowSynced = f.allowSynced
		case "recovery-codes":
			p.RecoveryCodes = f.recoveryCodes
		case "allowed-aaguid":
			p.AllowedAAGUIDs = nil
			for _, a := range f.aaguids {
				if a != "none" {
					p.AllowedAAGUIDs = append(p.AllowedAAGUIDs, strings.ToLower(strings.TrimSpace(a)))
				}
			}
		case "remind-after":
			var d time.Duration
			if d, err = time.ParseDuration(f.remindAfter); err != nil || d < 0 {
				err = &configError{"--remind-after", "want a duration such as 72h, or 0"}
			}
			p.RemindAfter = d
		}
	})
	if err != nil {
		return p, err
	}
	if verr := p.Validate(); verr != nil {
		return p, &configError{"policy", verr.Error()}
	}
	return p, nil
}

func parseDeadline(v string) (*time.Time, error) {
	if v == "none" || v == "" {
		return nil, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, &configError{"--passwords-end", "want a date (YYYY-MM-DD), an RFC 3339 time, or none"}
	}
	t = t.UTC()
	return &t, nil
}

func cmdOrgs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(orgsUsage)
	}
	sub := args[0]
	fs := newFlagSet("orgs "+sub, stderr)
	output := fs.String("output", "text", "text or json")
	var slug, name string
	var pf policyFlags
	yes := fs.Bool("yes", false, "apply the policy change (without it, only the impact is shown)")
	var bf brandingFlags
	var minLength int
	var lf lifetimeFlags
	switch sub {
	case "create":
		fs.StringVar(&slug, "slug", "", "URL name: lower-case letters, digits, hyphens (required)")
		fs.StringVar(&name, "name", "", "display name (required)")
	case "set-policy":
		pf.register(fs)
	case "set-branding":
		bf.register(fs)
	case "set-password-rules":
		fs.IntVar(&minLength, "min-length", 0, "the fewest characters of a new password: 12 to 64 (required)")
	case "set-session-lifetimes":
		lf.register(fs)
	case "list", "show", "adoption":
	default:
		return errors.New(orgsUsage)
	}
	cfg, err := loadConfig(fs, args[1:], dbKeys...)
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
	o := &orgCLI{env: e, dir: directory.NewStore(e.db), out: stdout, json: *output == "json",
		log: &audit.Log{DB: e.db, Logger: e.log}}
	switch sub {
	case "create":
		return o.create(ctx, slug, name)
	case "list":
		return o.list(ctx)
	}
	slug, err = oneArg(fs, "SLUG")
	if err != nil {
		return err
	}
	org, err := o.dir.GetOrgBySlug(ctx, slug)
	if errors.Is(err, database.ErrNotFound) {
		return fmt.Errorf("no organisation with slug %q (portcullis orgs list shows them)", slug)
	} else if err != nil {
		return err
	}
	switch sub {
	case "show":
		return o.show(org)
	case "adoption":
		return o.adoption(ctx, org)
	case "set-branding":
		return o.setBranding(ctx, org, fs, bf)
	case "set-password-rules":
		return o.setPasswordRules(ctx, org, fs, minLength)
	case "set-session-lifetimes":
		return o.setSessionLifetimes(ctx, org, fs, lf)
	}
	next, err := pf.apply(fs, org.Policy)
	if err != nil {
		return err
	}
	return o.setPolicy(ctx, org, next, *yes)
}

type orgCLI struct {
	env  *env
	dir  *directory.Store
	log  *audit.Log
	out  io.Writer
	json bool
}

func (o *orgCLI) create(ctx context.Context, slug, name string) error {
	if slug == "" {
		return &configError{"--slug", "required"}
	}
	if name == "" {
		return &configError{"--name", "required"}
	}
	var org directory.Org
	err := o.env.db.InTx(ctx, func(ctx context.Context) error {
		var err error
		if org, err = o.dir.CreateOrg(ctx, slug, name); err != nil {
			return err
		}
		return o.log.Record(ctx, audit.Event{Action: "org.created", OrgID: org.ID, Actor: "cli",
			Details: map[string]any{"slug": org.Slug, "name": org.Name}})
	})
	if errors.Is(err, database.ErrAlreadyExists) {
		return fmt.Errorf("an organisation with slug %q already exists", slug)
	}
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(o.out).Encode(toOrgJSON(org, o.env.cfg.Issuer))
	}
	fmt.Fprintf(o.out, "created organisation %s (%s), passkeys %s\nsign-in page: %s/o/%s/login\n",
		org.Slug, org.ID, org.Policy.Mode, o.env.cfg.Issuer, org.Slug)
	return nil
}

func (o *orgCLI) list(ctx context.Context) error {
	orgs, err := o.dir.ListOrgs(ctx)
	if err != nil {
		return err
	}
	if o.json {
		out := make([]orgJSON, 0, len(orgs))
		for _, org := range orgs {
			out = append(out, toOrgJSON(org, o.env.cfg.Issuer))
		}
		return json.NewEncoder(o.out).Encode(out)
	}
	for _, org := range orgs {
		fmt.Fprintf(o.out, "%-20s %-10s %s\n", org.Slug, org.Policy.Mode, org.Name)
	}
	return nil
}

func (o *orgCLI) show(org directory.Org) error {
	j := toOrgJSON(org, o.env.cfg.Issuer)
	if o.json {
		return json.NewEncoder(o.out).Encode(j)
	}
	deadline := "none"
	if j.PasswordsEndAt != nil {
		deadline = j.PasswordsEndAt.Format(time.RFC3339)
	}
	aaguids := "any authenticator"
	if len(j.AllowedAAGUIDs) > 0 {
		aaguids = strings.Join(j.AllowedAAGUIDs, ", ")
	}
	remind := "at every sign-in"
	if org.Policy.RemindAfter > 0 {
		remind = "after " + org.Policy.RemindAfter.String()
	}
	fmt.Fprintf(o.out, "organisation:       %s (%s)\nid:                 %s\nsign-in page:       %s\n"+
		"passkeys:           %s\npasswords end:      %s\nuser verification:  %s\nsynced passkeys:    %s\n"+
		"authenticators:     %s\n\"Do this later\":    asked again %s\nrecovery codes:     %s\n",
		j.Name, j.Slug, j.ID, j.SignInURL, j.Passkeys, deadline, yesNo(j.RequireUV, "required", "preferred"),
		yesNo(j.AllowSynced, "accepted", "refused (device-bound only)"), aaguids, remind,
		yesNo(j.RecoveryCodes, "allowed (self-service)", "not allowed (ask an admin)"))
	b := org.Branding
	fmt.Fprintf(o.out, "passwords:          at least %d characters\nbranding:           name %s, logo %s, colour %s\n",
		org.Passwords.MinLength, orNone(b.DisplayName), orNone(b.LogoURI), orNone(b.PrimaryColour))
	fmt.Fprintf(o.out, "sessions:           %s\n", lifetimesText(org.Sessions))
	return nil
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func (o *orgCLI) adoption(ctx context.Context, org directory.Org) error {
	a, err := (&rollout.Reports{DB: o.env.db}).Adoption(ctx, org.ID)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(o.out).Encode(a)
	}
	fmt.Fprintf(o.out, "%s: %d active users\n  with a passkey:         %d%s\n  password only:          %d\n  neither (need a link):  %d\n",
		org.Slug, a.Users, a.WithPasskey, percent(a.WithPasskey, a.Users), a.PasswordOnly, a.Neither)
	if len(a.Providers) > 0 {
		fmt.Fprintln(o.out, "passkey providers:")
		for _, p := range a.Providers {
			fmt.Fprintf(o.out, "  %-32s %d passkeys, %d users\n", p.Provider, p.Passkeys, p.Users)
		}
	}
	return nil
}

func percent(n, of int) string {
	if of == 0 {
		return ""
	}
	return " (" + strconv.Itoa(n*100/of) + " %)"
}

// setPolicy shows who a change affects and how, and applies it only with --yes: a change of
// policy never locks anyone out silently.
func (o *orgCLI) setPolicy(ctx context.Context, org directory.Org, next policy.Policy, yes bool) error {
	users, err := (&rollout.Reports{DB: o.env.db}).Summaries(ctx, org.ID)
	if err != nil {
		return err
	}
	impact := policy.Preview(org.Policy, next, users, time.Now().UTC())
	if o.json {
		if yes {
			if err := o.applyPolicy(ctx, org, next, impact); err != nil {
				return err
			}
		}
		return json.NewEncoder(o.out).Encode(map[string]any{"applied": yes, "impact": impact.Lines,
			"policy": toOrgJSON(directory.Org{ID: org.ID, Slug: org.Slug, Name: org.Name, Policy: next, CreatedAt: org.CreatedAt}, o.env.cfg.Issuer)})
	}
	fmt.Fprintf(o.out, "%s: passkeys %s -> %s\n", org.Slug, org.Policy.Mode, next.Mode)
	if len(impact.Lines) == 0 {
		fmt.Fprintln(o.out, "no user is affected")
	}
	for _, l := range impact.Lines {
		fmt.Fprintln(o.out, "  "+l)
	}
	if !yes {
		fmt.Fprintln(o.out, "nothing changed: run again with --yes to apply")
		return nil
	}
	if err := o.applyPolicy(ctx, org, next, impact); err != nil {
		return err
	}
	fmt.Fprintln(o.out, "policy applied")
	return nil
}

func (o *orgCLI) applyPolicy(ctx context.Context, org directory.Org, next policy.Policy, impact policy.Impact) error {
	return o.env.db.InTx(ctx, func(ctx context.Context) error {
		if err := o.dir.SetPolicy(ctx, org.ID, next); err != nil {
			return err
		}
		return o.log.Record(ctx, audit.Event{Action: "org.policy_changed", OrgID: org.ID, Actor: "cli",
			Details: map[string]any{"from": toOrgJSON(org, ""), "to": toOrgJSON(directory.Org{ID: org.ID, Slug: org.Slug,
				Name: org.Name, Policy: next, CreatedAt: org.CreatedAt}, ""), "impact": impact.Lines}})
	})
}
