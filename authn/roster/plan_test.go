package roster_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/roster"
)

// The organisation every plan test starts from.
var (
	alice = roster.Existing{ID: "u1", Username: "alice", DisplayName: "Alice", Email: "alice@example.com", Roles: []string{"editor", "admin"}}
	bob   = roster.Existing{ID: "u2", Username: "bob", DisplayName: "Bob", HasPassword: true}
	carol = roster.Existing{ID: "u3", Username: "carol", DisplayName: "Carol", Disabled: true}
	dave  = roster.Existing{ID: "u4", Username: "Dave", DisplayName: "Dave"}
	org   = []roster.Existing{alice, bob, carol, dave}
)

func row(line int, username string) roster.Row { return roster.Row{Line: line, Username: username} }

func TestParseMode(t *testing.T) {
	for in, want := range map[string]roster.Mode{"": roster.ModeJoiners, "joiners": roster.ModeJoiners,
		" leavers ": roster.ModeLeavers, "full-sync": roster.ModeFullSync} {
		if got, err := roster.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Joiners", "full_sync", "sync", "delete"} {
		if _, err := roster.ParseMode(in); err == nil || !strings.Contains(err.Error(), "use joiners, leavers or full-sync") {
			t.Errorf("ParseMode(%q) error = %v", in, err)
		}
	}
}

