package admin

import (
	"context"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/audit"
)

// Policy returns the actor's organisation with its passkey policy.
func (s *Service) Policy(ctx context.Context, a Actor) (directory.Org, error) {
	o, err := s.ownOrg(ctx, a)
	return o, s.read(ctx, a, audit.Event{Action: "policy.viewed"}, err)
}

// PolicyChange is what changing the policy does (or would do).
type PolicyChange struct {
	Org      directory.Org // as it is after the change (or would be)
	Previous policy.Policy
	Impact   policy.Impact
	Applied  bool
}

// ChangePolicy previews a new policy for the actor's organisation: who is affected and how
// (policy.Preview). With apply it also stores it; without, nothing changes, so that a change
// never locks anyone out silently (PRODUCT.md: the admin sees who is affected first).
//
// edit changes a copy of the current policy; an error it returns (an *Error naming the field,
// when it parses what an admin typed) refuses the change.
func (s *Service) ChangePolicy(ctx context.Context, a Actor, edit func(*policy.Policy) error, apply bool) (PolicyChange, error) {
	action := "policy.previewed"
	if apply {
		action = "org.policy_changed"
	}
	e := audit.Event{Action: action}
	org, err := s.ownOrg(ctx, a)
	next := org.Policy
	next.AllowedAAGUIDs = append([]string(nil), org.Policy.AllowedAAGUIDs...)
	if err == nil {
		err = edit(&next)
	}
	if err == nil {
		next, err = ValidatePolicy(next)
	}
	if err != nil {
		return PolicyChange{}, s.done(ctx, a, e, err, false)
	}
	users, err := s.reports().Summaries(ctx, org.ID)
	if err != nil {
		return PolicyChange{}, err
	}
	impact := policy.Preview(org.Policy, next, users, s.now())
	out := PolicyChange{Org: org, Previous: org.Policy, Impact: impact, Applied: apply}
	out.Org.Policy = next
	e.Details = map[string]any{"from": PolicyDetails(org.Policy), "to": PolicyDetails(next), "impact": impact.Lines}
	if !apply {
		return out, s.read(ctx, a, e, nil)
	}
	err = s.change(ctx, a, e, func(ctx context.Context) error { return s.Directory.SetPolicy(ctx, org.ID, next) })
	return out, err
}

// ValidatePolicy checks a policy field by field, naming the field at fault as the JSON API does,
// and returns it in canonical form.
func ValidatePolicy(p policy.Policy) (policy.Policy, error) {
	if _, err := policy.ParseMode(string(p.Mode)); err != nil {
		return p, invalid("passkeys", "Use off, optional or mandatory.")
	}
	if p.RemindAfter < 0 {
		return p, invalid("remind_after", "Use 0 (ask at every sign-in) or a positive duration such as 72h.")
	}
	if p.PasswordsEndAt != nil && p.Mode != policy.Mandatory {
		return p, invalid("passwords_end_at", "A date when passwords stop working needs passkeys mandatory.")
	}
	for _, id := range p.AllowedAAGUIDs {
		if _, err := (policy.Policy{Mode: policy.Off, AllowedAAGUIDs: []string{id}}).Normalize(); err != nil {
			return p, invalid("allowed_aaguids", "%s", err.Error())
		}
	}
	n, err := p.Normalize()
	if err != nil {
		return p, invalid("policy", "%s", err.Error())
	}
	return n, nil
}

// PolicyDetails is a policy as the audit log and the JSON API write it.
func PolicyDetails(p policy.Policy) map[string]any {
	aaguids := p.AllowedAAGUIDs
	if aaguids == nil {
		aaguids = []string{}
	}
	var end any
	if p.PasswordsEndAt != nil {
		end = p.PasswordsEndAt.UTC().Format(time.RFC3339)
	}
	return map[string]any{"passkeys": string(p.Mode), "passwords_end_at": end, "require_user_verification": p.RequireUV,
		"allow_synced_passkeys": p.AllowSynced, "allowed_aaguids": aaguids, "remind_after": p.RemindAfter.String(),
		"recovery_codes": p.RecoveryCodes}
}
