package roster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Mode says what an import does with the users it lists and the ones it doesn't.
type Mode string

const (
	// ModeJoiners creates unknown users and updates (and re-enables) known ones. The default.
	ModeJoiners Mode = "joiners"
	// ModeLeavers disables the listed users; every one must exist.
	ModeLeavers Mode = "leavers"
	// ModeFullSync is joiners for the listed users plus disabling every active user not listed:
	// the file is the whole organisation.
	ModeFullSync Mode = "full-sync"
)

// ParseMode reads the --mode flag or form value; "" means joiners.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.TrimSpace(s)); m {
	case "":
		return ModeJoiners, nil
	case ModeJoiners, ModeLeavers, ModeFullSync:
		return m, nil
	default:
		return "", fmt.Errorf("unknown import mode %q: use joiners, leavers or full-sync", s)
	}
}

// Existing is what the plan needs to know about a user already in the organisation. HasPassword
// says whether the user has a (legacy) password, never what it is.
type Existing struct {
	ID, Username, DisplayName, Email string
	Roles                            []string
	Disabled                         bool
	HasPassword                      bool
}

// Change is an update to an existing user. Fields lists the columns to write from Row, in the
// order display_name, email, roles, password_hash; only those may be applied (an empty column
// in the file keeps the stored value). Enable says the user is disabled and the import brings
// them back.
type Change struct {
	Existing Existing
	Row      Row
	Fields   []string
	Enable   bool
}

// ReplacesPassword reports whether the change overwrites a password the user already has (as
// opposed to giving a first one), which the preview calls out.
func (c Change) ReplacesPassword() bool {
	return c.Existing.HasPassword && slices.Contains(c.Fields, ColPasswordHash)
}

// Plan is what an import would do. Create, Update and Disable are in file order, except the
// users a full-sync disables for being absent, which follow sorted by username, ignoring case. Unchanged
// counts listed users that need nothing.
type Plan struct {
	Mode      Mode
	Create    []Row
	Update    []Change
	Disable   []Existing
	Unchanged int
}

// Empty reports whether applying the plan would change nothing.
func (p Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Update) == 0 && len(p.Disable) == 0
}

// ErrEmptyFullSync refuses a full-sync of a file with no users, which would disable everyone.
var ErrEmptyFullSync = errors.New("a full-sync import with no users would disable every user of the organisation; refusing")

// MakePlan decides what importing rows (from Parse) into an organisation whose users are
// existing does in mode ("" is joiners):
//   - joiners: unknown usernames are created; known ones get the fields that differ (empty
//     columns keep the stored value) and, if disabled, are re-enabled.
//   - leavers: every listed username must exist; active ones are disabled, disabled ones are
//     unchanged. Other columns are ignored.
//   - full-sync: joiners for the listed rows, and every active user not listed is disabled.
//
// Usernames match exactly; a row that matches an existing user only by case is an error, as is
// an unknown leaver or a repeated username. Errors come back together as Errors.
func MakePlan(rows []Row, existing []Existing, mode Mode) (Plan, error) {
	if mode == "" {
		mode = ModeJoiners
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return Plan{}, err
	}
	if mode == ModeFullSync && len(rows) == 0 {
		return Plan{}, ErrEmptyFullSync
	}

	byName := make(map[string]int, len(existing))
	byFold := make(map[string]int, len(existing))
	for i, e := range existing {
		byName[e.Username] = i
		byFold[fold(e.Username)] = i
	}

	var c collector
	p := Plan{Mode: mode}
	listed := make(map[string]bool, len(rows))   // exact usernames of existing users in the file
	seen := make(map[string]seenName, len(rows)) // by folded username
	for _, row := range rows {
		key := fold(row.Username)
		if prev, dup := seen[key]; dup {
			c.addf(row.Line, ColUsername, "%q is already on line %d", row.Username, prev.line)
			continue
		}
		seen[key] = seenName{line: row.Line, username: row.Username}

		i, found := byName[row.Username]
		if !found {
			if j, near := byFold[key]; near {
				c.addf(row.Line, ColUsername, "%q differs only in case from the existing user %q; use the exact spelling",
					row.Username, existing[j].Username)
				continue
			}
		}
		if mode == ModeLeavers {
			switch {
			case !found:
				c.addf(row.Line, ColUsername, "there is no user %q in this organisation", row.Username)
			case existing[i].Disabled:
				p.Unchanged++
			default:
				p.Disable = append(p.Disable, existing[i])
			}
			continue
		}
		if !found {
			p.Create = append(p.Create, row)
			continue
		}
		listed[row.Username] = true
		if ch := diff(existing[i], row); len(ch.Fields) > 0 || ch.Enable {
			p.Update = append(p.Update, ch)
		} else {
			p.Unchanged++
		}
	}
	if err := c.err(); err != nil {
		return Plan{}, err
	}

	if mode == ModeFullSync {
		start := len(p.Disable)
		for _, e := range existing {
			if !e.Disabled && !listed[e.Username] {
				p.Disable = append(p.Disable, e)
			}
		}
		slices.SortFunc(p.Disable[start:], func(a, b Existing) int {
			if c := strings.Compare(fold(a.Username), fold(b.Username)); c != 0 {
				return c
			}
			return strings.Compare(a.Username, b.Username)
		})
	}
	return p, nil
}

// diff lists the fields of row that would change e; an empty column never counts.
func diff(e Existing, row Row) Change {
	ch := Change{Existing: e, Row: row, Enable: e.Disabled}
	if row.DisplayName != "" && row.DisplayName != e.DisplayName {
		ch.Fields = append(ch.Fields, ColDisplayName)
	}
	if row.Email != "" && row.Email != e.Email {
		ch.Fields = append(ch.Fields, ColEmail)
	}
	if len(row.Roles) > 0 && !slices.Equal(normRoles(row.Roles), normRoles(e.Roles)) {
		ch.Fields = append(ch.Fields, ColRoles)
	}
	// A hash can't be compared with the stored one (salts differ), so supplying one is a change.
	if row.PasswordHash != "" {
		ch.Fields = append(ch.Fields, ColPasswordHash)
	}
	return ch
}

// normRoles sorts and de-duplicates, as the directory stores roles.
func normRoles(roles []string) []string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
