package provider

import (
	"encoding/json"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is the fosite session Portcullis stores with every code and token: the OpenID Connect
// claims of the sign-in plus the Portcullis sign-in session it came from.
type Session struct {
	*openid.DefaultSession
	SID   string `json:"sid,omitempty"`
	OrgID string `json:"org_id,omitempty"`
}

// NewSession returns an empty session ready to be filled or unmarshalled into.
func NewSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{Extra: map[string]any{}},
		Headers: &jwt.Headers{Extra: map[string]any{}},
	}}
}

// GetSessionID lets the store index tokens by sign-in session, so ending it can revoke them.
func (s *Session) GetSessionID() string { return s.SID }

// Clone implements fosite.Session; fosite clones on refresh and must get our type back.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	out := NewSession()
	if err := json.Unmarshal(b, out); err != nil {
		return nil
	}
	return out
}
