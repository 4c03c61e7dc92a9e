package consent

// Scope is one scope as the consent page and the account page put it to a person.
type Scope struct {
	Name, Text string
}

// scopeText says, in words, what each scope Portcullis knows lets an app see or do (OpenID
// Connect Core 5.4 for the standard ones; org and roles are Portcullis claims).
var scopeText = map[string]string{
	"openid":         "Know who you are when you sign in",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"offline_access": "Stay connected when you are not using it (until you take access back here)",
	"org":            "See which organisation you belong to",
	"roles":          "See your roles in your organisation",
	"admin:read":     "Read your organisation's administration data",
	"admin:write":    "Change your organisation's administration data",
}

// Describe returns the scopes in words, in the order given. A scope without words of its own is
// named as it is, so that nothing an app asks for is hidden.
func Describe(scopes []string) []Scope {
	out := make([]Scope, 0, len(scopes))
	for _, s := range scopes {
		text, ok := scopeText[s]
		if !ok {
			text = "Use the permission “" + s + "”"
		}
		out = append(out, Scope{Name: s, Text: text})
	}
	return out
}
