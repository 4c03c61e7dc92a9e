package roster

import (
	"fmt"
	"strings"
)

// summaryNames is how many usernames a summary line lists before "and N more".
const summaryNames = 20

// fieldLabels are the words the summary uses for Change.Fields.
var fieldLabels = map[string]string{
	ColDisplayName:  "display name",
	ColEmail:        "email",
	ColRoles:        "roles",
	ColPasswordHash: "password",
}

// Summary describes the plan for the admin, one sentence a line, e.g. "3 users will be created:
// alice, bob, carol" or "1 user will be disabled (sessions ended, tokens revoked): dave". It is
// the dry-run preview and the import's closing report.
func (p Plan) Summary() []string {
	var out []string
	if p.Empty() {
		out = append(out, "Nothing will change.")
	}
	if len(p.Create) > 0 {
		names := make([]string, len(p.Create))
		for i, r := range p.Create {
			names[i] = r.Username
		}
		out = append(out, fmt.Sprintf("%s will be created: %s", users(len(names)), list(names)))
	}
	var updated, enabled, replaced []string
	for _, ch := range p.Update {
		name := ch.Existing.Username
		if len(ch.Fields) > 0 {
			labels := make([]string, len(ch.Fields))
			for i, f := range ch.Fields {
				labels[i] = fieldLabels[f]
			}
			updated = append(updated, fmt.Sprintf("%s (%s)", name, strings.Join(labels, ", ")))
		}
		if ch.Enable {
			enabled = append(enabled, name)
		}
		if ch.ReplacesPassword() {
			replaced = append(replaced, name)
		}
	}
	if len(updated) > 0 {
		out = append(out, fmt.Sprintf("%s will be updated: %s", users(len(updated)), list(updated)))
	}
	if len(enabled) > 0 {
		out = append(out, fmt.Sprintf("%s will be re-enabled: %s", users(len(enabled)), list(enabled)))
	}
	if len(replaced) > 0 {
		out = append(out, fmt.Sprintf("%s will have their existing password replaced: %s", users(len(replaced)), list(replaced)))
	}
	if len(p.Disable) > 0 {
		names := make([]string, len(p.Disable))
		for i, e := range p.Disable {
			names[i] = e.Username
		}
		out = append(out, fmt.Sprintf("%s will be disabled (sessions ended, tokens revoked): %s", users(len(names)), list(names)))
	}
	switch {
	case p.Unchanged == 1:
		out = append(out, "1 user is unchanged")
	case p.Unchanged > 1:
		out = append(out, fmt.Sprintf("%d users are unchanged", p.Unchanged))
	}
	return out
}

func users(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}

// list joins up to summaryNames names and counts the rest.
func list(names []string) string {
	if len(names) <= summaryNames {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:summaryNames], ", "), len(names)-summaryNames)
}
