package clients

import (
	"errors"
	"fmt"
)

// ValidationError says which field of a spec is wrong and why, in words an admin can act on.
type ValidationError struct {
	Field string // the spec field, as named in OAuth/OIDC metadata, e.g. "redirect_uri"
	// Value is the offending value when the field holds several (one redirect URI of many), or "".
	Value   string
	Problem string
}

func (e *ValidationError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Problem)
	}
	return e.Field + ": " + e.Problem
}

func invalid(field, problem string) error {
	return &ValidationError{Field: field, Problem: problem}
}

func invalidValue(field, value, problem string) error {
	return &ValidationError{Field: field, Value: value, Problem: problem}
}

// ErrPublicClient is returned when a secret is set on a public client, which cannot keep one.
var ErrPublicClient = errors.New("public clients have no secret")
