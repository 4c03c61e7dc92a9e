package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// PurposeRecovery is the enroll.Links purpose of recovery links.
const PurposeRecovery = "recovery"

// Validity of recovery links.
const (
	DefaultValidity  = 24 * time.Hour     // an admin's link, unless they say otherwise
	MaxValidity      = 7 * 24 * time.Hour // an admin's link at most
	CodeLinkValidity = 15 * time.Minute   // the link a recovery code leads to: used at once
)

// Deliveries of a recovery link.
const (
	DeliverEmail = "email" // to the user's verified address
	DeliverShow  = "show"  // shown once to the admin, who hands it over in person
)

// ErrNoVerifiedEmail refuses email delivery to a user without a verified address: the link would
// go to an address nobody has proven to be theirs.
var ErrNoVerifiedEmail = errors.New("recovery: the user has no verified email address")

// Sessions ends sessions (*session.Store implements it).
type Sessions interface {
	EndAllForUser(ctx context.Context, userID, keep string) ([]string, error)
	EndForPasskey(ctx context.Context, userID, passkeyID string) ([]string, error)
}

// UserTokens revokes every token issued to a user (provider/store.UserTokens implements it).
type UserTokens interface {
	RevokeForUser(ctx context.Context, userID string) (int64, error)
}

// SessionTokens revokes the tokens one sign-in session granted (*provider/store.Store).
type SessionTokens interface {
	RevokeBySession(ctx context.Context, sid string) error
}

// PasskeyRemover removes one of a user's passkeys, never the last (*passkey.Service).
type PasskeyRemover interface {
	Remove(ctx context.Context, userID, id string) error
}

// Service starts recoveries and handles lost devices. Fields a use does not need may be nil:
// the CLI's Start needs no SessionTokens or Passkeys, the account page's LostDevice no Links.
type Service struct {
	DB            *database.DB
	Links         *enroll.Links
	Sessions      Sessions
	UserTokens    UserTokens
	SessionTokens SessionTokens
	Passkeys      PasskeyRemover
	Audit         *audit.Log
}

// StartOptions say how an admin's recovery goes.
type StartOptions struct {
	Actor        string        // who started it, for the audit log: "cli", "user:ID"
	Delivery     string        // DeliverEmail or DeliverShow
	ValidFor     time.Duration // 0: DefaultValidity
	KeepPasskeys bool          // leave the user's passkeys (the device was not lost, only forgotten)
}

// Started is what Start did.
type Started struct {
	Token           string // the link's token: shown or emailed once, never stored
	ExpiresAt       time.Time
	PasskeysRemoved int64
	SessionsEnded   int
	TokensRevoked   int64
}

// Start begins the recovery of u, in one transaction: unless KeepPasskeys, every passkey of the
// user is removed (directly: "never the last passkey" protects users from themselves, and here the
// admin replaces them all); every session ends; every token is revoked; a single-use recovery link
// is issued; and recovery.started is audited. Delivering the link is the caller's job, after the
// transaction.
func (s *Service) Start(ctx context.Context, u directory.User, o StartOptions) (Started, error) {
	if o.ValidFor == 0 {
		o.ValidFor = DefaultValidity
	}
	if o.ValidFor < time.Minute || o.ValidFor > MaxValidity {
		return Started{}, fmt.Errorf("recovery: a link may be valid from 1m to %s, not %s", MaxValidity, o.ValidFor)
	}
	if o.Delivery != DeliverEmail && o.Delivery != DeliverShow {
		return Started{}, fmt.Errorf("recovery: delivery %q: use %q or %q", o.Delivery, DeliverEmail, DeliverShow)
	}
	if o.Delivery == DeliverEmail && (u.Email == "" || !u.EmailVerified) {
		return Started{}, ErrNoVerifiedEmail
	}
	if !u.Active() {
		return Started{}, fmt.Errorf("recovery: user %s is %s; enable them first", u.Username, u.Status)
	}
	var st Started
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		if !o.KeepPasskeys {
			res := s.DB.Conn(ctx).Exec(`DELETE FROM passkeys WHERE user_id = ?`, u.ID)
			if res.Error != nil {
				return res.Error
			}
			st.PasskeysRemoved = res.RowsAffected
		}
		ended, err := s.Sessions.EndAllForUser(ctx, u.ID, "")
		if err != nil {
			return err
		}
		st.SessionsEnded = len(ended)
		if st.TokensRevoked, err = s.UserTokens.RevokeForUser(ctx, u.ID); err != nil {
			return err
		}
		// Only the newest recovery link works: one handed over earlier and not used is dead.
		if err := s.Links.ExpireForUser(ctx, PurposeRecovery, u.ID); err != nil {
			return err
		}
		if st.Token, err = s.Links.Create(ctx, PurposeRecovery, u.ID, o.Actor, o.ValidFor); err != nil {
			return err
		}
		st.ExpiresAt = time.Now().UTC().Add(o.ValidFor)
		return s.Audit.Record(ctx, audit.Event{Action: "recovery.started", OrgID: u.OrgID, Actor: o.Actor, UserID: u.ID,
			Details: map[string]any{"username": u.Username, "delivery": o.Delivery, "valid_for": o.ValidFor.String(),
				"passkeys_removed": st.PasskeysRemoved, "passkeys_kept": o.KeepPasskeys,
				"sessions_ended": st.SessionsEnded, "tokens_revoked": st.TokensRevoked}})
	})
	if err != nil {
		return Started{}, err
	}
	return st, nil
}

// Lost is what LostDevice did.
type Lost struct {
	SessionsEnded []string // ids of the sessions that passkey had signed in
}

// LostDevice handles "I lost this device" for one of u's passkeys, in one transaction: the passkey
// is removed (ErrLastPasskey from the passkey service when it is the only one: the user would be
// left with no way in, and an admin's recovery is the way then), the sessions it signed in end,
// and their tokens are revoked; passkey.lost is audited with event e's request details.
func (s *Service) LostDevice(ctx context.Context, u directory.User, passkeyID string, e audit.Event) (Lost, error) {
	var lost Lost
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := s.Passkeys.Remove(ctx, u.ID, passkeyID); err != nil {
			return err
		}
		ids, err := s.Sessions.EndForPasskey(ctx, u.ID, passkeyID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.SessionTokens.RevokeBySession(ctx, id); err != nil {
				return err
			}
		}
		lost.SessionsEnded = ids
		if lost.SessionsEnded == nil {
			lost.SessionsEnded = []string{}
		}
		e.Action, e.OrgID, e.UserID = "passkey.lost", u.OrgID, u.ID
		if e.Actor == "" {
			e.Actor = "user:" + u.ID
		}
		details := map[string]any{"passkey": passkeyID, "sessions_ended": lost.SessionsEnded}
		for k, v := range e.Details {
			details[k] = v
		}
		e.Details = details
		return s.Audit.Record(ctx, e)
	})
	return lost, err
}
