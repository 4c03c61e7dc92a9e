package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/keys"
)

// Passkeys lists a user's passkeys (passkey.Service).
type Passkeys interface {
	List(ctx context.Context, userID string) ([]passkey.Credential, error)
}

// SessionTokens revokes the tokens issued in one sign-in session (provider/store.Store).
type SessionTokens interface {
	RevokeBySession(ctx context.Context, sid string) error
}

// EnrollmentMailer emails a user their enrollment link and reports whether it did: false (and no
// error) when no mail server is configured or the user has no address, and the link is to be
// handed over instead.
type EnrollmentMailer func(ctx context.Context, org directory.Org, u directory.User, link string, validFor time.Duration) (bool, error)

// Service runs the administration use cases. Callers fill in what their use cases need: the
// command line builds one with only the database-backed parts.
type Service struct {
	DB        *database.DB
	Directory *directory.Store
	Links     *enroll.Links
	Sessions  *session.Store
	// UserTokens revokes all of a user's tokens (provider/store.UserTokens).
	UserTokens    rollout.Tokens
	SessionTokens SessionTokens
	Passkeys      Passkeys
	Clients       *clients.Store
	// ClientSecrets hashes new client secrets (the "client-secret" purpose of the system secret).
	ClientSecrets *secret.Hasher
	Keys          *keys.Manager
	Audit         *audit.Log
	// Mail delivers enrollment links when asked to; nil never emails.
	Mail EnrollmentMailer
	// Issuer is the public URL links are built on.
	Issuer string
	// LinkValidity is how long enrollment links work; 0 means DefaultLinkValidity.
	LinkValidity time.Duration
	Now          func() time.Time
}

// DefaultLinkValidity is how long an enrollment link works unless the caller says otherwise.
const DefaultLinkValidity = 7 * 24 * time.Hour

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) linkValidity() time.Duration {
	if s.LinkValidity > 0 {
		return s.LinkValidity
	}
	return DefaultLinkValidity
}

func (s *Service) reports() *rollout.Reports { return &rollout.Reports{DB: s.DB} }

func (s *Service) importer(validFor time.Duration) *rollout.Importer {
	return &rollout.Importer{DB: s.DB, Users: s.Directory, Links: s.Links, Sessions: s.Sessions,
		Tokens: s.UserTokens, Audit: s.Audit, LinkValidity: validFor}
}

// Actor is who runs a use case, as the audit log names them, and the organisation they
// administer.
type Actor struct {
	// Name is the audit actor: "client:ID" (admin API), "user:ID" (admin pages) or "cli".
	Name  string
	OrgID string
	// Instance: the actor may also manage organisations and signing keys. Admins and clients of
	// the system organisation, and the command line, may.
	Instance      bool
	IP, UserAgent string
}

// ClientActor is a client of the admin API acting for its organisation.
func ClientActor(clientID, orgID, ip, userAgent string) Actor {
	return Actor{Name: "client:" + clientID, OrgID: orgID, Instance: orgID == directory.SystemOrgID, IP: ip, UserAgent: userAgent}
}

// UserActor is an admin signed in to the admin pages.
func UserActor(userID, orgID, ip, userAgent string) Actor {
	return Actor{Name: "user:" + userID, OrgID: orgID, Instance: orgID == directory.SystemOrgID, IP: ip, UserAgent: userAgent}
}

// CLI is the command line, acting on one organisation (the operator may act on any).
func CLI(orgID string) Actor { return Actor{Name: cliActor, OrgID: orgID, Instance: true} }

const cliActor = "cli"

func (s *Service) event(a Actor, e audit.Event) audit.Event {
	e.Actor = a.Name
	if e.OrgID == "" {
		e.OrgID = a.OrgID
	}
	e.IP, e.UserAgent = a.IP, a.UserAgent
	return e
}

// change runs fn and records e in one transaction: a change is never left unaudited.
func (s *Service) change(ctx context.Context, a Actor, e audit.Event, fn func(ctx context.Context) error) error {
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, s.event(a, e))
	})
	return s.done(ctx, a, e, err, false)
}

// done audits the outcome of a use case and returns err. A success is recorded unless recorded
// already (a change records it in its transaction); a refusal is recorded as a failure, so that
// probing for other organisations' ids shows in the log. A read whose record cannot be written
// fails: every call is audited.
func (s *Service) done(ctx context.Context, a Actor, e audit.Event, err error, recordSuccess bool) error {
	if err == nil {
		if recordSuccess {
			return s.Audit.Record(ctx, s.event(a, e))
		}
		return nil
	}
	// The command line tells its operator why and changed nothing; refusals of remote callers,
	// who may be probing for what they cannot reach, are recorded.
	if ae, ok := AsError(err); ok && a.Name != cliActor {
		e.Outcome = audit.Failure
		details := map[string]any{"error": ae.Code}
		if ae.Field != "" {
			details["field"] = ae.Field
		}
		for k, v := range e.Details {
			if _, set := details[k]; !set {
				details[k] = v
			}
		}
		e.Details = details
		_ = s.Audit.Record(ctx, s.event(a, e))
	}
	return err
}

// read audits a read that succeeded or explains why it failed.
func (s *Service) read(ctx context.Context, a Actor, e audit.Event, err error) error {
	return s.done(ctx, a, e, err, true)
}

// requireInstance refuses actors who may not manage the instance.
func requireInstance(a Actor) error {
	if !a.Instance {
		return forbidden("Only administrators of the system organisation may do this.")
	}
	return nil
}

// Paging.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page asks for one page of a list: after Cursor (the NextCursor of the page before, "" for the
// first), at most Limit items (0 means DefaultLimit).
type Page struct {
	Cursor string
	Limit  int
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return DefaultLimit
	}
	return min(p.Limit, MaxLimit)
}

// after decodes the cursor into the sort key it carries.
func (p Page) after() (string, error) {
	if p.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(b) == 0 {
		return "", invalid("cursor", "is not a cursor this API returned")
	}
	return string(b), nil
}

// cursor makes the opaque cursor of a sort key.
func cursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// pageOf returns the page of items (sorted ascending by key) that follows the page's cursor, and
// the cursor of the next page ("" when this is the last).
func pageOf[T any](items []T, key func(T) string, p Page) ([]T, string, error) {
	after, err := p.after()
	if err != nil {
		return nil, "", err
	}
	start := 0
	if after != "" {
		for start < len(items) && key(items[start]) <= after {
			start++
		}
	}
	end := min(start+p.limit(), len(items))
	next := ""
	if end < len(items) && end > start {
		next = cursor(key(items[end-1]))
	}
	return items[start:end], next, nil
}

// newestFirst is a sort key that orders newer times first, then by id.
func newestFirst(t time.Time, id string) string {
	return fmt.Sprintf("%019d|%s", int64(1)<<62-t.UnixNano(), id)
}
