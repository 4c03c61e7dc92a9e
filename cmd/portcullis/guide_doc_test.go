package main

// The integration guides in docs/integrations are tested by following them: the tests read the
// commands and settings out of the Markdown itself (fenced `sh` blocks, tables), so that a guide
// cannot drift from what the server does. This file holds the reading side.

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// guidesDir is docs/integrations, relative to this package's directory (where go test runs).
const guidesDir = "../../docs/integrations"

// guide is one guide's Markdown text.
type guide struct {
	name string
	text string
}

func readGuide(t *testing.T, name string) guide {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(guidesDir, name))
	if err != nil {
		t.Fatalf("read the guide: %v", err)
	}
	return guide{name: name, text: string(b)}
}

// shBlocks returns the fenced ```sh blocks of the guide, in order.
func (g guide) shBlocks() []string {
	var blocks []string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(g.text))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```sh":
			in, cur = true, nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// command returns the words of the first command in an `sh` block that starts with prefix (for
// example "portcullis clients create"), with line continuations joined and the shell's quoting
// removed. It fails the test when the guide has no such command.
func (g guide) command(t *testing.T, prefix string) []string {
	t.Helper()
	for _, b := range g.shBlocks() {
		for _, cmd := range shellCommands(b) {
			if strings.HasPrefix(cmd, prefix+" ") || cmd == prefix {
				words, err := shellWords(cmd)
				if err != nil {
					t.Fatalf("%s: %q: %v", g.name, cmd, err)
				}
				return words
			}
		}
	}
	t.Fatalf("%s has no `%s` command in an sh block", g.name, prefix)
	return nil
}

// shellCommands splits a block into commands: comment lines dropped, `\` continuations joined.
func shellCommands(block string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(block, "\n") {
		if t := strings.TrimSpace(line); cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for the plain forms the guides use:
// words separated by blanks, single and double quotes; a trailing comment ends the line.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '#' && !inWord:
			return words, nil
		case c == '\'' || c == '"':
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				return nil, errUnclosedQuote
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

type guideError string

func (e guideError) Error() string { return string(e) }

const errUnclosedQuote = guideError("unclosed quote")

// replaceWords replaces every word (or part of a word) from -> to, failing the test when a
// placeholder the test relies on is not in the guide's command any more.
func replaceWords(t *testing.T, words []string, repl map[string]string) []string {
	t.Helper()
	out := append([]string(nil), words...)
	for from, to := range repl {
		found := false
		for i, w := range out {
			if strings.Contains(w, from) {
				out[i] = strings.ReplaceAll(w, from, to)
				found = true
			}
		}
		if !found {
			t.Fatalf("the guide's command %q no longer contains %q", strings.Join(words, " "), from)
		}
	}
	return out
}

// flagValues returns the values of every --name VALUE or --name=VALUE in words.
func flagValues(words []string, name string) []string {
	var out []string
	for i, w := range words {
		switch {
		case w == "--"+name && i+1 < len(words):
			out = append(out, words[i+1])
		case strings.HasPrefix(w, "--"+name+"="):
			out = append(out, strings.TrimPrefix(w, "--"+name+"="))
		}
	}
	return out
}

// hasFlag reports whether words hold --name (alone or with =value).
func hasFlag(words []string, name string) bool {
	for _, w := range words {
		if w == "--"+name || strings.HasPrefix(w, "--"+name+"=") {
			return true
		}
	}
	return false
}

var backticked = regexp.MustCompile("`([^`]+)`")

// tableRows returns the rows of the first Markdown table after the heading that starts with
// heading, each as its cells (the header and separator rows left out).
func (g guide) tableRows(t *testing.T, heading string) [][]string {
	t.Helper()
	lines := strings.Split(g.text, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "#") && strings.HasPrefix(strings.TrimSpace(strings.TrimLeft(l, "#")), heading) {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s has no heading %q", g.name, heading)
	}
	var rows [][]string
	inTable := false
	for _, l := range lines[start+1:] {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			break
		}
		if !strings.HasPrefix(l, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 3 {
		t.Fatalf("%s: no table under %q", g.name, heading)
	}
	return rows[2:]
}

// codeSpans returns the `code` spans of a table cell.
func codeSpans(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// mustMention fails the test unless the guide says each of the phrases.
func (g guide) mustMention(t *testing.T, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(g.text, p) {
			t.Errorf("%s does not mention %q", g.name, p)
		}
	}
}

// runGuideCLI runs the guide's `portcullis clients create` command (placeholders replaced) on
// the test server and returns the client it registered.
func runGuideCLI(t *testing.T, s *testServer, g guide, repl map[string]string) (registered, []string) {
	t.Helper()
	words := g.command(t, "portcullis clients create")
	if len(repl) > 0 {
		words = replaceWords(t, words, repl)
	}
	return s.createClient(words[3:]...), words
}

// TestGuidesIndex checks that the index links every guide and that each guide covers what every
// integrator needs: the client command, the endpoints, scopes, amr/acr, refresh, logout and the
// usual errors.
func TestGuidesIndex(t *testing.T) {
	index := readGuide(t, "README.md")
	for _, name := range []string{"generic-oidc.md", "native-app.md", "web-app.md", "oauth2-proxy.md"} {
		if !strings.Contains(index.text, "("+name+")") {
			t.Errorf("the index does not link %s", name)
		}
		g := readGuide(t, name)
		g.mustMention(t, "portcullis clients create", "/.well-known/openid-configuration", "acr_values=phr", "`amr`",
			"offline_access", "end_session_endpoint", "post_logout_redirect_uri", "id_token_hint",
			"redirect_uri", "invalid_client", "PKCE", "## Troubleshooting")
	}
}

// row returns the row of the table under heading whose first cell starts with label.
func (g guide) row(t *testing.T, heading, label string) []string {
	t.Helper()
	for _, r := range g.tableRows(t, heading) {
		if strings.HasPrefix(r[0], label) {
			return r
		}
	}
	t.Fatalf("%s: the table under %q has no %q row", g.name, heading, label)
	return nil
}
