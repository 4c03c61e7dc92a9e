package httpx

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is one user agent's cookie jar for the CSRF tests.
type browser struct{ cookies []*http.Cookie }

// formPage asks c for a token as a page render would, keeping any cookie it sets.
func (b *browser) formPage(t *testing.T, c *CSRF) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/form", nil)
	for _, ck := range b.cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	tok := c.Token(w, r)
	b.cookies = append(b.cookies, w.Result().Cookies()...)
	return tok
}

func (b *browser) post(token string) *http.Request {
	form := url.Values{}
	if token != "" {
		form.Set(FieldName, token)
	}
	r := httptest.NewRequest(http.MethodPost, "/form", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range b.cookies {
		r.AddCookie(ck)
	}
	return r
}

func TestCSRFCookie(t *testing.T) {
	tests := []struct {
		name   string
		secure bool
		cookie string
	}{
		{"http", false, "portcullis_csrf"},
		{"https", true, "__Host-portcullis_csrf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &CSRF{Key: []byte("0123456789abcdef0123456789abcdef"), Secure: tc.secure}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w := httptest.NewRecorder()
			tok := c.Token(w, r)
			cks := w.Result().Cookies()
			if len(cks) != 1 {
				t.Fatalf("Set-Cookie = %v, want one cookie", w.Result().Header.Values("Set-Cookie"))
			}
			ck := cks[0]
			if ck.Name != tc.cookie || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" ||
				ck.Secure != tc.secure || ck.Domain != "" {
				t.Errorf("cookie = %+v, want %s HttpOnly SameSite=Lax Path=/ Secure=%v host-only", ck, tc.cookie, tc.secure)
			}
			if len(ck.Value) != 43 {
				t.Errorf("cookie value length = %d, want 43 (32 random bytes)", len(ck.Value))
			}
			if tok == "" || tok == ck.Value || strings.Contains(tok, ck.Value) {
				t.Errorf("form token %q must be a MAC of the cookie, not the cookie", tok)
			}
			// Token makes the new cookie visible to a Check in the same request.
			if got, err := r.Cookie(tc.cookie); err != nil || got.Value != ck.Value {
				t.Errorf("the request does not carry the new cookie: %v, %v", got, err)
			}
			// A browser that already has a cookie keeps it and gets the same token.
			r2 := httptest.NewRequest(http.MethodGet, "/", nil)
			r2.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			w2 := httptest.NewRecorder()
			if tok2 := c.Token(w2, r2); tok2 != tok {
				t.Errorf("second token = %q, want %q", tok2, tok)
			}
			if sc := w2.Result().Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("a browser with a cookie got a new one: %v", sc)
			}
		})
	}
}

