package provider

import (
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/keys"
)

// token is the token endpoint (RFC 6749 section 3.2): authorization code with PKCE, refresh token
// with rotation, and client credentials. Errors are RFC 6749 section 5.2 JSON.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Parse first: fosite's multipart parsing hides a malformed urlencoded body.
	if err := r.ParseForm(); err != nil {
		p.tokenError(w, r, nil, fosite.ErrInvalidRequest.WithHint("The request body could not be parsed."))
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "", "authorization_code", "refresh_token", "client_credentials":
	default:
		p.tokenError(w, r, nil, fosite.ErrUnsupportedGrantType.WithHintf("The grant type %q is not supported.", gt))
		return
	}
	// A code's PKCE and OpenID Connect parts are read once with the code, and used up for good
	// only if this request fails (a successful exchange deactivates the code itself).
	ctx, done := p.Store.TrackExchange(ctx)
	issued := false
	defer func() {
		if err := done(issued); err != nil {
			p.log(ctx).Error("use up PKCE and OpenID Connect state of a failed code exchange", "err", err)
		}
	}()
	sess := NewSession()
	ar, err := p.OAuth2.NewAccessRequest(ctx, r, sess)
	if err != nil {
		p.tokenError(w, r, ar, err)
		return
	}
	client, ok := ar.GetClient().(*Client)
	if !ok {
		p.tokenError(w, r, ar, fosite.ErrServerError.WithDebug("unexpected client type"))
		return
	}
	grant := ar.GetGrantTypes()
	if grant.ExactOne("client_credentials") {
		ar.SetID(newRequestID())
		// The client acts on its own behalf: it is the subject (RFC 9068 section 2.2).
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		sess.Subject = client.ID
		// No ID token is issued for this grant: store no empty ID token claims with every token.
		sess.Claims, sess.Headers = nil, nil
	}
	if grant.ExactOne("refresh_token") {
		// A disabled or deleted user's refresh tokens stop working at once.
		if sub := ar.GetSession().GetSubject(); sub != "" {
			u, err := p.Users.GetUser(ctx, sub)
			if errors.Is(err, database.ErrNotFound) || (err == nil && !u.Active()) {
				p.tokenError(w, r, ar, fosite.ErrInvalidGrant.WithHint("The user of this grant can no longer sign in."))
				return
			}
			if err != nil {
				p.tokenError(w, r, ar, fosite.ErrServerError.WithWrap(err))
				return
			}
		}
	}
	ctx = keys.WithAlgorithm(ctx, client.IDTokenSignedResponseAlg)
	resp, err := p.OAuth2.NewAccessResponse(ctx, ar)
	if err != nil {
		p.tokenError(w, r, ar, err)
		return
	}
	issued = true
	if p.OnTokenIssued != nil {
		p.OnTokenIssued(grant[0])
	}
	if !grant.ExactOne("client_credentials") {
		// Client-credential grants are machine traffic at high rates; the audit log records
		// the grants that act for a person.
		p.record(r, audit.Event{Action: "token.issued", OrgID: client.OrgID, Actor: "client:" + client.ID,
			UserID: ar.GetSession().GetSubject(), ClientID: client.ID, Details: map[string]any{"grant_type": grant[0]}})
	}
	p.OAuth2.WriteAccessResponse(ctx, w, ar, resp)
}

func (p *Provider) tokenError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	e := audit.Event{Action: "token.refused", Outcome: audit.Failure,
		Details: map[string]any{"error": rfc.ErrorField, "hint": rfc.HintField}}
	if ar != nil && ar.GetClient() != nil {
		if c, ok := ar.GetClient().(*Client); ok {
			e.ClientID, e.OrgID = c.ID, c.OrgID
		}
	}
	if rfc.CodeField >= 500 {
		p.log(r.Context()).Error("token endpoint", "err", err, "debug", rfc.DebugField)
	}
	p.record(r, e)
	challenge(w, err)
	p.OAuth2.WriteAccessError(r.Context(), w, ar, err)
}
