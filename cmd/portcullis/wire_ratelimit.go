package main

import (
	"net/http"
	"regexp"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// signInStarts are the routes anyone may call that store something for a sign-in: the authorize
// endpoint parks the request, the others store a passkey ceremony or a cross-device code.
var signInStarts = regexp.MustCompile(`^(/o/[a-z0-9-]+)?/login/(begin|begin-any|passkey/begin|handoff/start|handoff/passkey/begin)$`)

func startsSignIn(r *http.Request) bool {
	return r.URL.Path == "/oauth2/auth" || (r.Method == http.MethodPost && signInStarts.MatchString(r.URL.Path))
}

// signInRateLimit wraps next with the per-address limit on sign-in starts (--sign-in-rate-limit).
// A refused page load gets the error page, a refused script call its JSON error; the first
// refusal of a flood is audited.
func signInRateLimit(perMinute int, log *audit.Log, renderer *ui.Renderer, next http.Handler) http.Handler {
	l := httpx.NewRateLimit(perMinute)
	l.Refused = func(r *http.Request, addr string) {
		_ = log.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "signin.rate_limited", Outcome: audit.Failure,
			Details: map[string]any{"path": r.URL.Path, "per_minute": perMinute}}))
	}
	const msg = "Too many sign-in attempts came from your network. Wait a minute, then try again."
	return l.Limit(startsSignIn, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path != "/oauth2/auth" {
			httpx.JSONError(w, http.StatusTooManyRequests, msg)
			return
		}
		renderer.Error(w, r, http.StatusTooManyRequests, "Too many sign-in attempts", msg, "")
	}, next)
}