func TestCSRFCheck(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := &CSRF{Key: key}
	alice, mallory := &browser{}, &browser{}
	aliceTok := alice.formPage(t, c)
	malloryTok := mallory.formPage(t, c)
	if aliceTok == malloryTok {
		t.Fatal("two browsers got the same token")
	}
	noCookie := &browser{}
	otherKey := &CSRF{Key: []byte("another-key-another-key-another!")}
	wrongCookieName := &browser{cookies: []*http.Cookie{{Name: "__Host-portcullis_csrf", Value: alice.cookies[0].Value}}}
	emptyCookie := &browser{cookies: []*http.Cookie{{Name: "portcullis_csrf", Value: ""}}}

	tests := []struct {
		name string
		csrf *CSRF
		req  *http.Request
		want bool
	}{
		{"own token", c, alice.post(aliceTok), true},
		{"token from another browser's cookie", c, alice.post(malloryTok), false},
		{"attacker's own token in victim's browser", c, mallory.post(aliceTok), false},
		{"missing cookie", c, noCookie.post(aliceTok), false},
		{"empty cookie", c, emptyCookie.post(aliceTok), false},
		{"cookie under another name", c, wrongCookieName.post(aliceTok), false},
		{"missing token", c, alice.post(""), false},
		{"cookie value as token", c, alice.post(alice.cookies[0].Value), false},
		{"truncated token", c, alice.post(aliceTok[:len(aliceTok)-1]), false},
		{"token with a flipped character", c, alice.post(flip(aliceTok)), false},
		{"token under another key", otherKey, alice.post(aliceTok), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.csrf.Check(tc.req); got != tc.want {
				t.Fatalf("Check = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("header token for script requests", func(t *testing.T) {
		hdr := []struct {
			name  string
			b     *browser
			token string
			want  bool
		}{
			{"own token", alice, aliceTok, true},
			{"another browser's token", alice, malloryTok, false},
			{"missing cookie", noCookie, aliceTok, false},
			{"missing header", alice, "", false},
		}
		for _, tc := range hdr {
			r := httptest.NewRequest(http.MethodPost, "/api", nil)
			for _, ck := range tc.b.cookies {
				r.AddCookie(ck)
			}
			if tc.token != "" {
				r.Header.Set("X-CSRF-Token", tc.token)
			}
			if got := c.CheckHeader(r); got != tc.want {
				t.Errorf("%s: CheckHeader = %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("token in the query string is not accepted", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/form?"+FieldName+"="+url.QueryEscape(aliceTok), nil)
		for _, ck := range alice.cookies {
			r.AddCookie(ck)
		}
		if c.Check(r) {
			t.Fatal("Check accepted a token from the URL of a POST")
		}
	})
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// TestCSRFCheckIsConstantTime checks in the source that Check (and the CSRF methods it calls)
// compares the token with hmac.Equal and never with ==, != or bytes/strings comparisons, which
// leak the matching prefix through timing.
func TestCSRFCheckIsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "csrf.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
			methods[fd.Name.Name] = fd
		}
	}
	for _, entry := range []string{"Check", "CheckHeader"} {
		t.Run(entry, func(t *testing.T) {
			if methods[entry] == nil {
				if entry == "Check" {
					t.Fatal("CSRF.Check not found in csrf.go")
				}
				t.Skipf("no CSRF.%s", entry)
			}
			literal := func(e ast.Expr) bool {
				if _, ok := e.(*ast.BasicLit); ok {
					return true
				}
				id, ok := e.(*ast.Ident)
				return ok && id.Name == "nil"
			}
			usesHMACEqual := false
			visited := map[string]bool{}
			queue := []string{entry}
			for len(queue) > 0 {
				name := queue[0]
				queue = queue[1:]
				if visited[name] || name == "mac" || name == "cookieName" {
					continue // mac and cookieName compute, they do not compare
				}
				visited[name] = true
				ast.Inspect(methods[name].Body, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.CallExpr:
						sel, ok := n.Fun.(*ast.SelectorExpr)
						if !ok {
							return true
						}
						x, ok := sel.X.(*ast.Ident)
						if !ok {
							return true
						}
						if methods[sel.Sel.Name] != nil && x.Obj != nil {
							queue = append(queue, sel.Sel.Name) // a call on the receiver
						}
						switch x.Name + "." + sel.Sel.Name {
						case "hmac.Equal", "subtle.ConstantTimeCompare":
							usesHMACEqual = true
						case "bytes.Equal", "strings.Compare", "bytes.Compare", "strings.EqualFold":
							t.Errorf("%s: compares with %s.%s, which is not constant time", fset.Position(n.Pos()), x.Name, sel.Sel.Name)
						}
					case *ast.BinaryExpr:
						if (n.Op == token.EQL || n.Op == token.NEQ) && !literal(n.X) && !literal(n.Y) {
							t.Errorf("%s: compares two values with %s", fset.Position(n.Pos()), n.Op)
						}
					}
					return true
				})
			}
			if !usesHMACEqual {
				t.Fatalf("%s does not compare the token with hmac.Equal (methods read: %v)", entry, visited)
			}
		})
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	hexID := regexp.MustCompile(`^[0-9a-f]{16}$`)
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"none", "", false},
		{"sane id kept", "abc-123_XYZ.789", true},
		{"uuid kept", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"64 characters kept", strings.Repeat("a", 64), true},
		{"too short", "abc", false},
		{"too long", strings.Repeat("a", 65), false},
		{"header injection", "abcdefgh\r\nSet-Cookie: x=y", false},
		{"html", "<script>alert(1)</script>", false},
		{"spaces", "abcd efgh ijkl", false},
		{"log forging quote", `abcdefgh" level=ERROR`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestID(r.Context())
				if Logger(r.Context()) == slog.Default() {
					t.Error("no request-scoped logger in the context")
				}
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.incoming != "" {
				req.Header["X-Request-Id"] = []string{tc.incoming}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-Id")
			if got != seen {
				t.Errorf("response id %q != context id %q", got, seen)
			}
			if tc.keep && got != tc.incoming {
				t.Errorf("X-Request-Id = %q, want the incoming %q", got, tc.incoming)
			}
			if !tc.keep {
				if got == tc.incoming || !hexID.MatchString(got) {
					t.Errorf("X-Request-Id = %q, want a fresh 16-hex id replacing %q", got, tc.incoming)
				}
			}
		})
	}
	t.Run("fresh ids differ", func(t *testing.T) {
		h := Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		ids := map[string]bool{}
		for i := 0; i < 20; i++ {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			ids[rec.Header().Get("X-Request-Id")] = true
		}
		if len(ids) != 20 {
			t.Fatalf("20 requests got %d distinct ids", len(ids))
		}
	})
	t.Run("outside a request", func(t *testing.T) {
		if id := RequestID(httptest.NewRequest(http.MethodGet, "/", nil).Context()); id != "" {
			t.Fatalf("RequestID outside the middleware = %q", id)
		}
	})
}

