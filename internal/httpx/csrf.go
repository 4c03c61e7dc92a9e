package httpx

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protects state-changing forms with a per-browser random cookie and a form token that is
// a keyed MAC of it: a cross-site page can neither read the cookie nor compute the token.
type CSRF struct {
	Key    []byte // from the system secret
	Secure bool   // https deployment: Secure cookie with the __Host- prefix
}

// FieldName is the form field that carries the token.
const FieldName = "csrf_token"

func (c *CSRF) cookieName() string {
	if c.Secure {
		return "__Host-portcullis_csrf"
	}
	return "portcullis_csrf"
}

func (c *CSRF) mac(v string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("csrf:" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Token returns the form token for this browser, setting its cookie when it has none.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookieName()); err == nil && len(ck.Value) == 43 {
		return c.mac(ck.Value)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: v, Path: "/", HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteLaxMode})
	// Make the cookie visible to a Check later in this same request too.
	r.AddCookie(&http.Cookie{Name: c.cookieName(), Value: v})
	return c.mac(v)
}

// Check reports whether the request's form token matches its cookie (constant time).
func (c *CSRF) Check(r *http.Request) bool {
	return c.valid(r, r.PostFormValue(FieldName))
}

// CheckHeader is Check for script requests, which send the token in the X-CSRF-Token header.
func (c *CSRF) CheckHeader(r *http.Request) bool {
	return c.valid(r, r.Header.Get("X-CSRF-Token"))
}

func (c *CSRF) valid(r *http.Request, got string) bool {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || ck.Value == "" {
		return false
	}
	return got != "" && hmac.Equal([]byte(got), []byte(c.mac(ck.Value)))
}
