package provider

import (
	"time"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
)

// userSession builds the fosite session for a user's grant: the ID token claims of the sign-in
// (OIDC Core 2: sub, auth_time, acr, amr; OIDC Front/Back-Channel Logout: sid) plus the profile
// claims the granted scopes allow (OIDC Core 5.4).
func (p *Provider) userSession(u directory.User, s session.Session, requestedAt time.Time, scopes fosite.Arguments) *Session {
	fs := NewSession()
	fs.Subject = u.ID
	fs.Username = u.Username
	fs.SID = s.ID
	fs.OrgID = u.OrgID
	c := fs.Claims
	c.Subject = u.ID
	c.Issuer = p.Issuer
	c.AuthTime = s.AuthTime.UTC().Truncate(time.Second)
	c.RequestedAt = requestedAt.UTC().Truncate(time.Second)
	c.AuthenticationContextClassReference = s.ACR
	c.AuthenticationMethodsReferences = s.AMR
	c.Extra = profileClaims(u, scopes)
	c.Extra["sid"] = s.ID
	return fs
}

// profileClaims are the user claims released for the granted scopes.
func profileClaims(u directory.User, scopes fosite.Arguments) map[string]any {
	out := map[string]any{}
	if scopes.Has("profile") {
		out["preferred_username"] = u.Username
		if u.DisplayName != "" {
			out["name"] = u.DisplayName
		}
		out["updated_at"] = u.UpdatedAt.Unix()
	}
	// Issue 4: "org" names the user's organisation, "roles" lists their roles (the built-in
	// admin and free-form ones; an empty list says "none", not "unknown").
	if scopes.Has("org") {
		out["org_id"] = u.OrgID
		out["org_name"] = u.OrgName
	}
	if scopes.Has("roles") {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		out["roles"] = roles
	}
	// Only a verified address is released: an unverified one could be anybody's.
	if scopes.Has("email") && u.Email != "" && u.EmailVerified {
		out["email"] = u.Email
		out["email_verified"] = true
	}
	return out
}
