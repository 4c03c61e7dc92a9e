package clients

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// maxURILength bounds registered URIs; real redirect URIs are far shorter.
const maxURILength = 2000

// blockedSchemes run code or read local data in a user agent. They fail the reverse-DNS rule
// anyway; naming them gives a clearer message.
var blockedSchemes = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "file": true, "blob": true,
	"about": true, "filesystem": true,
}

// ValidateRedirectURI checks one redirect URI (or post-logout redirect URI, named by field) for
// registration. It accepts:
//   - https URIs with any host;
//   - http URIs whose host is localhost, an address in 127.0.0.0/8 or [::1], for native apps
//     that listen on the loopback interface (RFC 8252 section 7.3);
//   - private-use scheme URIs in reverse domain name form, such as com.example.app:/callback,
//     for native apps (RFC 8252 section 7.1).
//
// The URI must be absolute and have no fragment (RFC 6749 section 3.1.2), and wildcards are
// refused: redirect URIs are compared exactly (OAuth 2.1 section 2.3.1).
// A failure is a *ValidationError.
func ValidateRedirectURI(field, raw string) error {
	bad := func(problem string) error { return invalidValue(field, raw, problem) }
	switch {
	case raw == "":
		return invalid(field, "must not be empty")
	case len(raw) > maxURILength:
		return bad(fmt.Sprintf("is longer than %d characters", maxURILength))
	case strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return bad("must not contain spaces or control characters")
	case strings.Contains(raw, "#"):
		return bad("must not contain a fragment (RFC 6749 section 3.1.2)")
	case strings.Contains(raw, "*"):
		return bad("must not contain wildcards: redirect URIs are matched exactly")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URI")
	}
	if u.Scheme == "" {
		return bad("must be an absolute URI (RFC 6749 section 3.1.2)")
	}
	if u.User != nil {
		return bad("must not contain user credentials")
	}
	switch u.Scheme { // url.Parse lower-cases the scheme
	case "https":
		if u.Opaque != "" || u.Hostname() == "" {
			return bad("an https URI needs a host")
		}
	case "http":
		if u.Opaque != "" || !isLoopbackHost(u.Hostname()) {
			return bad("http is only allowed for localhost or loopback (RFC 8252 section 7.3); use https")
		}
	default:
		if blockedSchemes[u.Scheme] {
			return bad(fmt.Sprintf("the %s: scheme is not allowed", u.Scheme))
		}
		if !isReverseDNS(u.Scheme) {
			return bad("a private-use URI scheme must be a reverse domain name such as com.example.app (RFC 8252 section 7.1)")
		}
		if u.Opaque != "" {
			return bad("a private-use scheme URI needs a path, as in com.example.app:/callback (RFC 8252 section 7.1)")
		}
	}
	return nil
}

// isLoopbackHost accepts "localhost", 127.0.0.0/8 and ::1 (RFC 8252 section 7.3 and 8.3).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}
	if ip.Is4() {
		return ip.As4()[0] == 127
	}
	return ip == netip.IPv6Loopback()
}

// isReverseDNS reports whether a scheme looks like a reverse domain name: at least two
// dot-separated, non-empty labels.
func isReverseDNS(scheme string) bool {
	labels := strings.Split(scheme, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}
