package brand

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// For is the branding a sign-in page of org shows, or nil for an organisation without one (the
// page then looks as it always did). Stored values are checked again, so that a value written
// around directory.ValidateBranding never reaches a page.
func For(org directory.Org) *ui.Brand {
	b, err := directory.ValidateBranding(org.Branding)
	if err != nil || b.IsZero() {
		return nil
	}
	out := &ui.Brand{Name: b.DisplayName, LogoURI: b.LogoURI}
	if out.LogoURI != "" {
		name := b.DisplayName
		if name == "" {
			name = org.Name
		}
		out.LogoAlt = name + " logo"
	}
	if b.PrimaryColour != "" {
		out.Stylesheet = StylesheetPath(org.Slug, b.PrimaryColour)
	}
	return out
}

// Apply is For, and when the branding shows a logo it lets the page load it: the response's CSP
// allows the logo's origin, and only it, for images (img-src). Call it before writing the page.
func Apply(w http.ResponseWriter, org directory.Org) *ui.Brand {
	b := For(org)
	if b == nil || b.LogoURI == "" {
		return b
	}
	csp := w.Header().Get("Content-Security-Policy")
	if csp == "" {
		csp = httpx.CSP
	}
	w.Header().Set("Content-Security-Policy", ImgCSP(csp, directory.LogoOrigin(b.LogoURI)))
	return b
}

// ImgCSP widens a policy's img-src by one origin; without an origin it is csp.
func ImgCSP(csp, origin string) string {
	if origin == "" {
		return csp
	}
	const img = "img-src 'self' data:"
	if strings.Contains(csp, img) {
		return strings.Replace(csp, img, img+" "+origin, 1)
	}
	return csp + "; img-src 'self' data: " + origin
}

// StylesheetPath is the address of an organisation's stylesheet for a colour.
func StylesheetPath(slug, colour string) string {
	return "/o/" + slug + "/brand.css?v=" + strings.TrimPrefix(colour, "#")
}

// Orgs reads organisations.
type Orgs interface {
	GetOrgBySlug(ctx context.Context, slug string) (directory.Org, error)
}

// Stylesheet serves GET /o/{slug}/brand.css: the organisation's primary colour as the accent of
// style.css. An organisation without a colour gets an empty stylesheet; an unknown one, 404.
type Stylesheet struct{ Orgs Orgs }

// Route is where Stylesheet is mounted (with a mux {slug} variable).
const Route = "/o/{slug:[a-z0-9-]+}/brand.css"

func (s Stylesheet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	org, err := s.Orgs.GetOrgBySlug(r.Context(), mux.Vars(r)["slug"])
	if errors.Is(err, database.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		httpx.Logger(r.Context()).Error("brand stylesheet: load organisation", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Briefly: a changed colour has a new URL (For), but a cached copy of this URL should not
	// outlive a change by much either.
	w.Header().Set("Cache-Control", "public, max-age=300")
	b, err := directory.ValidateBranding(org.Branding)
	if err != nil || b.PrimaryColour == "" {
		return
	}
	_, _ = w.Write([]byte("/* " + org.Slug + " */\n:root { --accent: " + b.PrimaryColour + "; }\n"))
}
