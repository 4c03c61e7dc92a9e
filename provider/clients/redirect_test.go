package clients

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		name, uri string
		ok        bool
		problem   string // part of the problem text when !ok
	}{
		{"https", "https://app.example.com/cb", true, ""},
		{"https with port and query", "https://app.example.com:8443/cb?tenant=a", true, ""},
		{"https localhost", "https://localhost/cb", true, ""},
		{"http localhost", "http://localhost:8080/cb", true, ""},
		{"http loopback v4", "http://127.0.0.1:5000/cb", true, ""},
		{"http loopback v4 other address", "http://127.3.2.1/cb", true, ""},
		{"http loopback v6", "http://[::1]/cb", true, ""},
		{"http loopback v6 with port", "http://[::1]:9000/cb", true, ""},
		{"private-use scheme", "com.example.app:/cb", true, ""},
		{"private-use scheme with authority", "com.example.app://callback", true, ""},
		{"http remote host", "http://example.com", false, "http is only allowed for localhost or loopback"},
		{"http remote host with path", "http://example.com/cb", false, "http is only allowed"},
		{"http non-loopback ip", "http://10.0.0.1/cb", false, "http is only allowed"},
		{"http v4-mapped loopback", "http://[::ffff:127.0.0.1]/cb", false, "http is only allowed"},
		{"http localhost lookalike", "http://localhost.example.com/cb", false, "http is only allowed"},
		{"fragment", "https://x/cb#frag", false, "fragment"},
		{"empty fragment", "https://x/cb#", false, "fragment"},
		{"custom scheme without dot", "myapp:/cb", false, "reverse domain name"},
		{"custom scheme empty label", "com..app:/cb", false, "reverse domain name"},
		{"custom scheme opaque", "com.example.app:cb", false, "needs a path"},
		{"javascript", "javascript:alert(1)", false, "javascript: scheme is not allowed"},
		{"data", "data:text/html,<script>alert(1)</script>", false, "data: scheme is not allowed"},
		{"file", "file:///etc/passwd", false, "file: scheme is not allowed"},
		{"relative", "/cb", false, "absolute"},
		{"no scheme", "example.com/cb", false, "absolute"},
		{"empty", "", false, "must not be empty"},
		{"wildcard host", "https://*.example.com/cb", false, "wildcard"},
		{"wildcard path", "https://example.com/*", false, "wildcard"},
		{"credentials", "https://user:pass@example.com/cb", false, "credentials"},
		{"https without host", "https:///cb", false, "needs a host"},
		{"https opaque", "https:example.com", false, "needs a host"},
		{"space", "https://example.com/a b", false, "spaces"},
		{"newline", "https://example.com/cb\n", false, "control"},
		{"too long", "https://example.com/" + strings.Repeat("a", maxURILength), false, "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRedirectURI("redirect_uri", tt.uri)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateRedirectURI(%q) = %v, want nil", tt.uri, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ValidateRedirectURI(%q) = %v, want a *ValidationError", tt.uri, err)
			}
			if ve.Field != "redirect_uri" || !strings.Contains(ve.Problem, tt.problem) {
				t.Fatalf("ValidateRedirectURI(%q) = %v, want field redirect_uri and a problem containing %q", tt.uri, err, tt.problem)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := ValidateRedirectURI("redirect_uri", "http://example.com/cb")
	want := `redirect_uri "http://example.com/cb": http is only allowed for localhost or loopback (RFC 8252 section 7.3); use https`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if got := (&ValidationError{Field: "name", Problem: "is required"}).Error(); got != "name: is required" {
		t.Fatalf("got %q", got)
	}
}
