package provider

import (
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// userinfo is the UserInfo endpoint (OIDC Core 5.3): the claims the access token's scopes allow,
// read fresh from the directory. Errors follow RFC 6750 section 3.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := fosite.AccessTokenFromRequest(r)
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis"`)
		httpx.JSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "A bearer access token is required."})
		return
	}
	invalid := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis", error="invalid_token"`)
		httpx.JSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
	}
	tu, ar, err := p.OAuth2.IntrospectToken(ctx, token, fosite.AccessToken, NewSession())
	if err != nil || tu != fosite.AccessToken {
		invalid("The access token is not valid.")
		return
	}
	if !ar.GetGrantedScopes().Has("openid") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis", error="insufficient_scope", scope="openid"`)
		httpx.JSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "The openid scope is required."})
		return
	}
	u, err := p.Users.GetUser(ctx, ar.GetSession().GetSubject())
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		p.log(ctx).Error("userinfo: load user", "err", err)
		httpx.JSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	if err != nil || !u.Active() {
		invalid("The access token does not belong to an active user.")
		return
	}
	claims := profileClaims(u, ar.GetGrantedScopes())
	claims["sub"] = u.ID
	httpx.JSON(w, http.StatusOK, claims)
}
