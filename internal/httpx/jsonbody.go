package httpx

import (
	"encoding/json"
	"net/http"
)

// JSONError answers a script call with a plain-language message for the person at the browser.
func JSONError(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, map[string]string{"error": msg})
}

// ReadJSON is how the pages' script calls are read: the CSRF token must be in the X-CSRF-Token
// header and the body a small JSON document. On failure it answers and returns false.
func (c *CSRF) ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if !c.CheckHeader(r) {
		JSONError(w, http.StatusForbidden, "This page has expired. Reload it and try again.")
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		JSONError(w, http.StatusBadRequest, "The request could not be read. Reload the page and try again.")
		return false
	}
	return true
}

// JSONServerError logs an internal failure with the request's logger and answers a script call
// with a plain sentence; the details never reach the browser.
func JSONServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	Logger(r.Context()).Error(what, "err", err)
	JSONError(w, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
}
