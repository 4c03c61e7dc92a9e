package login

import (
	"net/http"
	"time"
)

// CeremonyCookie binds a WebAuthn ceremony to the browser that began it: the cookie holds the
// ceremony token (only its keyed hash is stored), lives as long as a ceremony, and is removed
// when the ceremony finishes.
type CeremonyCookie struct {
	Secure bool
}

func (c *CeremonyCookie) name() string {
	if c.Secure {
		return "__Host-portcullis_ceremony"
	}
	return "portcullis_ceremony"
}

// Set stores a ceremony token in the browser.
func (c *CeremonyCookie) Set(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: token, Path: "/", HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int((5 * time.Minute).Seconds())})
}

// Take returns the browser's ceremony token and clears the cookie: a ceremony is finished once.
func (c *CeremonyCookie) Take(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(c.name())
	http.SetCookie(w, &http.Cookie{Name: c.name(), Value: "", Path: "/", HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if err != nil {
		return ""
	}
	return ck.Value
}
