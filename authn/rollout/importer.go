package rollout

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// Sessions ends a user's sign-in sessions.
type Sessions interface {
	EndAllForUser(ctx context.Context, userID, keep string) ([]string, error)
}

// Tokens revokes every access and refresh token issued to a user.
type Tokens interface {
	RevokeForUser(ctx context.Context, userID string) (int64, error)
}

// Importer applies CSV imports of joiners and leavers.
type Importer struct {
	DB           *database.DB
	Users        *directory.Store
	Links        *enroll.Links
	Sessions     Sessions
	Tokens       Tokens
	Audit        *audit.Log
	LinkValidity time.Duration
}

// Joined is a user an import created, with the token of their enrollment link (shown or mailed
// once, never stored).
type Joined struct {
	User  directory.User
	Token string
}

// Result is what an applied import did.
type Result struct {
	Created                    []Joined
	Updated, Disabled, Enabled int
}

// Existing lists an organisation's users in the shape roster.MakePlan compares against.
func (im *Importer) Existing(ctx context.Context, orgID string) ([]roster.Existing, error) {
	users, err := im.Users.ListUsers(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]roster.Existing, 0, len(users))
	for _, u := range users {
		out = append(out, roster.Existing{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email,
			Roles: u.Roles, Disabled: !u.Active(), HasPassword: u.HasPassword})
	}
	return out, nil
}

// Apply carries out a plan in one transaction: all of it or, on any error, none of it. actor
// names who imports ("cli", "user:ID", "client:ID") in the audit log.
func (im *Importer) Apply(ctx context.Context, orgID string, plan roster.Plan, actor string) (Result, error) {
	var res Result
	err := im.DB.InTx(ctx, func(ctx context.Context) error {
		res = Result{}
		for _, row := range plan.Create {
			j, err := im.create(ctx, orgID, row, actor)
			if err != nil {
				return fmt.Errorf("line %d (%s): %w", row.Line, row.Username, err)
			}
			res.Created = append(res.Created, j)
		}
		for _, ch := range plan.Update {
			if err := im.update(ctx, orgID, ch, actor); err != nil {
				return fmt.Errorf("line %d (%s): %w", ch.Row.Line, ch.Row.Username, err)
			}
			if len(ch.Fields) > 0 {
				res.Updated++
			}
			if ch.Enable {
				res.Enabled++
			}
		}
		for _, u := range plan.Disable {
			if err := im.Disable(ctx, orgID, u.ID, actor, "import"); err != nil {
				return fmt.Errorf("%s: %w", u.Username, err)
			}
			res.Disabled++
		}
		return im.Audit.Record(ctx, audit.Event{Action: "users.imported", OrgID: orgID, Actor: actor,
			Details: map[string]any{"mode": string(plan.Mode), "created": len(res.Created), "updated": res.Updated,
				"disabled": res.Disabled, "enabled": res.Enabled}})
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

func (im *Importer) create(ctx context.Context, orgID string, row roster.Row, actor string) (Joined, error) {
	u, err := im.Users.CreateUser(ctx, directory.User{OrgID: orgID, Username: row.Username,
		DisplayName: row.DisplayName, Email: row.Email, Roles: row.Roles,
		// The organisation vouches for the addresses it imports (directory.Store.UpdateProfile).
		EmailVerified: row.Email != ""})
	if err != nil {
		return Joined{}, err
	}
	if row.PasswordHash != "" {
		if err := im.Users.SetPasswordHash(ctx, u.ID, row.PasswordHash); err != nil {
			return Joined{}, err
		}
		u.HasPassword = true
	}
	token, err := im.Links.Create(ctx, enroll.PurposeEnrollment, u.ID, actor, im.LinkValidity)
	if err != nil {
		return Joined{}, err
	}
	if err := im.Audit.Record(ctx, audit.Event{Action: "user.created", OrgID: orgID, Actor: actor, UserID: u.ID,
		Details: map[string]any{"username": u.Username, "roles": u.Roles, "via": "import",
			"imported_password": row.PasswordHash != ""}}); err != nil {
		return Joined{}, err
	}
	if err := im.Audit.Record(ctx, audit.Event{Action: "enrollment.issued", OrgID: orgID, Actor: actor, UserID: u.ID,
		Details: map[string]any{"valid_for": im.LinkValidity.String()}}); err != nil {
		return Joined{}, err
	}
	return Joined{User: u, Token: token}, nil
}

func (im *Importer) update(ctx context.Context, orgID string, ch roster.Change, actor string) error {
	id := ch.Existing.ID
	profile := false
	display, email, roles := ch.Existing.DisplayName, ch.Existing.Email, ch.Existing.Roles
	for _, f := range ch.Fields {
		switch f {
		case "display_name":
			display, profile = ch.Row.DisplayName, true
		case "email":
			email, profile = ch.Row.Email, true
		case "roles":
			roles, profile = ch.Row.Roles, true
		case "password_hash":
			if err := im.Users.SetPasswordHash(ctx, id, ch.Row.PasswordHash); err != nil {
				return err
			}
		}
	}
	if profile {
		if err := im.Users.UpdateProfile(ctx, id, display, email, roles); err != nil {
			return err
		}
	}
	if len(ch.Fields) > 0 {
		if err := im.Audit.Record(ctx, audit.Event{Action: "user.updated", OrgID: orgID, Actor: actor, UserID: id,
			Details: map[string]any{"fields": slices.Clone(ch.Fields), "via": "import"}}); err != nil {
			return err
		}
	}
	if ch.Enable {
		if err := im.Users.SetStatus(ctx, id, directory.StatusActive); err != nil {
			return err
		}
		return im.Audit.Record(ctx, audit.Event{Action: "user.enabled", OrgID: orgID, Actor: actor, UserID: id,
			Details: map[string]any{"via": "import"}})
	}
	return nil
}

// Disable disables a user, ends their sessions and revokes their tokens, in the caller's
// transaction when ctx carries one: a leaver's refresh token stops working at once.
func (im *Importer) Disable(ctx context.Context, orgID, userID, actor, via string) error {
	return im.DB.InTx(ctx, func(ctx context.Context) error {
		if err := im.Users.SetStatus(ctx, userID, directory.StatusDisabled); err != nil {
			return err
		}
		ended, err := im.Sessions.EndAllForUser(ctx, userID, "")
		if err != nil {
			return err
		}
		revoked, err := im.Tokens.RevokeForUser(ctx, userID)
		if err != nil {
			return err
		}
		return im.Audit.Record(ctx, audit.Event{Action: "user.disabled", OrgID: orgID, Actor: actor, UserID: userID,
			Details: map[string]any{"via": via, "sessions_ended": len(ended), "tokens_revoked": revoked}})
	})
}
