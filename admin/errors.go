package admin

import (
	"errors"
	"fmt"

	"github.com/portcullis-id/portcullis/authn/roster"
)

// Kind groups errors by what the caller can do about them; the HTTP layer maps each to a status.
type Kind int

const (
	KindInvalid   Kind = iota + 1 // the request is wrong: fix the field and retry (400)
	KindNotFound                  // no such thing in the actor's organisation (404)
	KindForbidden                 // the actor may not do this at all (403)
	KindConflict                  // the request is valid but clashes with the current state (409)
)

// Error is a use case's refusal: a stable machine-readable Code, a plain sentence for people, and
// for validation errors the Field at fault (named as in the JSON API).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	// Problems lists every problem of an uploaded file (CSV import), line by line.
	Problems []Problem
}

// Problem is one problem of an uploaded file.
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	for _, p := range e.Problems {
		msg += "\n" + (&roster.LineError{Line: p.Line, Column: p.Column, Msg: p.Message}).Error()
	}
	return msg
}

// Stable error codes.
const (
	CodeInvalid       = "invalid_field"
	CodeNotFound      = "not_found"
	CodeForbidden     = "insufficient_scope"
	CodeAlreadyExists = "already_exists"
	CodeLastAdmin     = "last_admin"
	CodeInvalidCSV    = "invalid_csv"
	CodeUserDisabled  = "user_disabled"
	CodeEnrolled      = "already_enrolled"
	CodeNoSecret      = "no_secret"
)

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: CodeNotFound, Message: "No such " + what + "."}
}

func forbidden(msg string) *Error {
	return &Error{Kind: KindForbidden, Code: CodeForbidden, Message: msg}
}

func conflict(code, field, msg string) *Error {
	return &Error{Kind: KindConflict, Code: code, Field: field, Message: msg}
}

// csvError turns roster's line-by-line problems into one error that lists them.
func csvError(err error) *Error {
	e := &Error{Kind: KindInvalid, Code: CodeInvalidCSV, Message: "The file has problems; nothing was imported."}
	var list roster.Errors
	if errors.As(err, &list) {
		for _, le := range list {
			e.Problems = append(e.Problems, Problem{Line: le.Line, Column: le.Column, Message: le.Msg})
		}
	} else {
		e.Problems = []Problem{{Message: err.Error()}}
	}
	return e
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
