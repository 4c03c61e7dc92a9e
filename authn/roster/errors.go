package roster

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxErrors is how many errors an import reports in full; the rest are only counted, so a file
// with a systematic mistake (wrong separator, shifted columns) gives a readable answer.
const MaxErrors = 50

// LineError is one problem with the file: the line it is on (1-based, the header is usually
// line 1; 0 when it concerns the whole file), the column it is in ("" for the whole row) and a
// plain sentence. Messages never contain password hashes.
type LineError struct {
	Line   int
	Column string
	Msg    string
}

// Error reads like "line 7: email: not an email address".
func (e *LineError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one pass, in line order, at most MaxErrors of them plus a
// final line-less entry counting the ones left out. Parse and MakePlan return it as their error;
// use errors.As to show the problems one by one.
type Errors []*LineError

// Error joins the problems, one per line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// collector gathers errors up to MaxErrors and counts the rest.
type collector struct {
	list    Errors
	dropped int
}

func (c *collector) add(line int, column, msg string) {
	if len(c.list) >= MaxErrors {
		c.dropped++
		return
	}
	c.list = append(c.list, &LineError{Line: line, Column: column, Msg: msg})
}

func (c *collector) addf(line int, column, format string, args ...any) {
	c.add(line, column, fmt.Sprintf(format, args...))
}

// err returns nil when nothing was collected; never a typed nil.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	out := c.list
	if c.dropped > 0 {
		noun := "errors"
		if c.dropped == 1 {
			noun = "error"
		}
		out = append(out, &LineError{Msg: fmt.Sprintf("and %d more %s not shown", c.dropped, noun)})
	}
	return out
}
