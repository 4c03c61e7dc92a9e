package admin

import (
	"context"
	"errors"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/mail"
)

// Recoveries starts account recoveries for an admin (PRODUCT.md journey 5) on top of the
// Service's scoping and auditing. It is a type of its own because it needs the recovery service
// and a mail sender, which the Service's other use cases do not.
type Recoveries struct {
	Service  *Service
	Recovery *recovery.Service
	// Mail sends the recovery link (delivery "email") or the notice that recovery started
	// (delivery "show"); nil when no mail server is configured: email delivery is then refused.
	Mail mail.Sender
}

// RecoveryRequest is how an admin wants a recovery to go.
type RecoveryRequest struct {
	Delivery     string        // recovery.DeliverShow or recovery.DeliverEmail
	ValidFor     time.Duration // 0: recovery.DefaultValidity
	KeepPasskeys bool          // the device was not lost: leave its passkeys
}

// RecoveryStarted is what starting a recovery did. URL is set only when the link is to be shown
// (once) to the admin; an emailed link is never shown.
type RecoveryStarted struct {
	User            directory.User
	Delivery        string // as delivered: an email that failed falls back to "show"
	URL             string
	ExpiresAt       time.Time
	Emailed         bool
	PasskeysRemoved int64
	SessionsEnded   int
	TokensRevoked   int64
}

// Start begins the recovery of a user of the actor's organisation (recovery.Service.Start: their
// passkeys, unless kept, sessions and tokens are revoked and a single-use link is issued, all
// audited as recovery.started with the actor). A refusal is audited as a failure.
func (rc *Recoveries) Start(ctx context.Context, a Actor, userID string, req RecoveryRequest) (RecoveryStarted, error) {
	s := rc.Service
	e := audit.Event{Action: "recovery.started", UserID: userID, Details: map[string]any{"delivery": req.Delivery}}
	u, err := s.user(ctx, a, userID)
	if err == nil {
		err = validateRecovery(u, req, rc.Mail != nil)
	}
	var org directory.Org
	if err == nil {
		org, err = s.ownOrg(ctx, a)
	}
	if err != nil {
		return RecoveryStarted{}, s.done(ctx, a, e, err, false)
	}
	st, err := rc.Recovery.Start(ctx, u, recovery.StartOptions{Actor: a.Name, Delivery: req.Delivery,
		ValidFor: req.ValidFor, KeepPasskeys: req.KeepPasskeys})
	if errors.Is(err, recovery.ErrNoVerifiedEmail) {
		err = invalid("delivery", "The user has no verified email address: show the link and hand it over instead.")
	}
	if err != nil {
		return RecoveryStarted{}, s.done(ctx, a, e, err, false)
	}
	link := s.Issuer + "/recover/" + st.Token
	out := RecoveryStarted{User: u, Delivery: req.Delivery, ExpiresAt: st.ExpiresAt, PasskeysRemoved: st.PasskeysRemoved,
		SessionsEnded: st.SessionsEnded, TokensRevoked: st.TokensRevoked}
	// The email: the link itself when delivered by email, else a notice that recovery started, so
	// that a recovery behind the user's back does not go unnoticed. Only to a verified address.
	var sendErr error
	if rc.Mail != nil && recovery.Emailable(u) {
		msg, err := recovery.StartedMessage(org, u, req.Delivery, link, st.ExpiresAt)
		if err == nil {
			err = rc.Mail.Send(ctx, msg)
		}
		sendErr = err
	}
	switch {
	case req.Delivery == recovery.DeliverEmail && sendErr == nil:
		out.Emailed = true
		_ = s.Audit.Record(ctx, s.event(a, audit.Event{Action: "recovery.emailed", UserID: u.ID}))
	case req.Delivery == recovery.DeliverEmail:
		// The passkeys are already gone: the user must not be left without the link.
		out.Delivery, out.URL = recovery.DeliverShow, link
		_ = s.Audit.Record(ctx, s.event(a, audit.Event{Action: "recovery.email_failed", Outcome: audit.Failure,
			UserID: u.ID, Details: map[string]any{"error": sendErr.Error()}}))
	default:
		out.URL = link
	}
	return out, nil
}

func validateRecovery(u directory.User, req RecoveryRequest, canMail bool) error {
	switch {
	case req.Delivery != recovery.DeliverShow && req.Delivery != recovery.DeliverEmail:
		return invalid("delivery", "Use show or email.")
	case req.ValidFor != 0 && (req.ValidFor < time.Minute || req.ValidFor > recovery.MaxValidity):
		return invalid("valid_for", "Must be between 1m and 168h.")
	case !u.Active():
		return conflict(CodeUserDisabled, "", "The user is disabled; enable them first.")
	case req.Delivery == recovery.DeliverEmail && !recovery.Emailable(u):
		return invalid("delivery", "The user has no verified email address: show the link and hand it over instead.")
	case req.Delivery == recovery.DeliverEmail && !canMail:
		return invalid("delivery", "No mail server is configured: show the link and hand it over instead.")
	}
	return nil
}
