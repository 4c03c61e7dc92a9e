package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/store"
)

// importJSON is the machine-readable result of an import.
type importJSON struct {
	DryRun   bool               `json:"dry_run"`
	Mode     string             `json:"mode"`
	Summary  []string           `json:"summary"`
	Created  []importedUserJSON `json:"created"`
	Updated  int                `json:"updated"`
	Enabled  int                `json:"enabled"`
	Disabled int                `json:"disabled"`
}

type importedUserJSON struct {
	UserID        string `json:"user_id"`
	Username      string `json:"username"`
	EnrollmentURL string `json:"enrollment_url,omitempty"`
	Delivery      string `json:"delivery"`
}

func cmdUsersImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("users import", stderr)
	org := fs.String("org", "", "organisation slug (required)")
	modeFlag := fs.String("mode", "joiners", "joiners, leavers or full-sync")
	dryRun := fs.Bool("dry-run", false, "show what would change and change nothing")
	validFor := fs.Duration("valid-for", 7*24*time.Hour, "how long each new user's enrollment link works")
	output := fs.String("output", "text", "text or json")
	cfg, err := loadConfig(fs, args, append(dbKeys, mailKeys...)...)
	if err != nil {
		return err
	}
	if *org == "" {
		return &configError{"--org", "required"}
	}
	mode, err := roster.ParseMode(*modeFlag)
	if err != nil {
		return &configError{"--mode", err.Error()}
	}
	if *validFor < time.Minute || *validFor > 30*24*time.Hour {
		return &configError{"--valid-for", "must be between 1m and 720h"}
	}
	file, err := oneArg(fs, "FILE")
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := roster.Parse(f, password.CheckImported)
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", file, err)
	}
	e, err := openEnv(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer e.db.Close()
	dir := directory.NewStore(e.db)
	o, err := dir.GetOrgBySlug(ctx, *org)
	if errors.Is(err, database.ErrNotFound) {
		return &configError{"--org", fmt.Sprintf("no organisation with slug %q", *org)}
	} else if err != nil {
		return err
	}
	im := &rollout.Importer{DB: e.db, Users: dir, Links: links(e), Tokens: store.UserTokens{DB: e.db},
		Sessions: sessionStore(e), Audit: &audit.Log{DB: e.db, Logger: e.log},
		LinkValidity: *validFor}
	existing, err := im.Existing(ctx, o.ID)
	if err != nil {
		return err
	}
	plan, err := roster.MakePlan(rows, existing, mode)
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", file, err)
	}
	if err := admin.KeepsAnAdmin(existing, plan); err != nil {
		return fmt.Errorf("%s: nothing imported: %w", file, err)
	}
	out := importJSON{DryRun: *dryRun, Mode: string(mode), Summary: plan.Summary(), Created: []importedUserJSON{}}
	if !*dryRun && !plan.Empty() {
		res, err := im.Apply(ctx, o.ID, plan, "cli")
		if err != nil {
			return fmt.Errorf("%s: nothing imported: %w", file, err)
		}
		out.Updated, out.Enabled, out.Disabled = res.Updated, res.Enabled, res.Disabled
		m, err := newUserMailer(cfg, e)
		if err != nil {
			return err
		}
		for _, j := range res.Created {
			link := cfg.Issuer + "/enroll/" + j.Token
			iu := importedUserJSON{UserID: j.User.ID, Username: j.User.Username, Delivery: "shown", EnrollmentURL: link}
			if sent, err := m.enrollment(ctx, o, j.User, link, *validFor); err != nil {
				e.log.Error("enrollment email failed; the link is shown instead", "user_id", j.User.ID, "err", err)
			} else if sent {
				iu.Delivery, iu.EnrollmentURL = "email", ""
			}
			out.Created = append(out.Created, iu)
		}
	}
	if *output == "json" {
		return json.NewEncoder(stdout).Encode(out)
	}
	if *dryRun {
		fmt.Fprintf(stdout, "dry run (%s): nothing changed\n", mode)
	}
	if plan.Empty() {
		fmt.Fprintln(stdout, "nothing to change")
	}
	for _, l := range out.Summary {
		fmt.Fprintln(stdout, l)
	}
	for _, c := range out.Created {
		if c.Delivery == "email" {
			fmt.Fprintf(stdout, "%s: enrollment link emailed\n", c.Username)
		} else {
			fmt.Fprintf(stdout, "%s: enrollment link (single use, valid %s): %s\n", c.Username, *validFor, c.EnrollmentURL)
		}
	}
	return nil
}
