package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// SetupLinkValidity is how long a first-run setup link works.
const SetupLinkValidity = time.Hour

func links(e *env) *enroll.Links {
	return &enroll.Links{DB: e.db, Hasher: e.secret.Hasher("link")}
}

const usersUsage = `usage: portcullis users create --username NAME [--org SLUG] [--display-name …] [--email …] [--role ROLE]… [--valid-for 168h] [--output json]
       portcullis users import --org SLUG FILE [--mode joiners|leavers|full-sync] [--dry-run] [--valid-for 168h] [--output json]
       portcullis users recover --org SLUG --username NAME [--deliver email|show] [--valid-for 24h] [--keep-passkeys] [--output json]`

func cmdUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return cmdUsersImport(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "recover" {
		return cmdUsersRecover(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New(usersUsage)
	}
	fs := newFlagSet("users create", stderr)
	var u directory.User
	var org string
	fs.StringVar(&u.Username, "username", "", "username, unique in the organisation (required)")
	fs.StringVar(&org, "org", "system", "organisation slug")
	fs.StringVar(&u.DisplayName, "display-name", "", "display name")
	fs.StringVar(&u.Email, "email", "", "email address")
	fs.Var((*listFlag)(&u.Roles), "role", "role (repeatable; admin is built in)")
	validFor := fs.Duration("valid-for", 7*24*time.Hour, "how long the enrollment link works")
	output := fs.String("output", "text", "text or json")
	cfg, err := loadConfig(fs, args[1:], append(dbKeys, mailKeys...)...)
	if err != nil {
		return err
	}
	if *validFor < time.Minute || *validFor > 30*24*time.Hour {
		return &configError{"--valid-for", "must be between 1m and 720h"}
	}
	if err := directory.ValidateUsername(u.Username); err != nil {
		return &configError{"--username", err.Error()}
	}
	e, err := openEnv(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer e.db.Close()
	dir := directory.NewStore(e.db)
	o, err := dir.GetOrgBySlug(ctx, org)
	if errors.Is(err, database.ErrNotFound) {
		return &configError{"--org", fmt.Sprintf("no organisation with slug %q", org)}
	} else if err != nil {
		return err
	}
	u.OrgID = o.ID
	// The operator vouches for the address given here (directory.Store.UpdateProfile).
	u.EmailVerified = u.Email != ""
	var token string
	err = e.db.InTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = dir.CreateUser(ctx, u); err != nil {
			return err
		}
		if token, err = links(e).Create(ctx, enroll.PurposeEnrollment, u.ID, "cli", *validFor); err != nil {
			return err
		}
		log := &audit.Log{DB: e.db, Logger: e.log}
		if err := log.Record(ctx, audit.Event{Action: "user.created", OrgID: u.OrgID, Actor: "cli", UserID: u.ID,
			Details: map[string]any{"username": u.Username, "roles": u.Roles}}); err != nil {
			return err
		}
		return log.Record(ctx, audit.Event{Action: "enrollment.issued", OrgID: u.OrgID, Actor: "cli", UserID: u.ID,
			Details: map[string]any{"valid_for": validFor.String(), "delivery": "shown"}})
	})
	if errors.Is(err, database.ErrAlreadyExists) {
		return fmt.Errorf("a user named %q already exists in organisation %s", u.Username, org)
	}
	if err != nil {
		return err
	}
	link := cfg.Issuer + "/enroll/" + token
	m, err := newUserMailer(cfg, e)
	if err != nil {
		return err
	}
	emailed, err := m.enrollment(ctx, o, u, link, *validFor)
	if err != nil {
		e.log.Error("enrollment email failed; hand the link over instead", "user_id", u.ID, "err", err)
	}
	if *output == "json" {
		return json.NewEncoder(stdout).Encode(map[string]any{"user_id": u.ID, "username": u.Username, "org_id": u.OrgID,
			"enrollment_url": link, "emailed": emailed, "expires_at": time.Now().Add(*validFor).UTC()})
	}
	fmt.Fprintf(stdout, "created user %s (%s)\nenrollment link (single use, valid %s): %s\n", u.Username, u.ID, *validFor, link)
	if emailed {
		fmt.Fprintf(stdout, "the link was emailed to %s\n", u.Email)
	}
	return nil
}

// issueSetupLink returns a fresh first-run setup link, or "" when an admin already exists.
func issueSetupLink(ctx context.Context, e *env) (string, error) {
	exists, err := enroll.AdminExists(ctx, e.db)
	if err != nil || exists {
		return "", err
	}
	token, err := links(e).Create(ctx, enroll.PurposeSetup, "", "system", SetupLinkValidity)
	if err != nil {
		return "", err
	}
	log := &audit.Log{DB: e.db, Logger: e.log}
	if err := log.Record(ctx, audit.Event{Action: "setup.link_issued", OrgID: directory.SystemOrgID, Actor: "system"}); err != nil {
		return "", err
	}
	return e.cfg.Issuer + "/setup/" + token, nil
}

func cmdSetupLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup-link", stderr)
	cfg, err := loadConfig(fs, args, dbKeys...)
	if err != nil {
		return err
	}
	e, err := openEnv(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer e.db.Close()
	link, err := issueSetupLink(ctx, e)
	if err != nil {
		return err
	}
	if link == "" {
		return errors.New("an administrator already exists: sign in at " + cfg.Issuer + "/login")
	}
	fmt.Fprintf(stdout, "setup link (single use, valid %s): %s\n", SetupLinkValidity, link)
	return nil
}
