package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// recoverJSON is the machine-readable result of `users recover`.
type recoverJSON struct {
	UserID          string    `json:"user_id"`
	Username        string    `json:"username"`
	OrgID           string    `json:"org_id"`
	Delivery        string    `json:"delivery"`
	RecoveryURL     string    `json:"recovery_url,omitempty"` // only when shown
	ExpiresAt       time.Time `json:"expires_at"`
	PasskeysRemoved int64     `json:"passkeys_removed"`
	SessionsEnded   int       `json:"sessions_ended"`
	TokensRevoked   int64     `json:"tokens_revoked"`
	Emailed         bool      `json:"emailed"`  // the link went to the user's address
	Notified        bool      `json:"notified"` // the user was told by email that recovery started
}

// cmdUsersRecover starts the recovery of a user who lost their device: by default their passkeys
// are removed and their sessions and tokens revoked at once, and a single-use recovery link is
// emailed to their verified address or shown once to hand over in person.
func cmdUsersRecover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("users recover", stderr)
	org := fs.String("org", "", "organisation slug (required)")
	username := fs.String("username", "", "the user to recover (required)")
	deliver := fs.String("deliver", recovery.DeliverShow, "email (to the user's verified address) or show (print the link once)")
	validFor := fs.Duration("valid-for", recovery.DefaultValidity, "how long the recovery link works (at most 168h)")
	keep := fs.Bool("keep-passkeys", false, "keep the user's passkeys (sessions and tokens are still revoked)")
	output := fs.String("output", "text", "text or json")
	cfg, err := loadConfig(fs, args, append(dbKeys, mailKeys...)...)
	if err != nil {
		return err
	}
	switch {
	case *org == "":
		return &configError{"--org", "required"}
	case *username == "":
		return &configError{"--username", "required"}
	case *deliver != recovery.DeliverEmail && *deliver != recovery.DeliverShow:
		return &configError{"--deliver", "want email or show"}
	case *validFor < time.Minute || *validFor > recovery.MaxValidity:
		return &configError{"--valid-for", "must be between 1m and 168h"}
	case *output != "text" && *output != "json":
		return &configError{"--output", "want text or json"}
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
	u, err := dir.GetUserByUsername(ctx, o.ID, *username)
	if errors.Is(err, database.ErrNotFound) {
		return fmt.Errorf("no user named %q in organisation %s", *username, o.Slug)
	} else if err != nil {
		return err
	}
	if *deliver == recovery.DeliverEmail {
		if !recovery.Emailable(u) {
			return fmt.Errorf("%s has no verified email address, so the recovery link cannot be emailed: "+
				"use --deliver show and hand the link over in person", u.Username)
		}
		if cfg.Mail.Host == "" {
			return errors.New("no SMTP server is configured (smtp-host), so the recovery link cannot be emailed: " +
				"configure SMTP or use --deliver show")
		}
	}
	m, err := newUserMailer(cfg, e)
	if err != nil {
		return err
	}
	log := &audit.Log{DB: e.db, Logger: e.log}
	svc := recoveryService(e, nil, sessionStore(e), nil, log)
	st, err := svc.Start(ctx, u, recovery.StartOptions{Actor: "cli", Delivery: *deliver, ValidFor: *validFor, KeepPasskeys: *keep})
	if err != nil {
		return err
	}
	link := cfg.Issuer + "/recover/" + st.Token
	res := recoverJSON{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, Delivery: *deliver, ExpiresAt: st.ExpiresAt,
		PasskeysRemoved: st.PasskeysRemoved, SessionsEnded: st.SessionsEnded, TokensRevoked: st.TokensRevoked}
	// The email to the user: the link itself when delivered by email, else a notice that recovery
	// started (so that a recovery behind their back does not go unnoticed). Only to a verified address.
	if recovery.Emailable(u) && (m.smtp || *deliver == recovery.DeliverShow) {
		msg, err := recovery.StartedMessage(o, u, *deliver, link, st.ExpiresAt)
		if err == nil {
			err = m.sender.Send(ctx, msg)
		}
		switch {
		case err != nil && *deliver == recovery.DeliverEmail:
			// The passkeys are already gone: the user must not be left without the link.
			e.log.Error("recovery email failed; the link is shown instead, hand it over in person", "user_id", u.ID, "err", err)
			res.Delivery = recovery.DeliverShow
		case err != nil:
			e.log.Warn("recovery notice email failed", "user_id", u.ID, "err", err)
		case *deliver == recovery.DeliverEmail:
			res.Emailed, res.Notified = true, true
		default:
			res.Notified = m.smtp
		}
	}
	if res.Delivery == recovery.DeliverShow {
		res.RecoveryURL = link
	}
	if *output == "json" {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "recovery started for %s (%s): %d passkeys removed, %d sessions ended, %d tokens revoked\n",
		u.Username, u.ID, res.PasskeysRemoved, res.SessionsEnded, res.TokensRevoked)
	if res.RecoveryURL != "" {
		fmt.Fprintf(stdout, "recovery link (single use, valid %s; shown only now): %s\n", *validFor, link)
	}
	if res.Emailed {
		fmt.Fprintf(stdout, "the recovery link was emailed to %s\n", u.Email)
	} else if res.Notified {
		fmt.Fprintf(stdout, "%s was told by email that recovery started\n", u.Email)
	}
	return nil
}
