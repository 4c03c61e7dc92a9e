package brand

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

func TestApply(t *testing.T) {
	org := directory.Org{Slug: "acme", Name: "Acme Ltd"}
	w := httptest.NewRecorder()
	if b := Apply(w, org); b != nil || w.Header().Get("Content-Security-Policy") != "" {
		t.Fatalf("no branding: %+v, %v", b, w.Header())
	}
	org.Branding = directory.Branding{LogoURI: "https://cdn.example.com:8443/l.png", PrimaryColour: "#1A2B3C"}
	w.Header().Set("Content-Security-Policy", httpx.CSP)
	b := Apply(w, org)
	if b == nil || b.LogoAlt != "Acme Ltd logo" || b.Stylesheet != "/o/acme/brand.css?v=1a2b3c" || b.Name != "" {
		t.Fatalf("branding: %+v", b)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: https://cdn.example.com:8443;") || strings.Count(csp, "https://") != 1 {
		t.Fatalf("CSP %q", csp)
	}
	// A stored value that would not pass validation never reaches a page or a header.
	org.Branding = directory.Branding{DisplayName: "X", LogoURI: "https://a.example.com;script-src *"}
	w = httptest.NewRecorder()
	if b := Apply(w, org); b != nil || w.Header().Get("Content-Security-Policy") != "" {
		t.Fatalf("invalid stored branding: %+v %v", b, w.Header())
	}
}
