package provider

import (
	"encoding/json"
	"maps"
	"slices"

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

// CopyFrom makes s a deep copy of src (another *Session), without the JSON round trip Clone
// makes: the token endpoint builds up to four requests from one stored code, each with its own
// copy of the code's session (provider/store hydrate). It reports false for another kind.
func (s *Session) CopyFrom(src fosite.Session) bool {
	o, ok := src.(*Session)
	if !ok || o == nil || o.DefaultSession == nil {
		return false
	}
	d := *o.DefaultSession
	if o.Claims != nil {
		c := *o.Claims
		c.Audience = slices.Clone(c.Audience)
		c.AuthenticationMethodsReferences = slices.Clone(c.AuthenticationMethodsReferences)
		c.Extra = copyJSON(c.Extra).(map[string]any)
		d.Claims = &c
	}
	if o.Headers != nil {
		h := *o.Headers
		h.Extra = copyJSON(h.Extra).(map[string]any)
		d.Headers = &h
	}
	d.ExpiresAt = maps.Clone(o.ExpiresAt)
	s.DefaultSession = &d
	s.SID, s.OrgID = o.SID, o.OrgID
	return true
}

// copyJSON deep-copies a value made of JSON's maps and slices (claims read from storage); other
// values are shared, as they are immutable or were not made by JSON.
func copyJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return t
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = copyJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyJSON(e)
		}
		return out
	}
	return v
}