func TestMiddlewareRecoversPanics(t *testing.T) {
	const secret = "db password is hunter2"
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{"panic before writing", func(http.ResponseWriter, *http.Request) { panic(secret) },
			http.StatusInternalServerError, "Something went wrong"},
		{"panic with an error", func(http.ResponseWriter, *http.Request) { panic(errors.New(secret)) },
			http.StatusInternalServerError, "Something went wrong"},
		{"panic after writing keeps the status", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("partial"))
			panic(secret)
		}, http.StatusAccepted, "partial"},
		{"no panic", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) },
			http.StatusOK, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := Middleware(slog.New(slog.NewTextHandler(&logs, nil)), tc.handler)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			body := rec.Body.String()
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantBody)
			}
			if strings.Contains(body, "hunter2") {
				t.Errorf("the panic text leaked into the response: %q", body)
			}
			id := rec.Header().Get("X-Request-Id")
			if tc.wantStatus == http.StatusInternalServerError {
				if !strings.Contains(body, id) {
					t.Errorf("the error page %q does not name request %s", body, id)
				}
				if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), id) {
					t.Errorf("the panic was not logged with its request id: %s", logs.String())
				}
			}
		})
	}
	t.Run("ErrAbortHandler is re-panicked", func(t *testing.T) {
		h := Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler to propagate", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}

func TestSecurityHeaders(t *testing.T) {
	called := false
	h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		called = true
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !called || rec.Code != http.StatusNoContent {
		t.Fatalf("next handler not served (called=%v, status %d)", called, rec.Code)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		fields := strings.Fields(d)
		if len(fields) > 0 {
			directives[fields[0]] = strings.Join(fields[1:], " ")
		}
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"CSP present", csp != ""},
		{"no 'unsafe-inline'", !strings.Contains(csp, "unsafe-inline")},
		{"no 'unsafe-eval'", !strings.Contains(csp, "unsafe-eval")},
		{"default-src 'self'", directives["default-src"] == "'self'"},
		{"script-src has no wildcard or inline", directives["script-src"] == "'self'"},
		{"object-src 'none'", directives["object-src"] == "'none'"},
		{"base-uri 'none'", directives["base-uri"] == "'none'"},
		{"frame-ancestors 'none'", directives["frame-ancestors"] == "'none'"},
		{"X-Frame-Options DENY", rec.Header().Get("X-Frame-Options") == "DENY"},
		{"nosniff", rec.Header().Get("X-Content-Type-Options") == "nosniff"},
		{"no-referrer", rec.Header().Get("Referrer-Policy") == "no-referrer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Fatalf("failed; CSP = %q, headers = %v", csp, rec.Header())
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	const max = 1024
	tests := []struct {
		name     string
		size     int
		wantRead bool
	}{
		{"empty", 0, true},
		{"below the limit", max - 1, true},
		{"at the limit", max, true},
		{"one byte over", max + 1, false},
		{"far over", 100 * max, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var readErr, formErr error
			var n int
			h := LimitBody(max, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				n, readErr = len(b), err
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, tc.size))))
			if tc.wantRead {
				if readErr != nil || n != tc.size {
					t.Fatalf("read %d bytes, err %v; want %d", n, readErr, tc.size)
				}
			} else {
				var mbe *http.MaxBytesError
				if !errors.As(readErr, &mbe) {
					t.Fatalf("reading %d bytes: err = %v, want *http.MaxBytesError", tc.size, readErr)
				}
				if n > max {
					t.Fatalf("read %d bytes past the limit %d", n, max)
				}
			}
			// A form parse over the limit fails too.
			body := "a=" + strings.Repeat("b", tc.size)
			h = LimitBody(max, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { formErr = r.ParseForm() }))
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			h.ServeHTTP(httptest.NewRecorder(), req)
			if (formErr == nil) != (len(body) <= max) {
				t.Fatalf("ParseForm of %d bytes: err = %v", len(body), formErr)
			}
		})
	}
	t.Run("nil body", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Body = nil
		served := false
		LimitBody(max, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true })).ServeHTTP(httptest.NewRecorder(), req)
		if !served {
			t.Fatal("request without a body not served")
		}
	})
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name, remote, xff, want string
	}{
		{"ipv4", "192.0.2.1:1234", "", "192.0.2.1"},
		{"ipv6", "[2001:db8::1]:443", "", "2001:db8::1"},
		{"loopback v6", "[::1]:80", "", "::1"},
		{"forwarded header ignored without trusted proxies", "192.0.2.1:1234", "203.0.113.9", "192.0.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := ClientIP(r); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	JSON(rec, http.StatusCreated, map[string]string{"a": "<b>"})
	if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	if strings.Contains(rec.Body.String(), "<b>") {
		t.Fatalf("HTML not escaped in JSON: %s", rec.Body.String())
	}
}
