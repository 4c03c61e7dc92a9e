package mail

import (
	"strings"
	"testing"
	"time"
)

func TestComposeEachKind(t *testing.T) {
	expires := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	hostile := `Eve <script>alert("x")</script> & "friends"`
	cases := []struct {
		kind        Kind
		url         string
		subject     string
		mustInclude []string // in both text and HTML
	}{
		{KindEnrollment, "https://id.example.com/enroll/abc", "Set up your Acme account",
			[]string{"Tuesday 1 December 2026 at 08:30 UTC", "create a passkey"}},
		{KindRecovery, "https://id.example.com/recover/def", "Recover access to your Acme account",
			[]string{"Tuesday 1 December 2026 at 08:30 UTC", "tell your administrator"}},
		{KindPasskeyAdded, "https://id.example.com/account#passkeys", "A passkey was added to your Acme account",
			[]string{"YubiKey 5", "Tuesday 1 December 2026 at 08:30 UTC", "review your passkeys"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			m, err := Compose(tc.kind, "eve@example.com", Data{
				OrgName: "Acme", DisplayName: hostile, Username: "eve", URL: tc.url,
				Expires: expires, When: expires, Device: "YubiKey 5",
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.To != "eve@example.com" || m.Subject != tc.subject {
				t.Errorf("To %q, Subject %q; want subject %q", m.To, m.Subject, tc.subject)
			}
			// html/template must escape the display name; the text part shows it as typed.
			if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, hostile) {
				t.Errorf("HTML contains the unescaped display name:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "Eve &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;friends&#34;") {
				t.Errorf("HTML lacks the escaped display name:\n%s", m.HTML)
			}
			if !strings.Contains(m.Text, "Hello "+hostile+",") {
				t.Errorf("text lacks the greeting:\n%s", m.Text)
			}
			if !strings.Contains(m.Text, "\n"+tc.url+"\n") || !strings.Contains(m.HTML, `href="`+tc.url+`"`) {
				t.Errorf("link %s missing from text or HTML:\n%s\n%s", tc.url, m.Text, m.HTML)
			}
			for _, s := range tc.mustInclude {
				if !strings.Contains(m.Text, s) || !strings.Contains(strings.ToLower(m.HTML), strings.ToLower(s)) {
					t.Errorf("%q missing from text or HTML", s)
				}
			}
		})
	}
}

func TestComposeDefaultsAndCleaning(t *testing.T) {
	m, err := Compose(KindRecovery, "bob@example.com", Data{
		OrgName: "Acme\r\nBcc: eve@example.com", Username: "bob\n\nYour account is locked, call +1 555", URL: "https://id.example.com/r/x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Recover access to your Acme Bcc: eve@example.com account" {
		t.Errorf("line breaks not folded out of the subject: %q", m.Subject)
	}
	if !strings.Contains(m.Text, "Hello bob Your account is locked, call +1 555,") {
		t.Errorf("greeting should fall back to the username on one line:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "expires") {
		t.Errorf("zero Expires should leave the expiry sentence out:\n%s", m.Text)
	}
	m, err = Compose(KindPasskeyAdded, "bob@example.com", Data{URL: "https://id.example.com/account"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "A passkey was added to your Portcullis account" || !strings.Contains(m.Text, "Hello there,") {
		t.Errorf("defaults not applied: %q\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.Text, " from ") || strings.Contains(m.Text, " on ") {
		t.Errorf("empty Device and When should be left out:\n%s", m.Text)
	}
}

func TestComposeRefuses(t *testing.T) {
	cases := []struct {
		name, kind, to, url, want string
	}{
		{"unknown kind", "welcome", "a@example.com", "https://x.example/", "unknown message kind"},
		{"missing link", "enrollment", "a@example.com", "", "not an absolute http(s) URL"},
		{"relative link", "enrollment", "a@example.com", "/enroll/abc", "not an absolute http(s) URL"},
		{"javascript link", "recovery", "a@example.com", "javascript:alert(1)", "not an absolute http(s) URL"},
		{"bad recipient", "recovery", "not an address", "https://x.example/", "not an email address"},
		{"injected recipient", "recovery", "a@example.com\nBcc: e@example.com", "https://x.example/", "line break"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compose(Kind(tc.kind), tc.to, Data{URL: tc.url})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