func TestMakePlan(t *testing.T) {
	tests := []struct {
		name     string
		mode     roster.Mode
		rows     []roster.Row
		existing []roster.Existing
		want     roster.Plan
	}{
		{"joiners: create unknown users", roster.ModeJoiners,
			[]roster.Row{row(2, "erin"), {Line: 3, Username: "frank", Email: "f@example.com", Roles: []string{"x"}}}, org,
			roster.Plan{Mode: roster.ModeJoiners, Create: []roster.Row{row(2, "erin"), {Line: 3, Username: "frank", Email: "f@example.com", Roles: []string{"x"}}}}},
		{"empty mode means joiners", "", []roster.Row{row(2, "erin")}, nil,
			roster.Plan{Mode: roster.ModeJoiners, Create: []roster.Row{row(2, "erin")}}},
		{"joiners: no-op when nothing differs", roster.ModeJoiners,
			[]roster.Row{
				{Line: 2, Username: "alice", DisplayName: "Alice", Email: "alice@example.com", Roles: []string{"admin", "editor"}},
				row(3, "bob"), // empty columns keep the stored values
				{Line: 4, Username: "Dave", Roles: nil},
			}, org,
			roster.Plan{Mode: roster.ModeJoiners, Unchanged: 3}},
		{"joiners: update changed fields only", roster.ModeJoiners,
			[]roster.Row{
				{Line: 2, Username: "alice", DisplayName: "Alice L.", Email: "alice@example.com", Roles: []string{"editor"}},
				{Line: 3, Username: "bob", Email: "bob@example.com", PasswordHash: "$2b$10$x"},
			}, org,
			roster.Plan{Mode: roster.ModeJoiners, Update: []roster.Change{
				{Existing: alice, Row: roster.Row{Line: 2, Username: "alice", DisplayName: "Alice L.", Email: "alice@example.com", Roles: []string{"editor"}},
					Fields: []string{"display_name", "roles"}},
				{Existing: bob, Row: roster.Row{Line: 3, Username: "bob", Email: "bob@example.com", PasswordHash: "$2b$10$x"},
					Fields: []string{"email", "password_hash"}},
			}}},
		{"joiners: a disabled user who reappears is re-enabled", roster.ModeJoiners,
			[]roster.Row{row(2, "carol"), {Line: 3, Username: "carol2"}}, org,
			roster.Plan{Mode: roster.ModeJoiners, Create: []roster.Row{row(3, "carol2")},
				Update: []roster.Change{{Existing: carol, Row: row(2, "carol"), Enable: true}}}},
		{"joiners: existing users not listed are left alone", roster.ModeJoiners,
			[]roster.Row{row(2, "alice")}, org,
			roster.Plan{Mode: roster.ModeJoiners, Unchanged: 1}},
		{"leavers: disable active users, already disabled is unchanged", roster.ModeLeavers,
			[]roster.Row{row(2, "Dave"), {Line: 3, Username: "carol"}, {Line: 4, Username: "bob", DisplayName: "ignored"}}, org,
			roster.Plan{Mode: roster.ModeLeavers, Disable: []roster.Existing{dave, bob}, Unchanged: 1}},
		{"full-sync: joiners plus disabling every active user not listed", roster.ModeFullSync,
			[]roster.Row{{Line: 2, Username: "bob", DisplayName: "Robert"}, row(3, "erin"), row(4, "carol")}, org,
			roster.Plan{Mode: roster.ModeFullSync,
				Create:  []roster.Row{row(3, "erin")},
				Update:  []roster.Change{{Existing: bob, Row: roster.Row{Line: 2, Username: "bob", DisplayName: "Robert"}, Fields: []string{"display_name"}}, {Existing: carol, Row: row(4, "carol"), Enable: true}},
				Disable: []roster.Existing{alice, dave}, // sorted by username, ignoring case
			}},
		{"full-sync: the whole organisation listed changes nothing", roster.ModeFullSync,
			[]roster.Row{row(2, "alice"), row(3, "bob"), row(4, "Dave")}, org,
			roster.Plan{Mode: roster.ModeFullSync, Unchanged: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := roster.MakePlan(tt.rows, tt.existing, tt.mode)
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMakePlanRejects(t *testing.T) {
	tests := []struct {
		name string
		mode roster.Mode
		rows []roster.Row
		want []string
	}{
		{"leavers: unknown users", roster.ModeLeavers, []roster.Row{row(2, "alice"), row(3, "zed"), row(5, "yan")},
			[]string{`line 3: username: there is no user "zed" in this organisation`, `line 5: username: there is no user "yan" in this organisation`}},
		{"joiners: matches an existing user only by case", roster.ModeJoiners, []roster.Row{row(2, "Alice"), row(3, "dave")},
			[]string{
				`line 2: username: "Alice" differs only in case from the existing user "alice"; use the exact spelling`,
				`line 3: username: "dave" differs only in case from the existing user "Dave"; use the exact spelling`,
			}},
		{"leavers: matches only by case", roster.ModeLeavers, []roster.Row{row(2, "BOB")},
			[]string{`line 2: username: "BOB" differs only in case from the existing user "bob"; use the exact spelling`}},
		{"full-sync: repeated rows", roster.ModeFullSync, []roster.Row{row(2, "erin"), row(3, "Erin")},
			[]string{`line 3: username: "Erin" is already on line 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := roster.MakePlan(tt.rows, org, tt.mode)
			if !reflect.DeepEqual(p, roster.Plan{}) {
				t.Errorf("plan = %+v, want none with an error", p)
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMakePlanRefuses(t *testing.T) {
	if _, err := roster.MakePlan(nil, org, roster.ModeFullSync); !errors.Is(err, roster.ErrEmptyFullSync) {
		t.Errorf("empty full-sync: err = %v, want ErrEmptyFullSync", err)
	}
	if _, err := roster.MakePlan(nil, org, "purge"); err == nil {
		t.Error("unknown mode accepted")
	}
	// Joiners and leavers with no rows are harmless.
	for _, m := range []roster.Mode{roster.ModeJoiners, roster.ModeLeavers} {
		if p, err := roster.MakePlan(nil, org, m); err != nil || !p.Empty() {
			t.Errorf("%s with no rows: %+v, %v", m, p, err)
		}
	}
}

func TestChangeReplacesPassword(t *testing.T) {
	withHash := roster.Row{Username: "x", PasswordHash: "$2b$10$x"}
	tests := []struct {
		name string
		ch   roster.Change
		want bool
	}{
		{"replaces an existing password", roster.Change{Existing: roster.Existing{HasPassword: true}, Row: withHash, Fields: []string{"password_hash"}}, true},
		{"first password", roster.Change{Existing: roster.Existing{}, Row: withHash, Fields: []string{"password_hash"}}, false},
		{"other fields only", roster.Change{Existing: roster.Existing{HasPassword: true}, Fields: []string{"email"}}, false},
	}
	for _, tt := range tests {
		if got := tt.ch.ReplacesPassword(); got != tt.want {
			t.Errorf("%s: ReplacesPassword = %v", tt.name, got)
		}
	}
}

func TestSummary(t *testing.T) {
	mustPlan := func(rows []roster.Row, mode roster.Mode) roster.Plan {
		t.Helper()
		p, err := roster.MakePlan(rows, org, mode)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	many := make([]roster.Row, 25)
	for i := range many {
		many[i] = row(i+2, fmt.Sprintf("n%02d", i))
	}
	tests := []struct {
		name string
		plan roster.Plan
		want []string
	}{
		{"full-sync with every kind of change", mustPlan([]roster.Row{
			row(2, "erin"), row(3, "frank"),
			{Line: 4, Username: "alice", Email: "new@example.com", Roles: []string{"viewer"}},
			{Line: 5, Username: "bob", PasswordHash: "$2b$10$x"},
			{Line: 6, Username: "carol", DisplayName: "Caroline"},
		}, roster.ModeFullSync), []string{
			"2 users will be created: erin, frank",
			"3 users will be updated: alice (email, roles), bob (password), carol (display name)",
			"1 user will be re-enabled: carol",
			"1 user will have their existing password replaced: bob",
			"1 user will be disabled (sessions ended, tokens revoked): Dave",
		}},
		{"leavers with an unchanged one", mustPlan([]roster.Row{row(2, "bob"), row(3, "carol")}, roster.ModeLeavers), []string{
			"1 user will be disabled (sessions ended, tokens revoked): bob",
			"1 user is unchanged",
		}},
		{"nothing to do", mustPlan([]roster.Row{row(2, "alice"), row(3, "bob")}, roster.ModeJoiners), []string{
			"Nothing will change.",
			"2 users are unchanged",
		}},
		{"empty plan", roster.Plan{}, []string{"Nothing will change."}},
		{"long lists are cut at 20 names", mustPlan(many, roster.ModeJoiners), []string{
			"25 users will be created: n00, n01, n02, n03, n04, n05, n06, n07, n08, n09, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19 and 5 more",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.Summary(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Summary\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestParseThenPlan runs a real file through both steps, as the import command does.
func TestParseThenPlan(t *testing.T) {
	in := "\uFEFFUsername,Display Name,Email,Roles\r\n" +
		"alice,Alice,alice@example.com,admin;editor\r\n" +
		"erin,\"Erin, Jr.\",erin@example.com,viewer\r\n"
	rows, err := roster.Parse(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := roster.MakePlan(rows, org, roster.ModeFullSync)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 user will be created: erin",
		"2 users will be disabled (sessions ended, tokens revoked): bob, Dave",
		"1 user is unchanged",
	}
	if got := p.Summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("Summary\n got %q\nwant %q", got, want)
	}
	if p.Empty() {
		t.Error("Empty() = true for a plan with changes")
	}
}
