package directory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestBrandingAndPasswordRulesConformance stores and reads an organisation's branding and
// password rules on SQLite and PostgreSQL, and refuses what must not reach a page.
func TestBrandingAndPasswordRulesConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := directory.NewStore(db)
		o, err := s.CreateOrg(ctx, "brandco", "Brand Co")
		if err != nil {
			t.Fatal(err)
		}
		if !o.Branding.IsZero() || o.Passwords.MinLength != 12 {
			t.Fatalf("new organisation: branding %+v, rules %+v", o.Branding, o.Passwords)
		}
		got, err := s.GetOrg(ctx, o.ID)
		if err != nil || !got.Branding.IsZero() || got.Passwords.MinLength != 12 {
			t.Fatalf("stored defaults: %+v, %+v, %v", got.Branding, got.Passwords, err)
		}

		b := directory.Branding{DisplayName: " Brand Co Staff ", LogoURI: "https://cdn.example.com/logo.svg", PrimaryColour: "#1A2B3C"}
		if err := s.SetBranding(ctx, o.ID, b); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPasswordRules(ctx, o.ID, directory.PasswordRules{MinLength: 20}); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetOrgBySlug(ctx, "brandco")
		want := directory.Branding{DisplayName: "Brand Co Staff", LogoURI: "https://cdn.example.com/logo.svg", PrimaryColour: "#1a2b3c"}
		if err != nil || got.Branding != want || got.Passwords.MinLength != 20 {
			t.Fatalf("after set: %+v, %+v, %v", got.Branding, got.Passwords, err)
		}
		list, err := s.ListOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == o.ID && (l.Branding != want || l.Passwords.MinLength != 20) {
				t.Fatalf("ListOrgs: %+v", l)
			}
		}

		for _, tc := range []struct {
			b     directory.Branding
			field string
		}{
			{directory.Branding{LogoURI: "http://cdn.example.com/logo.png"}, "logo_uri"},
			{directory.Branding{LogoURI: "javascript:alert(1)"}, "logo_uri"},
			{directory.Branding{LogoURI: "https://user:pw@cdn.example.com/l.png"}, "logo_uri"},
			{directory.Branding{LogoURI: "https://*.example.com/l.png"}, "logo_uri"},
			{directory.Branding{LogoURI: "https://a.example.com;script-src/l.png"}, "logo_uri"},
			{directory.Branding{PrimaryColour: "red"}, "primary_colour"},
			{directory.Branding{PrimaryColour: "#12345"}, "primary_colour"},
			{directory.Branding{PrimaryColour: "#1a2b3c;}"}, "primary_colour"},
			{directory.Branding{PrimaryColour: "#ffff00"}, "primary_colour"}, // yellow on white: unreadable
			{directory.Branding{DisplayName: "two\nlines"}, "name"},
		} {
			err := s.SetBranding(ctx, o.ID, tc.b)
			var fe *directory.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("SetBranding(%+v) = %v, want a refusal naming %s", tc.b, err, tc.field)
			}
		}
		for _, n := range []int{0, 11, 65} {
			var fe *directory.FieldError
			if err := s.SetPasswordRules(ctx, o.ID, directory.PasswordRules{MinLength: n}); !errors.As(err, &fe) || fe.Field != "min_length" {
				t.Errorf("min length %d: %v", n, err)
			}
		}
		got, _ = s.GetOrg(ctx, o.ID)
		if got.Branding != want || got.Passwords.MinLength != 20 {
			t.Fatalf("a refused change changed something: %+v %+v", got.Branding, got.Passwords)
		}

		// Clearing the branding brings the plain pages back.
		if err := s.SetBranding(ctx, o.ID, directory.Branding{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetOrg(ctx, o.ID); !got.Branding.IsZero() {
			t.Fatalf("cleared branding: %+v", got.Branding)
		}
		if err := s.SetBranding(ctx, "nope", want); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("unknown organisation: %v", err)
		}
	})
}

func TestContrastWithWhite(t *testing.T) {
	for colour, want := range map[string]float64{"#000000": 21, "#ffffff": 1, "#2457c5": 6.4} {
		if got := directory.ContrastWithWhite(colour); got < want-0.1 || got > want+0.1 {
			t.Errorf("%s: %.2f, want %.1f", colour, got, want)
		}
	}
}
