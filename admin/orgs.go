package admin

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// ListOrgs returns a page of organisations, by slug (instance actors only).
func (s *Service) ListOrgs(ctx context.Context, a Actor, p Page) ([]directory.Org, string, error) {
	list, next, err := s.listOrgs(ctx, a, p)
	return list, next, s.read(ctx, a, audit.Event{Action: "orgs.listed"}, err)
}

func (s *Service) listOrgs(ctx context.Context, a Actor, p Page) ([]directory.Org, string, error) {
	if err := requireInstance(a); err != nil {
		return nil, "", err
	}
	orgs, err := s.Directory.ListOrgs(ctx)
	if err != nil {
		return nil, "", err
	}
	// ListOrgs puts the system organisation first; pages need one order by one key.
	sortBy(orgs, func(o directory.Org) string { return o.Slug })
	return pageOf(orgs, func(o directory.Org) string { return o.Slug }, p)
}

// GetOrg returns an organisation by slug (instance actors only).
func (s *Service) GetOrg(ctx context.Context, a Actor, slug string) (directory.Org, error) {
	o, err := s.getOrg(ctx, a, slug)
	return o, s.read(ctx, a, audit.Event{Action: "org.viewed", Details: map[string]any{"slug": slug}}, err)
}

func (s *Service) getOrg(ctx context.Context, a Actor, slug string) (directory.Org, error) {
	if err := requireInstance(a); err != nil {
		return directory.Org{}, err
	}
	o, err := s.Directory.GetOrgBySlug(ctx, slug)
	if errors.Is(err, database.ErrNotFound) {
		return o, notFound("organisation")
	}
	return o, err
}

// CreateOrg creates an organisation; it starts with the default policy (passkeys off).
func (s *Service) CreateOrg(ctx context.Context, a Actor, slug, name string) (directory.Org, error) {
	slug, name = strings.TrimSpace(slug), strings.TrimSpace(name)
	e := audit.Event{Action: "org.created", Details: map[string]any{"slug": slug, "name": name}}
	if err := requireInstance(a); err != nil {
		return directory.Org{}, s.done(ctx, a, e, err, false)
	}
	if err := validateOrg(slug, name); err != nil {
		return directory.Org{}, s.done(ctx, a, e, err, false)
	}
	var org directory.Org
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		var err error
		if org, err = s.Directory.CreateOrg(ctx, slug, name); err != nil {
			if errors.Is(err, database.ErrAlreadyExists) {
				return conflict(CodeAlreadyExists, "slug", "An organisation with this slug already exists.")
			}
			return err
		}
		e.OrgID = org.ID
		return s.Audit.Record(ctx, s.event(a, e))
	})
	return org, s.done(ctx, a, e, err, false)
}

func validateOrg(slug, name string) error {
	if err := directory.ValidateSlug(slug); err != nil {
		return invalid("slug", "Use 1 to 63 lower-case letters, digits or inner hyphens.")
	}
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return invalid("name", "Give the organisation a name of 1 to 200 characters.")
	}
	return nil
}

// ownOrg returns the actor's organisation.
func (s *Service) ownOrg(ctx context.Context, a Actor) (directory.Org, error) {
	o, err := s.Directory.GetOrg(ctx, a.OrgID)
	if errors.Is(err, database.ErrNotFound) {
		return o, notFound("organisation")
	}
	return o, err
}
