package provider

import (
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/httpx"
)

// introspect is the token introspection endpoint (RFC 7662). The caller authenticates like at the
// token endpoint; a client sees its own tokens, and only a client with the introspect permission
// sees other clients' tokens. Anything else is {"active": false} (RFC 7662 section 2.2).
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.OAuth2.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("The request body could not be parsed."))
		return
	}
	caller, err := p.OAuth2.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		p.tokenError(w, r, nil, err)
		return
	}
	cc, ok := caller.(*Client)
	if !ok || cc.Public {
		p.tokenError(w, r, nil, fosite.ErrInvalidClient.WithHint("Public clients cannot introspect tokens."))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		p.OAuth2.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return
	}
	tu, ar, err := p.OAuth2.IntrospectToken(ctx, token, fosite.TokenUse(r.PostForm.Get("token_type_hint")), NewSession())
	var owner *Client
	if err == nil {
		owner, _ = ar.GetClient().(*Client)
	}
	if owner == nil || (owner.ID != cc.ID && !(cc.CanIntrospect && owner.OrgID == cc.OrgID)) {
		// Another client's token is inactive unless the caller may introspect its
		// organisation's tokens.
		httpx.JSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	sess := ar.GetSession()
	out := map[string]any{
		"active":    true,
		"scope":     strings.Join(ar.GetGrantedScopes(), " "),
		"client_id": ar.GetClient().GetID(),
		"sub":       sess.GetSubject(),
		"iat":       ar.GetRequestedAt().Unix(),
		"iss":       p.Issuer,
	}
	if tu == fosite.AccessToken {
		out["token_type"] = "Bearer"
		if exp := sess.GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
			out["exp"] = exp.Unix()
		}
	} else {
		out["token_type"] = "refresh_token"
		if exp := sess.GetExpiresAt(fosite.RefreshToken); !exp.IsZero() {
			out["exp"] = exp.Unix()
		}
	}
	if aud := ar.GetGrantedAudience(); len(aud) > 0 {
		out["aud"] = []string(aud)
	}
	if s, ok := sess.(*Session); ok && s.Username != "" {
		out["username"] = s.Username
	}
	httpx.JSON(w, http.StatusOK, out)
}
