package api

import (
	"math"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// clientBody is a client as an admin registers or edits it; in an edit, fields left out keep
// their value.
type clientBody struct {
	Name                   *string   `json:"name"`
	Type                   *string   `json:"type"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	GrantTypes             *[]string `json:"grant_types"`
	Scopes                 *[]string `json:"scopes"`
	Audience               *[]string `json:"audience"`
	AuthMethod             *string   `json:"token_endpoint_auth_method"`
	JWKS                   *string   `json:"jwks"`
	JWKSURI                *string   `json:"jwks_uri"`
	AuthSigningAlg         *string   `json:"token_endpoint_auth_signing_alg"`
	IDTokenAlg             *string   `json:"id_token_signed_response_alg"`
	JWTAccessTokens        *bool     `json:"jwt_access_tokens"`
	RequirePAR             *bool     `json:"require_pushed_authorization_requests"`
	FirstParty             *bool     `json:"first_party"`
	CanIntrospect          *bool     `json:"introspect"`
	LogoURI                *string   `json:"logo_uri"`
	PolicyURI              *string   `json:"policy_uri"`
	TOSURI                 *string   `json:"tos_uri"`
	BackchannelLogoutURI   *string   `json:"backchannel_logout_uri"`
	BackchannelLogoutSID   *bool     `json:"backchannel_logout_session_required"`
	FrontchannelLogoutURI  *string   `json:"frontchannel_logout_uri"`
	FrontchannelLogoutSID  *bool     `json:"frontchannel_logout_session_required"`
	// Token lifetimes in seconds (like expires_in); 0 is the server's default.
	AccessTokenLifetime  *int64 `json:"access_token_lifetime"`
	RefreshTokenLifetime *int64 `json:"refresh_token_lifetime"`
	IDTokenLifetime      *int64 `json:"id_token_lifetime"`
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (b clientBody) apply(s *clients.Spec) {
	set(&s.Name, b.Name)
	set(&s.Type, b.Type)
	set(&s.RedirectURIs, b.RedirectURIs)
	set(&s.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs)
	set(&s.GrantTypes, b.GrantTypes)
	set(&s.Scopes, b.Scopes)
	set(&s.Audience, b.Audience)
	set(&s.AuthMethod, b.AuthMethod)
	set(&s.JWKS, b.JWKS)
	set(&s.JWKSURI, b.JWKSURI)
	set(&s.AuthSigningAlg, b.AuthSigningAlg)
	set(&s.IDTokenAlg, b.IDTokenAlg)
	set(&s.JWTAccessTokens, b.JWTAccessTokens)
	set(&s.RequirePAR, b.RequirePAR)
	set(&s.FirstParty, b.FirstParty)
	set(&s.CanIntrospect, b.CanIntrospect)
	set(&s.LogoURI, b.LogoURI)
	set(&s.PolicyURI, b.PolicyURI)
	set(&s.TOSURI, b.TOSURI)
	set(&s.BackchannelLogoutURI, b.BackchannelLogoutURI)
	set(&s.BackchannelLogoutSessionRequired, b.BackchannelLogoutSID)
	set(&s.FrontchannelLogoutURI, b.FrontchannelLogoutURI)
	set(&s.FrontchannelLogoutSessionRequired, b.FrontchannelLogoutSID)
	setSeconds(&s.Lifetimes.AccessToken, b.AccessTokenLifetime)
	setSeconds(&s.Lifetimes.RefreshToken, b.RefreshTokenLifetime)
	setSeconds(&s.Lifetimes.IDToken, b.IDTokenLifetime)
}

// setSeconds sets a lifetime given in seconds. An absurd count is capped rather than overflowed,
// so that validation refuses it as out of bounds.
func setSeconds(dst *time.Duration, v *int64) {
	if v == nil {
		return
	}
	const most = int64(math.MaxInt64 / int64(time.Second))
	*dst = time.Duration(max(min(*v, most), -most)) * time.Second
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	p, ok := page(w, r)
	if !ok {
		return
	}
	list, next, err := h.Service.ListClients(r.Context(), a, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, list, next, viewClient)
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b clientBody
	if !decode(w, r, &b, false) {
		return
	}
	spec := clients.Spec{BackchannelLogoutSessionRequired: true} // the registration default here
	b.apply(&spec)
	c, secret, err := h.Service.CreateClient(r.Context(), a, spec)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := viewClient(c)
	v.ClientSecret = secret
	httpx.JSON(w, http.StatusCreated, v)
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	c, err := h.Service.GetClient(r.Context(), a, mux.Vars(r)["id"])
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewClient(c))
}

func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b clientBody
	if !decode(w, r, &b, false) {
		return
	}
	c, secret, err := h.Service.UpdateClient(r.Context(), a, mux.Vars(r)["id"], b.apply)
	if err != nil {
		fail(w, r, err)
		return
	}
	v := viewClient(c)
	v.ClientSecret = secret
	httpx.JSON(w, http.StatusOK, v)
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	if _, err := h.Service.DeleteClient(r.Context(), a, mux.Vars(r)["id"]); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	id := mux.Vars(r)["id"]
	secret, err := h.Service.RotateClientSecret(r.Context(), a, id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"client_id": id, "client_secret": secret})
}
