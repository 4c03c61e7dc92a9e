package provider

import (
	"net/http"

	"github.com/ory/fosite"
)

// par is the pushed authorization request endpoint (RFC 9126 section 2). The pushed request is
// validated like an authorize request, including our own checks, before a request_uri is issued.
func (p *Provider) par(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.OAuth2.NewPushedAuthorizeRequest(ctx, r)
	if err != nil {
		challenge(w, err)
		p.OAuth2.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	ar.SetID(newRequestID())
	client, ok := ar.GetClient().(*Client)
	if !ok {
		p.OAuth2.WritePushedAuthorizeError(ctx, w, ar, fosite.ErrServerError)
		return
	}
	if err := validateAuthorize(ar.GetRequestForm(), client, true, ar.GetRequestedScopes()); err != nil {
		p.OAuth2.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	resp, err := p.OAuth2.NewPushedAuthorizeResponse(ctx, ar, NewSession())
	if err != nil {
		p.OAuth2.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	p.OAuth2.WritePushedAuthorizeResponse(ctx, w, ar, resp)
}
