package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind names one kind of message; each has templates/<kind>.txt and templates/<kind>.html.
type Kind string

const (
	// KindEnrollment carries the single-use link that lets a new user create their first passkey.
	KindEnrollment Kind = "enrollment"
	// KindRecovery carries a single-use account recovery link.
	KindRecovery Kind = "recovery"
	// KindPasskeyAdded warns that a passkey was added from a new device; URL is the passkeys page.
	KindPasskeyAdded Kind = "passkey-added"
)

// Kinds lists every kind, in a stable order.
func Kinds() []Kind { return []Kind{KindEnrollment, KindRecovery, KindPasskeyAdded} }

// Data fills the templates. Text fields are shown to the person as they are (escaped in HTML);
// line breaks and other control characters in them are folded into spaces.
type Data struct {
	OrgName     string    // organisation the account belongs to; "Portcullis" when empty
	DisplayName string    // used in the greeting; Username when empty
	Username    string    // shown so the person knows which account is meant
	URL         string    // the link: enrollment, recovery, or the page to review passkeys; absolute http(s)
	Expires     time.Time // when the link stops working; zero leaves the sentence out
	Device      string    // passkey-added: the device or passkey provider, e.g. "iCloud Keychain"
	When        time.Time // passkey-added: when it was added; zero leaves it out
}

//go:embed templates
var templateFS embed.FS

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates are parsed when the package loads, so a broken template stops the program at start-up
// rather than at the first email.
var templates = mustParse()

func mustParse() map[Kind]kindTemplates {
	funcs := htmltemplate.FuncMap{
		"button": func(u, label string) map[string]string { return map[string]string{"URL": u, "Label": label} },
	}
	layout := htmltemplate.Must(htmltemplate.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	m := make(map[Kind]kindTemplates)
	for _, k := range Kinds() {
		txt := texttemplate.Must(texttemplate.New(string(k)+".txt").ParseFS(templateFS, "templates/"+string(k)+".txt"))
		html := htmltemplate.Must(htmltemplate.Must(layout.Clone()).ParseFS(templateFS, "templates/"+string(k)+".html"))
		for _, name := range []string{"subject", "text"} {
			if txt.Lookup(name) == nil {
				panic(fmt.Sprintf("mail: templates/%s.txt does not define %q", k, name))
			}
		}
		if html.Lookup("content") == nil {
			panic(fmt.Sprintf("mail: templates/%s.html does not define \"content\"", k))
		}
		m[k] = kindTemplates{text: txt, html: html}
	}
	return m
}

// view is what the templates see: Data cleaned up, plus derived strings.
type view struct {
	Data
	Name        string
	ExpiresText string
	WhenText    string
}

// Compose renders the subject, text and HTML of one message of the given kind for the
// recipient to ("name@example.com" or "Name <name@example.com>").
func Compose(kind Kind, to string, d Data) (Message, error) {
	t, ok := templates[kind]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown message kind %q", kind)
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Message{}, fmt.Errorf("mail: %s link %q is not an absolute http(s) URL", kind, d.URL)
	}
	d.OrgName, d.DisplayName, d.Username, d.Device = oneLine(d.OrgName), oneLine(d.DisplayName), oneLine(d.Username), oneLine(d.Device)
	if d.OrgName == "" {
		d.OrgName = "Portcullis"
	}
	v := view{Data: d, Name: d.DisplayName, ExpiresText: formatTime(d.Expires), WhenText: formatTime(d.When)}
	if v.Name == "" {
		v.Name = d.Username
	}
	if v.Name == "" {
		v.Name = "there"
	}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", kind, err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s HTML: %w", kind, err)
	}
	m := Message{To: to, Subject: oneLine(subject.String()), Text: text.String(), HTML: html.String()}
	if _, err := m.validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// oneLine folds runs of white space and control characters into single spaces, so a display name
// cannot add lines to a subject or fake paragraphs in the text.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085'
	}), " ")
}

// formatTime writes times in UTC: the server does not know the reader's time zone, and a
// labelled UTC time is unambiguous.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Monday 2 January 2006 at 15:04 UTC")
}
