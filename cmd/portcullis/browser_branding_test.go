package main

import (
	"testing"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestBrowserBrandedSignIn: in Chromium, under the page's CSP (no inline styles), a branded
// organisation's sign-in page takes its primary colour from /o/{slug}/brand.css and shows its
// name and logo with a text alternative.
func TestBrowserBrandedSignIn(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	s.createOrg(t, "acme", "optional")
	if _, err := s.cli("orgs", "set-branding", "acme", "--name", "Acme Staff", "--logo-uri", testLogo, "--colour", "#1a2b3c"); err != nil {
		t.Fatal(err)
	}
	d := newBrowserDevice(t, "Ann's laptop", deviceBoundKeys)
	d.navigate(s.URL + "/o/acme/login")
	if got := d.text("#brand-name"); got != "Acme Staff" {
		t.Fatalf("brand name %q", got)
	}
	if alt := mustEval[string](d, `document.getElementById("brand-logo").alt`); alt != "Acme Staff logo" {
		t.Fatalf("logo alt %q", alt)
	}
	// #passkey-any is a secondary button: its text is the accent colour.
	if got := mustEval[string](d, `getComputedStyle(document.getElementById("passkey-any")).color`); got != "rgb(26, 43, 60)" {
		t.Fatalf("accent colour %q, want the brand's rgb(26, 43, 60)", got)
	}
	// Another organisation's page keeps the default accent.
	s.createOrg(t, "plain", "optional")
	d.navigate(s.URL + "/o/plain/login")
	if got := mustEval[string](d, `getComputedStyle(document.getElementById("passkey-any")).color`); got != "rgb(36, 87, 197)" {
		t.Fatalf("default accent colour %q", got)
	}
	if n := mustEval[int](d, `document.querySelectorAll("#brand").length`); n != 0 {
		t.Fatal("an unbranded page shows a brand header")
	}
}
