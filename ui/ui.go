package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Base is embedded in every page's data.
type Base struct {
	Title     string
	CSRFToken string
	RequestID string
	// Passkey pages load the WebAuthn helper and tell it where to send its calls.
	Script bool
	Data   ScriptData
	// SignedIn shows the account navigation.
	SignedIn bool
	// Wide pages (tables) get a wider card.
	Wide bool
	// Refresh, when set, sends the browser on to this same-origin address as soon as the page
	// loads (a meta refresh: see login's continue page for why not a redirect).
	Refresh string
	// Admin, on the admin pages, shows the admin navigation and the passkey check for sensitive
	// actions (ui/admin).
	Admin *AdminNav
	// Brand, on an organisation's sign-in pages, shows its name, logo and colour (ui/brand); nil
	// shows the plain pages.
	Brand *Brand
}

// Brand is an organisation's branding as a sign-in page shows it.
type Brand struct {
	Name    string // shown above the page's content; "" shows none
	LogoURI string // an https URL (the page's CSP allows its origin for images)
	LogoAlt string // the logo's text alternative
	// Stylesheet is the organisation's stylesheet (its primary colour), or "".
	Stylesheet string
}

// AdminNav is the admin pages' navigation.
type AdminNav struct {
	Prefix   string // "/o/{slug}/admin"
	OrgName  string
	Instance bool   // the signed-in admin may also open /admin (organisations, signing keys)
	Current  string // the section shown: overview, users, apps, policy, audit, orgs, keys
	// Fresh: a passkey check within the last five minutes, as sensitive actions need; otherwise
	// the navigation offers "Confirm it's you".
	Fresh bool
}

// ScriptData are the endpoints the WebAuthn helper script calls on this page.
type ScriptData struct {
	Begin, BeginAny, Finish, Request string
}

// Renderer renders the embedded templates.
type Renderer struct {
	pages map[string]*template.Template
}

// New parses every page with the base layout; a broken template fails start-up, not a request.
func New() (*Renderer, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, n := range names {
		if n == "templates/base.html" {
			continue
		}
		t, err := template.New("base.html").ParseFS(templateFS, "templates/base.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		r.pages[n[len("templates/"):len(n)-len(".html")]] = t
	}
	return r, nil
}

// Render writes page name with data and status. A rendering error is logged and turned into a
// plain 500, never a half-written page.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, name string, data any) {
	t, ok := r.pages[name]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("no template %q", name)
	} else {
		err = t.ExecuteTemplate(&buf, "base.html", data)
	}
	if err != nil {
		slog.ErrorContext(req.Context(), "render page", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SignedOutPage tells a person they are (or are still) signed in or out.
type SignedOutPage struct {
	Base
	Heading, Message string
	// Frames are front-channel logout URIs of the session's apps (Front-Channel Logout 1.0), each
	// loaded in a hidden iframe; the handler sets a CSP that allows them (httpx.FrameCSP).
	Frames []string
	// ContinueURL, when set, is the app's post-logout redirect URI, linked below the frames.
	ContinueURL string
}

// ErrorPage is a plain-language error shown to a person.
type ErrorPage struct {
	Base
	Heading string
	Message string
}

// Error renders the error page.
func (r *Renderer) Error(w http.ResponseWriter, req *http.Request, status int, heading, message, requestID string) {
	r.Render(w, req, status, "error", ErrorPage{Base: Base{Title: heading, RequestID: requestID}, Heading: heading, Message: message})
}

// FormPostTemplate is the OAuth 2.0 Form Post Response Mode page (OAuth 2.0 Form Post Response
// Mode, section 2), submitted by an external script so that the CSP needs no 'unsafe-inline'.
var FormPostTemplate = template.Must(template.New("form_post").Funcs(template.FuncMap{
	// The action is the client's redirect URI, which fosite has matched exactly against the
	// registered ones (and registration refuses javascript:, data: and the like). Marking it safe
	// keeps a native app's private-use scheme (RFC 8252) from being rewritten to "#ZgotmplZ".
	"validated": func(s string) template.URL { return template.URL(s) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Continuing…</title>
<script src="/static/formpost.js" defer></script></head>
<body><form method="post" action="{{ validated .RedirURL }}" id="form_post">
{{ range $key, $values := .Parameters }}{{ range $values }}<input type="hidden" name="{{ $key }}" value="{{ . }}">
{{ end }}{{ end }}<noscript><button type="submit">Continue</button></noscript>
</form></body></html>`))

// MountStatic serves the embedded static files under /static/.
func MountStatic(r *mux.Router) {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	r.PathPrefix("/static/").Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, req)
	})).Methods(http.MethodGet, http.MethodHead)
}
