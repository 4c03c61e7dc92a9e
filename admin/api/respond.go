package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// errorBody is every error answer: a stable code, a sentence for people, and the field at fault
// for validation errors.
type errorBody struct {
	Error    string          `json:"error"`
	Message  string          `json:"message"`
	Field    string          `json:"field,omitempty"`
	Problems []admin.Problem `json:"problems,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	httpx.JSON(w, status, errorBody{Error: code, Message: msg, Field: field})
}

func serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	httpx.Logger(r.Context()).Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "server_error", "Something went wrong on our side. Please try again.", "")
}

// fail answers a use case's error.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := admin.AsError(err)
	if !ok {
		serverError(w, r, "admin api", err)
		return
	}
	status := http.StatusBadRequest
	switch e.Kind {
	case admin.KindNotFound:
		status = http.StatusNotFound
	case admin.KindForbidden:
		status = http.StatusForbidden
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis", error="insufficient_scope"`)
	case admin.KindConflict:
		status = http.StatusConflict
	}
	httpx.JSON(w, status, errorBody{Error: e.Code, Message: e.Message, Field: e.Field, Problems: e.Problems})
}

// badField answers a request whose field cannot be read.
func badField(w http.ResponseWriter, field, msg string) {
	writeError(w, http.StatusBadRequest, admin.CodeInvalid, msg, field)
}

// decode reads a JSON body into v, refusing unknown fields (a misspelt field would otherwise
// be silently ignored). An empty body is allowed when optional. On failure it answers and returns
// false.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.", "")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if errors.Is(err, io.EOF) && optional {
		return true
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		badField(w, typeErr.Field, "Has the wrong type (want "+typeErr.Type.String()+").")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		badField(w, field, "Is not a field of this request.")
	default:
		writeError(w, http.StatusBadRequest, "invalid_json", "The body is not the JSON document this call takes.", "")
	}
	return false
}

// page reads ?cursor= and ?limit=.
func page(w http.ResponseWriter, r *http.Request) (admin.Page, bool) {
	p := admin.Page{Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > admin.MaxLimit {
			badField(w, "limit", "Use a number from 1 to "+strconv.Itoa(admin.MaxLimit)+".")
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// list is every list answer: one page of items and the cursor of the next ("" on the last).
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func writeList[S any, T any](w http.ResponseWriter, items []S, next string, view func(S) T) {
	out := list[T]{Items: make([]T, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, view(it))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// boolParam reads a true/false query parameter.
func boolParam(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		badField(w, name, "Use true or false.")
		return false, false
	}
	return b, true
}

// duration reads a Go duration ("168h") given in a body field; "" is zero.
func duration(w http.ResponseWriter, field, v string) (time.Duration, bool) {
	if v == "" {
		return 0, true
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		badField(w, field, "Use a duration such as 72h or 30m.")
		return 0, false
	}
	return d, true
}

// timeParam reads an RFC 3339 time or a date (YYYY-MM-DD, UTC) from the query.
func timeParam(w http.ResponseWriter, r *http.Request, name string) (time.Time, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true
	}
	badField(w, name, "Use an RFC 3339 time (2026-03-31T12:00:00Z) or a date (2026-03-31).")
	return time.Time{}, false
}
