package roster_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/roster"
)

// checkHash stands in for password.CheckImported: it accepts "$2b$…" and says why otherwise,
// without repeating the value.
func checkHash(h string) error {
	if !strings.HasPrefix(h, "$2b$") {
		return errors.New("unsupported hash format; use bcrypt ($2b$)")
	}
	return nil
}

func csvOf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []roster.Row
	}{
		{"all columns", csvOf(
			"username,display_name,email,roles,password_hash",
			"alice,Alice Liddell,alice@example.com,admin;editor,$2b$10$abc",
			"bob,,,,"),
			[]roster.Row{
				{Line: 2, Username: "alice", DisplayName: "Alice Liddell", Email: "alice@example.com", Roles: []string{"admin", "editor"}, PasswordHash: "$2b$10$abc"},
				{Line: 3, Username: "bob"},
			}},
		{"username only", csvOf("username", "alice", "bob"),
			[]roster.Row{{Line: 2, Username: "alice"}, {Line: 3, Username: "bob"}}},
		{"header only", csvOf("username,email"), nil},
		{"header variations and any order", csvOf(
			" Email , Display Name,USERNAME,Roles,Password-Hash",
			"ada@example.com,Ada,ada,,"),
			[]roster.Row{{Line: 2, Username: "ada", DisplayName: "Ada", Email: "ada@example.com"}}},
		{"byte order mark and CRLF", "\uFEFFusername,display_name\r\nalice,Alice\r\n\r\nbob,Bob\r\n",
			[]roster.Row{{Line: 2, Username: "alice", DisplayName: "Alice"}, {Line: 4, Username: "bob", DisplayName: "Bob"}}},
		{"no final newline", "username\nalice", []roster.Row{{Line: 2, Username: "alice"}}},
		{"quoted fields with commas and quotes", csvOf(
			"username,display_name,email",
			`alice,"Liddell, Alice ""Al""",alice@example.com`,
			` bob , "Smith, Bob",bob@example.com`),
			[]roster.Row{
				{Line: 2, Username: "alice", DisplayName: `Liddell, Alice "Al"`, Email: "alice@example.com"},
				{Line: 3, Username: "bob", DisplayName: "Smith, Bob", Email: "bob@example.com"},
			}},
		{"blank and whitespace-only lines are skipped", csvOf("", "username,roles", "", "alice,x", "   ", " , ", "bob,y"),
			[]roster.Row{{Line: 4, Username: "alice", Roles: []string{"x"}}, {Line: 7, Username: "bob", Roles: []string{"y"}}}},
		{"roles split on semicolons and spaces, sorted, de-duplicated", csvOf(
			"username,roles",
			`alice,"viewer; admin  team:ops;viewer;;"`,
			"bob,app.read-only_2"),
			[]roster.Row{
				{Line: 2, Username: "alice", Roles: []string{"admin", "team:ops", "viewer"}},
				{Line: 3, Username: "bob", Roles: []string{"app.read-only_2"}},
			}},
		{"unicode username and display name", csvOf("username,display_name", "zoë.müller@corp,Zoë Müller"),
			[]roster.Row{{Line: 2, Username: "zoë.müller@corp", DisplayName: "Zoë Müller"}}},
		{"empty password hash is not checked", csvOf("username,password_hash", "alice,"),
			[]roster.Row{{Line: 2, Username: "alice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := roster.Parse(strings.NewReader(tt.in), checkHash)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		checkHash func(string) error
		want      []string // every error, in order
	}{
		{"empty file", "", checkHash,
			[]string{"the file is empty: the first row must name the columns, e.g. username,display_name,email,roles"}},
		{"blank file", "\n\n", checkHash,
			[]string{"the file is empty: the first row must name the columns, e.g. username,display_name,email,roles"}},
		{"unknown column", csvOf("username,phone", "alice,123"), checkHash,
			[]string{`line 1: unknown column "phone"; the columns are username, display_name, email, roles, password_hash`}},
		{"unknown columns", csvOf("username,Phone,team", "alice,1,2"), checkHash,
			[]string{`line 1: unknown columns "Phone", "team"; the columns are username, display_name, email, roles, password_hash`}},
		{"semicolon separated", csvOf("username;email", "alice;a@example.com"), checkHash,
			[]string{`line 1: unknown column "username;email"; the columns are username, display_name, email, roles, password_hash (the file seems to separate columns with ';' or tabs: save it as comma-separated CSV)`}},
		{"repeated column", csvOf("username,Email,email"), checkHash,
			[]string{`line 1: column "email" appears twice in the header`}},
		{"column without a name", csvOf("username,,email"), checkHash,
			[]string{"line 1: column 2 has no name in the header"}},
		{"no username column", csvOf("display_name,email", "Alice,alice@example.com"), checkHash,
			[]string{"line 1: the header has no username column"}},
		{"header after blank lines", "\n\nusername,bogus\n", checkHash,
			[]string{`line 3: unknown column "bogus"; the columns are username, display_name, email, roles, password_hash`}},
		{"wrong number of fields", csvOf("username,email", "alice", "bob,b@example.com,extra", "carol,c@example.com"), checkHash,
			[]string{
				"line 2: this row has 1 fields but the header has 2 (a value with a comma must be in double quotes)",
				"line 3: this row has 3 fields but the header has 2 (a value with a comma must be in double quotes)",
			}},
		{"empty username", csvOf("username,email", ",a@example.com"), checkHash,
			[]string{"line 2: username: empty; every row needs a username"}},
		{"invalid usernames", csvOf("username", "alice smith", "bob/x", strings.Repeat("a", 65)), checkHash,
			[]string{
				`line 2: username: "alice smith": use 1 to 64 letters, digits or . _ @ + - (no spaces)`,
				`line 3: username: "bob/x": use 1 to 64 letters, digits or . _ @ + - (no spaces)`,
				`line 4: username: "` + strings.Repeat("a", 65) + `": use 1 to 64 letters, digits or . _ @ + - (no spaces)`,
			}},
		{"duplicate usernames, exact and by case", csvOf("username", "alice", "bob", "alice", "Bob"), checkHash,
			[]string{
				`line 4: username: "alice" is already on line 2`,
				`line 5: username: "Bob" differs only in case from "bob" on line 3`,
			}},
		{"bad emails", csvOf("username,email",
			"a,not-an-email", "b,Bob <b@example.com>", "c,<c@example.com>", "d,d@", "e,e@example.com (home)",
			`f,"f@example.com, g@example.com"`, "g,"+strings.Repeat("g", 250)+"@example.com"), checkHash,
			[]string{
				"line 2: email: not an email address (write only the address, like ada@example.com)",
				"line 3: email: not an email address (write only the address, like ada@example.com)",
				"line 4: email: not an email address (write only the address, like ada@example.com)",
				"line 5: email: not an email address (write only the address, like ada@example.com)",
				"line 6: email: not an email address (write only the address, like ada@example.com)",
				"line 7: email: not an email address (write only the address, like ada@example.com)",
				"line 8: email: not an email address (write only the address, like ada@example.com)",
			}},
		{"long display name", csvOf("username,display_name", "alice,"+strings.Repeat("é", 201)), checkHash,
			[]string{"line 2: display_name: longer than 200 characters"}},
		{"line break inside a quoted field", csvOf("username,display_name,email", `alice,"Alice`, `Liddell",nope`), checkHash,
			[]string{
				"line 2: display_name: contains a line break, tab or other control character",
				"line 3: email: not an email address (write only the address, like ada@example.com)",
			}},
		{"tab in a field", csvOf("username,display_name", "alice,Alice\tL"), checkHash,
			[]string{"line 2: display_name: contains a line break, tab or other control character"}},
		{"not UTF-8", csvOf("username,display_name", "alice,Caf\xe9"), checkHash,
			[]string{"line 2: display_name: not UTF-8 text; save the file as UTF-8 CSV"}},
		{"bad roles", csvOf("username,roles", "a,ops/team", `b,"x,y"`, "c,Admin", "d,"+strings.Repeat("r", 65), "e,rôle"), checkHash,
			[]string{
				`line 2: roles: "ops/team" is not a role name: use 1 to 64 letters, digits or - _ : .`,
				`line 3: roles: "x,y" is not a role name: use 1 to 64 letters, digits or - _ : .; separate roles with ';' or spaces`,
				`line 4: roles: "Admin": the built-in role is written "admin"`,
				`line 5: roles: "` + strings.Repeat("r", 65) + `" is not a role name: use 1 to 64 letters, digits or - _ : .`,
				`line 6: roles: "rôle" is not a role name: use 1 to 64 letters, digits or - _ : .`,
			}},
		{"too many roles", csvOf("username,roles", "a,"+manyRoles(51)), checkHash,
			[]string{"line 2: roles: more than 50 roles"}},
		{"hash refused by the checker", csvOf("username,password_hash", "alice,{SSHA}c2VjcmV0", "bob,$2b$10$ok"), checkHash,
			[]string{"line 2: password_hash: unsupported hash format; use bcrypt ($2b$)"}},
		{"hash without a checker", csvOf("username,password_hash", "alice,$2b$10$ok"), nil,
			[]string{"line 2: password_hash: password hashes are not accepted by this import"}},
		{"hash too long", csvOf("username,password_hash", "alice,$2b$"+strings.Repeat("x", 1021)), checkHash,
			[]string{"line 2: password_hash: longer than 1024 characters"}},
		{"bare quote", csvOf("username,display_name", "alice,Alice", `bob,Bob "the" Builder`, "carol,Carol"), checkHash,
			[]string{`line 3: a " inside a field that is not in double quotes; quote the whole field and double the inner quote ("")`}},
		{"unclosed quote", csvOf("username,display_name", "alice,Alice", `bob,"Bob`, "carol,Carol"), checkHash,
			[]string{"line 3: a quoted field is never closed, or has text after its closing quote"}},
		{"text after a closing quote", csvOf("username,display_name", `alice,"Alice" L`), checkHash,
			[]string{"line 2: a quoted field is never closed, or has text after its closing quote"}},
		{"several problems in one row and across rows", csvOf("username,email,roles", "bad name,nope,a/b", "ok,ok@example.com,x"), checkHash,
			[]string{
				`line 2: username: "bad name": use 1 to 64 letters, digits or . _ @ + - (no spaces)`,
				"line 2: email: not an email address (write only the address, like ada@example.com)",
				`line 2: roles: "a/b" is not a role name: use 1 to 64 letters, digits or - _ : .`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := roster.Parse(strings.NewReader(tt.in), tt.checkHash)
			if rows != nil {
				t.Errorf("rows = %v, want none when the file has errors", rows)
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func manyRoles(n int) string {
	roles := make([]string, n)
	for i := range roles {
		roles[i] = fmt.Sprintf("r%d", i)
	}
	return strings.Join(roles, ";")
}

// errorLines checks err is an Errors and returns each message.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var es roster.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error = %v (%T), want roster.Errors", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	if joined := strings.Join(out, "\n"); err.Error() != joined {
		t.Errorf("Error() = %q, want the messages joined by newlines %q", err.Error(), joined)
	}
	return out
}

func TestParseNeverEchoesAHash(t *testing.T) {
	const secret = "$1$saltsalt$SuperSecretHashValue"
	leaky := func(h string) error { return errors.New("unsupported hash format") }
	in := csvOf("username,password_hash", "alice,"+secret, "bob\tx,"+secret+"\x01")
	_, err := roster.Parse(strings.NewReader(in), leaky)
	if err == nil {
		t.Fatal("Parse accepted bad hashes")
	}
	if strings.Contains(err.Error(), "SuperSecret") {
		t.Errorf("error repeats the hash: %v", err)
	}
}

func TestParseErrorCap(t *testing.T) {
	lines := []string{"username"}
	for i := range roster.MaxErrors + 10 {
		lines = append(lines, fmt.Sprintf("bad name %d", i))
	}
	got := errorLines(t, parseErr(csvOf(lines...)))
	if len(got) != roster.MaxErrors+1 {
		t.Fatalf("%d errors, want %d plus a count of the rest", len(got), roster.MaxErrors)
	}
	if !strings.HasPrefix(got[0], "line 2: ") || !strings.HasPrefix(got[roster.MaxErrors-1], "line 51: ") {
		t.Errorf("first/last shown = %q / %q", got[0], got[roster.MaxErrors-1])
	}
	if last := got[roster.MaxErrors]; last != "and 10 more errors not shown" {
		t.Errorf("last = %q", last)
	}
}

func TestParseRowLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("username\n")
	for i := range roster.MaxRows {
		fmt.Fprintf(&b, "u%d\n", i)
	}
	rows, err := roster.Parse(strings.NewReader(b.String()), nil)
	if err != nil || len(rows) != roster.MaxRows {
		t.Fatalf("%d rows: got %d rows, %v", roster.MaxRows, len(rows), err)
	}
	b.WriteString("\none-too-many\n")
	got := errorLines(t, parseErr(b.String()))
	want := []string{fmt.Sprintf("line %d: more than 100000 rows; split the file into several imports", roster.MaxRows+3)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestParseFileSizeLimit(t *testing.T) {
	// A single huge field: the limit must stop it rather than buffer it all.
	r := io.MultiReader(strings.NewReader("username,display_name\nalice,\""), endless{})
	_, err := roster.Parse(r, nil)
	got := errorLines(t, err)
	want := []string{"the file is larger than 64 MiB; split it into several imports"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

// endless is an infinite stream of 'x'.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'x'
	}
	return len(b), nil
}

func parseErr(in string) error {
	_, err := roster.Parse(strings.NewReader(in), checkHash)
	return err
}

func TestLineErrorFormat(t *testing.T) {
	tests := []struct {
		e    roster.LineError
		want string
	}{
		{roster.LineError{Line: 7, Column: "email", Msg: "not an email address"}, "line 7: email: not an email address"},
		{roster.LineError{Line: 3, Msg: "bad row"}, "line 3: bad row"},
		{roster.LineError{Msg: "the file is empty"}, "the file is empty"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
