package admin

import (
	"context"
	"strconv"
	"time"

	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/provider/keys"
)

// Adoption reports how far the actor's organisation has moved to passkeys.
func (s *Service) Adoption(ctx context.Context, a Actor) (rollout.Adoption, error) {
	ad, err := s.reports().Adoption(ctx, a.OrgID)
	return ad, s.read(ctx, a, audit.Event{Action: "adoption.viewed"}, err)
}

// SigningKeys lists the signing keys with their states (instance actors only).
func (s *Service) SigningKeys(ctx context.Context, a Actor) ([]keys.KeyInfo, error) {
	err := requireInstance(a)
	var list []keys.KeyInfo
	if err == nil {
		list, err = s.Keys.List(ctx)
	}
	return list, s.read(ctx, a, audit.Event{Action: "keys.listed"}, err)
}

// RotateKeys makes the next key of alg ("" for every algorithm) active and returns the kids now
// signing (instance actors only).
func (s *Service) RotateKeys(ctx context.Context, a Actor, alg string) ([]string, error) {
	e := audit.Event{Action: "keys.rotated", Details: map[string]any{"alg": alg}}
	err := requireInstance(a)
	if err == nil && alg != "" && !keys.Supported(alg) {
		err = invalid("alg", "Use ES256 or RS256, or leave it out to rotate both.")
	}
	if err != nil {
		return nil, s.done(ctx, a, e, err, false)
	}
	// Rotation takes its own lock and transaction (keys.Manager); the audit record follows it.
	kids, err := s.Keys.Rotate(ctx, alg)
	if err != nil {
		return nil, err
	}
	e.Details["active"] = kids
	return kids, s.read(ctx, a, e, nil)
}

// AuditFilter narrows AuditEvents.
type AuditFilter struct {
	UserID, Action string
	Since, Until   time.Time
}

// AuditEvents returns a page of the actor's organisation's audit log, newest first.
func (s *Service) AuditEvents(ctx context.Context, a Actor, f AuditFilter, p Page) ([]audit.Stored, string, error) {
	list, next, err := s.auditEvents(ctx, a, f, p)
	return list, next, s.read(ctx, a, audit.Event{Action: "audit.queried", Details: auditDetails(f)}, err)
}

func auditDetails(f AuditFilter) map[string]any {
	d := map[string]any{}
	if f.UserID != "" {
		d["user_id"] = f.UserID
	}
	if f.Action != "" {
		d["action"] = f.Action
	}
	return d
}

func (s *Service) auditEvents(ctx context.Context, a Actor, f AuditFilter, p Page) ([]audit.Stored, string, error) {
	after, err := p.after()
	if err != nil {
		return nil, "", err
	}
	var before int64
	if after != "" {
		if before, err = strconv.ParseInt(after, 10, 64); err != nil || before <= 0 {
			return nil, "", invalid("cursor", "is not a cursor this API returned")
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, "", invalid("until", "Must be after since.")
	}
	limit := p.limit()
	list, err := s.Audit.Query(ctx, audit.Filter{OrgID: a.OrgID, UserID: f.UserID, Action: f.Action,
		Since: f.Since, Until: f.Until, Before: before, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = cursor(strconv.FormatInt(list[limit-1].ID, 10))
	}
	return list, next, nil
}

// ExportAudit calls emit with every event of the actor's organisation that matches f, newest
// first, a page at a time; the export itself is audited first.
func (s *Service) ExportAudit(ctx context.Context, a Actor, f AuditFilter, emit func(audit.Stored) error) error {
	e := audit.Event{Action: "audit.exported", Details: auditDetails(f)}
	var err error
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		err = invalid("until", "Must be after since.")
	}
	if err := s.read(ctx, a, e, err); err != nil {
		return err
	}
	p := Page{Limit: MaxLimit}
	for {
		list, next, err := s.auditEvents(ctx, a, f, p)
		if err != nil {
			return err
		}
		for _, ev := range list {
			if err := emit(ev); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		p.Cursor = next
	}
}
