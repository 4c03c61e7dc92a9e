package provider

import (
	"net/http"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/audit"
)

// revoke is the revocation endpoint (RFC 7009). fosite authenticates the client and revokes only
// that client's tokens; revoking a refresh token also revokes the access tokens of its grant.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var err error
	switch perr := r.ParseForm(); {
	case perr != nil:
		err = fosite.ErrInvalidRequest.WithHint("The request body could not be parsed.")
	case r.PostForm.Get("token") == "":
		// RFC 7009 section 2.1: token is required.
		err = fosite.ErrInvalidRequest.WithHint("The token parameter is missing.")
	default:
		err = p.OAuth2.NewRevocationRequest(ctx, r)
	}
	e := audit.Event{Action: "token.revoked", Actor: "client:" + r.PostFormValue("client_id")}
	if u, _, ok := r.BasicAuth(); ok {
		e.Actor = "client:" + u
	}
	if err != nil {
		e.Outcome = audit.Failure
		e.Details = map[string]any{"error": err.Error()}
	}
	p.record(r, e)
	challenge(w, err)
	p.OAuth2.WriteRevocationResponse(ctx, w, err)
}
