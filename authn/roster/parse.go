package roster

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-id/portcullis/authn/directory"
)

// Column names, as written in the header row and in Change.Fields.
const (
	ColUsername     = "username"
	ColDisplayName  = "display_name"
	ColEmail        = "email"
	ColRoles        = "roles"
	ColPasswordHash = "password_hash"
)

var knownColumns = []string{ColUsername, ColDisplayName, ColEmail, ColRoles, ColPasswordHash}

// Limits. They bound memory and keep one import reviewable; a bigger organisation imports in
// several files.
const (
	MaxRows        = 100_000  // data rows, not counting the header and blank lines
	MaxFileSize    = 64 << 20 // bytes; csv.Reader holds a whole record in memory
	maxDisplayName = 200      // characters
	maxEmail       = 254      // RFC 5321 §4.5.3.1.3 path limit, less the angle brackets
	maxRoles       = 50
	maxHash        = 1024
)

// AdminRole is the built-in role that makes a user an administrator of the organisation.
const AdminRole = "admin"

// Roles are machine identifiers that end up in tokens, so they are plain ASCII: a look-alike
// letter must not make a role that reads as another.
var roleRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// Row is one validated data row. Empty optional columns are "" (or nil Roles); Roles are
// de-duplicated and sorted, as the directory stores them.
type Row struct {
	Line         int
	Username     string
	DisplayName  string
	Email        string
	Roles        []string
	PasswordHash string
}

var errTooLarge = fmt.Errorf("the file is larger than %d MiB; split it into several imports", MaxFileSize>>20)

// Parse reads a CSV file of users: a header row naming the columns, then one user a row.
//
// username is required; display_name, email, roles and password_hash are optional, in any
// order. Header names are case-insensitive and may use a space or '-' for '_' ("Display Name");
// an unknown or repeated column is an error. Fields are trimmed, blank lines skipped and a UTF-8
// byte order mark tolerated. roles holds role names separated by ';' or spaces. A non-empty
// password_hash is checked with checkHash (nil refuses every hash); its error text is shown to
// the admin, so it must not repeat the hash.
//
// When anything is wrong Parse returns no rows and an Errors naming every bad line it found
// (a CSV syntax error stops it, since the rest of the file can't be trusted to line up).
func Parse(r io.Reader, checkHash func(string) error) ([]Row, error) {
	br := bufio.NewReader(&limitReader{r: r, left: MaxFileSize})
	// Excel and Windows editors put a byte order mark in front of UTF-8 CSV files.
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, to report the line and keep going
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var c collector
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		c.add(0, "", "the file is empty: the first row must name the columns, e.g. username,display_name,email,roles")
		return nil, c.err()
	}
	if err != nil {
		c.add(readError(err))
		return nil, c.err()
	}
	headerLine, _ := cr.FieldPos(0)
	cols := parseHeader(header, headerLine, &c)
	if err := c.err(); err != nil {
		return nil, err
	}

	p := parser{cols: cols, checkHash: checkHash, c: &c, seen: make(map[string]seenName)}
	var rows []Row
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(readError(err))
			break
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if n++; n > MaxRows {
			c.addf(line, "", "more than %d rows; split the file into several imports", MaxRows)
			break
		}
		if len(rec) != len(header) {
			c.addf(line, "", "this row has %d fields but the header has %d (a value with a comma must be in double quotes)", len(rec), len(header))
			continue
		}
		if row, ok := p.row(rec, cr); ok {
			rows = append(rows, row)
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// parseHeader maps each known column to its field index.
func parseHeader(header []string, line int, c *collector) map[string]int {
	cols := make(map[string]int, len(header))
	var unknown []string
	for i, h := range header {
		name := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(h)))
		switch {
		case name == "":
			c.addf(line, "", "column %d has no name in the header", i+1)
		case !slices.Contains(knownColumns, name):
			unknown = append(unknown, fmt.Sprintf("%q", strings.TrimSpace(h)))
		case hasKey(cols, name):
			c.addf(line, "", "column %q appears twice in the header", name)
		default:
			cols[name] = i
		}
	}
	if len(unknown) > 0 {
		noun := "column"
		if len(unknown) > 1 {
			noun = "columns"
		}
		msg := fmt.Sprintf("unknown %s %s; the columns are %s", noun, strings.Join(unknown, ", "), strings.Join(knownColumns, ", "))
		if len(header) == 1 && strings.ContainsAny(header[0], ";\t") {
			msg += " (the file seems to separate columns with ';' or tabs: save it as comma-separated CSV)"
		}
		c.add(line, "", msg)
	}
	if _, ok := cols[ColUsername]; !ok && len(unknown) == 0 {
		c.add(line, "", "the header has no username column")
	}
	return cols
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// blank reports whether a record has nothing but spaces (csv.Reader already skips empty lines).
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

type seenName struct {
	line     int
	username string
}

