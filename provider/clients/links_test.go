package clients

import (
	"errors"
	"testing"
)

func TestConsentLinks(t *testing.T) {
	base := func() Spec {
		return Spec{Name: "Timesheets", RedirectURIs: []string{"https://app.example.test/cb"}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string // "" = valid
	}{
		{"none", func(*Spec) {}, ""},
		{"all https", func(s *Spec) {
			s.LogoURI, s.PolicyURI, s.TOSURI = "https://cdn.example.test/logo.png", "https://example.test/privacy", "https://example.test/terms"
		}, ""},
		{"trimmed", func(s *Spec) { s.LogoURI = "  https://cdn.example.test/logo.png " }, ""},
		{"http logo", func(s *Spec) { s.LogoURI = "http://cdn.example.test/logo.png" }, "logo_uri"},
		{"javascript policy", func(s *Spec) { s.PolicyURI = "javascript:alert(1)" }, "policy_uri"},
		{"data logo", func(s *Spec) { s.LogoURI = "data:image/png;base64,AAAA" }, "logo_uri"},
		{"relative terms", func(s *Spec) { s.TOSURI = "/terms" }, "tos_uri"},
		{"credentials", func(s *Spec) { s.TOSURI = "https://user:pw@example.test/terms" }, "tos_uri"},
		{"space", func(s *Spec) { s.PolicyURI = "https://example.test/a b" }, "policy_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			s.Normalize()
			err := s.Validate()
			var ve *ValidationError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate = %v, want valid", err)
			case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
				t.Fatalf("Validate = %v, want an error for %s", err, tc.field)
			}
		})
	}
	// The links survive New and Spec (what an admin edits).
	s := base()
	s.Type = TypePublic
	s.LogoURI, s.PolicyURI, s.TOSURI = "https://cdn.example.test/l.png", "https://example.test/p", "https://example.test/t"
	c, _, err := New(s, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Spec(); got.LogoURI != s.LogoURI || got.PolicyURI != s.PolicyURI || got.TOSURI != s.TOSURI {
		t.Fatalf("Spec() = %+v", got)
	}
}

func TestLogoutURIs(t *testing.T) {
	base := Spec{Name: "App", RedirectURIs: []string{"https://app.example/cb"}}
	for _, tc := range []struct {
		back, front string
		ok          bool
	}{
		{"https://app.example/logout", "https://app.example/fc", true},
		{"http://localhost:8080/logout", "http://127.0.0.1/fc", true},
		{"http://app.example/logout", "", false},
		{"", "http://app.example/fc", false},
		{"https://app.example/logout#x", "", false},
		{"com.example.app:/logout", "", false},
		{"", "javascript:alert(1)", false},
	} {
		s := base
		s.BackchannelLogoutURI, s.FrontchannelLogoutURI = tc.back, tc.front
		s.Normalize()
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("back %q front %q: err %v, want ok=%t", tc.back, tc.front, err, tc.ok)
		}
	}
}
