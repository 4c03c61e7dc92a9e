package admin

import (
	"context"
	"io"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/internal/audit"
)

// Import is a CSV import of joiners and leavers (columns: username, display_name, email, roles,
// password_hash; see authn/roster).
type Import struct {
	Mode   roster.Mode
	DryRun bool // only say what would change
	// SendEmail emails each new user their enrollment link where possible (see NewUser).
	SendEmail bool
	ValidFor  time.Duration // of the new users' enrollment links; 0 means the default
}

// ImportResult is what an import did, or would do in a dry run.
type ImportResult struct {
	DryRun  bool
	Mode    roster.Mode
	Summary []string // the plan in sentences (roster.Plan.Summary)
	Created []Imported
	// Counts of what was applied (zero in a dry run).
	Updated, Enabled, Disabled int
}

// Imported is a user an import created, with their enrollment link.
type Imported struct {
	User       directory.User
	Enrollment Enrollment
}

// ImportCSV parses a CSV file and imports it into the actor's organisation (ImportRows).
func (s *Service) ImportCSV(ctx context.Context, a Actor, csv io.Reader, im Import) (ImportResult, error) {
	rows, err := roster.Parse(csv, password.CheckImported)
	if err != nil {
		return ImportResult{}, s.done(ctx, a, importEvent(im), csvError(err), false)
	}
	return s.ImportRows(ctx, a, rows, im)
}

func importEvent(im Import) audit.Event {
	return audit.Event{Action: "users.imported", Details: map[string]any{"mode": string(im.Mode), "dry_run": im.DryRun}}
}

// ImportRows plans the import of parsed rows against the organisation's users and, unless it is
// a dry run, applies the plan in one transaction (rollout.Importer.Apply): all of it or nothing.
// A plan that would disable every active admin is refused whole.
func (s *Service) ImportRows(ctx context.Context, a Actor, rows []roster.Row, im Import) (ImportResult, error) {
	e := importEvent(im)
	res, err := s.importRows(ctx, a, rows, im)
	if err != nil {
		return ImportResult{}, s.done(ctx, a, e, err, false)
	}
	if im.DryRun {
		e.Action = "users.import_previewed"
		return res, s.read(ctx, a, e, nil)
	}
	// Apply recorded users.imported in its transaction.
	return res, nil
}

func (s *Service) importRows(ctx context.Context, a Actor, rows []roster.Row, im Import) (ImportResult, error) {
	if _, err := roster.ParseMode(string(im.Mode)); err != nil {
		return ImportResult{}, invalid("mode", "Use joiners, leavers or full-sync.")
	}
	validFor, err := s.validFor(im.ValidFor)
	if err != nil {
		return ImportResult{}, err
	}
	org, err := s.ownOrg(ctx, a)
	if err != nil {
		return ImportResult{}, err
	}
	imp := s.importer(validFor)
	existing, err := imp.Existing(ctx, org.ID)
	if err != nil {
		return ImportResult{}, err
	}
	plan, err := roster.MakePlan(rows, existing, im.Mode)
	if err != nil {
		return ImportResult{}, csvError(err)
	}
	if err := KeepsAnAdmin(existing, plan); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{DryRun: im.DryRun, Mode: im.Mode, Summary: plan.Summary(), Created: []Imported{}}
	if im.DryRun || plan.Empty() {
		return res, nil
	}
	applied, err := imp.Apply(ctx, org.ID, plan, a.Name)
	if err != nil {
		return ImportResult{}, err
	}
	res.Updated, res.Enabled, res.Disabled = applied.Updated, applied.Enabled, applied.Disabled
	for _, j := range applied.Created {
		res.Created = append(res.Created, Imported{User: j.User,
			Enrollment: s.deliver(ctx, a, org, j.User, j.Token, validFor, im.SendEmail)})
	}
	return res, nil
}

// KeepsAnAdmin refuses a plan that disables every active admin of an organisation that has one:
// the organisation would be left with nobody to run it (and a full-sync file that forgot the
// admins is the likeliest cause).
func KeepsAnAdmin(existing []roster.Existing, plan roster.Plan) error {
	leaving := map[string]bool{}
	for _, u := range plan.Disable {
		leaving[u.ID] = true
	}
	admins, staying := 0, 0
	for _, u := range existing {
		if u.Disabled || !slices.Contains(u.Roles, roster.AdminRole) {
			continue
		}
		admins++
		if !leaving[u.ID] {
			staying++
		}
	}
	for _, row := range plan.Create {
		if slices.Contains(row.Roles, roster.AdminRole) {
			admins++
			staying++
		}
	}
	if admins > 0 && staying == 0 {
		return conflict(CodeLastAdmin, "", "This import would disable every active admin of the organisation; keep at least one.")
	}
	return nil
}
