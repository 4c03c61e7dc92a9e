package clients

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// validateLinks checks the optional links the consent page shows: the app's logo, privacy policy
// and terms of service. They must be https (OpenID Connect Dynamic Client Registration section 2
// lets them be any URL; a page served over https must not load a logo or link over http).
func (s Spec) validateLinks() error {
	for _, l := range []struct{ field, raw string }{
		{"logo_uri", s.LogoURI}, {"policy_uri", s.PolicyURI}, {"tos_uri", s.TOSURI},
	} {
		if l.raw == "" {
			continue
		}
		if err := validateHTTPSLink(l.field, l.raw); err != nil {
			return err
		}
	}
	return nil
}

func validateHTTPSLink(field, raw string) error {
	bad := func(problem string) error { return invalidValue(field, raw, problem) }
	if len(raw) > maxURILength {
		return bad(fmt.Sprintf("is longer than %d characters", maxURILength))
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return bad("must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a valid URL")
	case u.Scheme != "https" || u.Opaque != "" || u.Hostname() == "":
		return bad("must be an https URL")
	case u.User != nil:
		return bad("must not contain user credentials")
	}
	return nil
}

// validateLogoutURIs checks the back- and front-channel logout URIs: absolute https URIs, or http
// only on localhost or loopback, with no fragment (Back-Channel Logout 1.0 section 2.2,
// Front-Channel Logout 1.0 section 2). A private-use scheme cannot be fetched by the server nor
// framed by a web page, so it is refused.
func (s Spec) validateLogoutURIs() error {
	for _, l := range []struct{ field, raw string }{
		{"backchannel_logout_uri", s.BackchannelLogoutURI}, {"frontchannel_logout_uri", s.FrontchannelLogoutURI},
	} {
		if l.raw == "" {
			continue
		}
		if err := ValidateRedirectURI(l.field, l.raw); err != nil {
			return err
		}
		if u, _ := url.Parse(l.raw); u.Scheme != "https" && u.Scheme != "http" {
			return invalidValue(l.field, l.raw, "must be an https URI (http only for localhost or loopback)")
		}
	}
	return nil
}