type parser struct {
	cols      map[string]int
	checkHash func(string) error
	c         *collector
	seen      map[string]seenName // by folded username
}

// row validates one record; each bad field is reported on the line it starts on.
func (p *parser) row(rec []string, cr *csv.Reader) (Row, bool) {
	line, _ := cr.FieldPos(0)
	row := Row{Line: line}
	ok := true
	for _, name := range knownColumns {
		i, present := p.cols[name]
		if !present {
			continue
		}
		v := strings.TrimSpace(rec[i])
		fieldLine, _ := cr.FieldPos(i)
		bad := func(format string, args ...any) {
			p.c.addf(fieldLine, name, format, args...)
			ok = false
		}
		if !utf8.ValidString(v) {
			bad("not UTF-8 text; save the file as UTF-8 CSV")
			continue
		}
		if strings.ContainsFunc(v, unicode.IsControl) {
			bad("contains a line break, tab or other control character")
			continue
		}
		switch name {
		case ColUsername:
			row.Username = v
			if !p.username(v, fieldLine) {
				ok = false
			}
		case ColDisplayName:
			if utf8.RuneCountInString(v) > maxDisplayName {
				bad("longer than %d characters", maxDisplayName)
			}
			row.DisplayName = v
		case ColEmail:
			if v != "" && !validEmail(v) {
				bad("not an email address (write only the address, like ada@example.com)")
			}
			row.Email = v
		case ColRoles:
			roles, msg := parseRoles(v)
			if msg != "" {
				bad("%s", msg)
			}
			row.Roles = roles
		case ColPasswordHash:
			if v == "" {
				continue
			}
			// Never echo the value: it is a credential.
			switch {
			case p.checkHash == nil:
				bad("password hashes are not accepted by this import")
			case len(v) > maxHash:
				bad("longer than %d characters", maxHash)
			default:
				if err := p.checkHash(v); err != nil {
					bad("%v", err)
				}
			}
			row.PasswordHash = v
		}
	}
	return row, ok
}

// username validates a username and rejects repeats, including ones that differ only in case.
func (p *parser) username(u string, line int) bool {
	if u == "" {
		p.c.add(line, ColUsername, "empty; every row needs a username")
		return false
	}
	if err := directory.ValidateUsername(u); err != nil {
		// The directory's message starts with `username "x": `, which the column already says.
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("username %q: ", u))
		p.c.addf(line, ColUsername, "%q: %s", u, msg)
		return false
	}
	key := fold(u)
	if prev, dup := p.seen[key]; dup {
		if prev.username == u {
			p.c.addf(line, ColUsername, "%q is already on line %d", u, prev.line)
		} else {
			p.c.addf(line, ColUsername, "%q differs only in case from %q on line %d", u, prev.username, prev.line)
		}
		return false
	}
	p.seen[key] = seenName{line: line, username: u}
	return true
}

// fold is the key under which usernames that differ only in case collide.
func fold(u string) string { return strings.ToLower(u) }

// validEmail accepts a bare RFC 5322 addr-spec: no display name, no angle brackets, no comment.
func validEmail(v string) bool {
	if len(v) > maxEmail {
		return false
	}
	a, err := mail.ParseAddress(v)
	return err == nil && a.Name == "" && a.Address == v && strings.Contains(v, "@")
}

// parseRoles splits a roles field on ';' and spaces, checks each name, and returns them sorted
// and de-duplicated. msg is "" when all are valid.
func parseRoles(v string) (roles []string, msg string) {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
	for _, r := range parts {
		switch {
		case strings.EqualFold(r, AdminRole) && r != AdminRole:
			return nil, fmt.Sprintf("%q: the built-in role is written %q", r, AdminRole)
		case !roleRE.MatchString(r):
			hint := ""
			if strings.Contains(r, ",") {
				hint = "; separate roles with ';' or spaces"
			}
			return nil, fmt.Sprintf("%q is not a role name: use 1 to 64 letters, digits or - _ : .%s", r, hint)
		}
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	if len(parts) > maxRoles {
		return nil, fmt.Sprintf("more than %d roles", maxRoles)
	}
	if len(parts) == 0 {
		return nil, ""
	}
	return parts, ""
}

// readError turns a csv.Reader failure into a LineError's parts.
func readError(err error) (int, string, string) {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errTooLarge):
		return 0, "", err.Error()
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote):
		return pe.Line, "", `a " inside a field that is not in double quotes; quote the whole field and double the inner quote ("")`
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote):
		return pe.StartLine, "", `a quoted field is never closed, or has text after its closing quote`
	case errors.As(err, &pe):
		return pe.Line, "", pe.Err.Error()
	default:
		return 0, "", "reading the file: " + err.Error()
	}
}

// limitReader fails, rather than silently truncating, once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a file of exactly the limit from a bigger one.
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, errTooLarge
	}
	if int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	return n, err
}
