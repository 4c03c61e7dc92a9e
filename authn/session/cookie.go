package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// Manager binds sessions to browsers with a cookie.
type Manager struct {
	Store    *Store
	Secure   bool          // issuer is https: Secure cookie with the __Host- prefix
	Idle     time.Duration // default 8h
	Absolute time.Duration // default 30 days

	// Lifetimes, when set, returns an organisation's own idle and absolute lifetimes (0 for
	// either keeps the default above). Start asks it once per session: the absolute lifetime
	// becomes the session's ExpiresAt and the idle one is stored with it, so Current needs no
	// read of the organisation on every request. An organisation's change applies to sessions
	// started after it.
	Lifetimes func(ctx context.Context, orgID string) (idle, absolute time.Duration, err error)
}

// CookieName is the session cookie's name for this deployment.
func (m *Manager) CookieName() string {
	if m.Secure {
		// __Host-: only set by this exact host over https, path /, no Domain (RFC 6265bis 4.1.3.2).
		return "__Host-portcullis_session"
	}
	return "portcullis_session"
}

func (m *Manager) idle() time.Duration {
	if m.Idle <= 0 {
		return 8 * time.Hour
	}
	return m.Idle
}

func (m *Manager) absolute() time.Duration {
	if m.Absolute <= 0 {
		return 30 * 24 * time.Hour
	}
	return m.Absolute
}

// Start creates a session for a completed sign-in and sets its cookie. Its lifetimes are its
// organisation's (Lifetimes) or the defaults.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session) (Session, error) {
	sess.UserAgent = r.UserAgent()
	sess.IP = httpx.ClientIP(r)
	if sess.AuthTime.IsZero() {
		sess.AuthTime = time.Now().UTC()
	}
	absolute := m.absolute()
	sess.Idle = 0
	if m.Lifetimes != nil {
		idle, abs, err := m.Lifetimes(ctx, sess.OrgID)
		if err != nil {
			return Session{}, fmt.Errorf("session lifetimes of organisation %s: %w", sess.OrgID, err)
		}
		if abs > 0 {
			absolute = abs
		}
		sess.Idle = max(idle, 0)
	}
	sess.ExpiresAt = sess.AuthTime.Add(absolute)
	token, sess, err := m.Store.Create(ctx, sess)
	if err != nil {
		return Session{}, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: m.CookieName(), Value: token, Path: "/", HttpOnly: true, Secure: m.Secure,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt,
	})
	return sess, nil
}

// Replace starts sess for a completed sign-in on this browser, ending the session the browser
// had (whoever was signed in here is replaced by who just signed in). ctx may carry the caller's
// transaction, so that the old session ends and the new one starts together.
func (m *Manager) Replace(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session) (Session, error) {
	if old, err := m.Current(r.WithContext(ctx)); err == nil {
		if err := m.Store.End(ctx, old.ID); err != nil && !errors.Is(err, database.ErrNotFound) {
			return Session{}, err
		}
	}
	return m.Start(ctx, w, r, sess)
}

// Current returns the browser's live session, or database.ErrNotFound.
func (m *Manager) Current(r *http.Request) (Session, error) {
	c, err := r.Cookie(m.CookieName())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return Session{}, database.ErrNotFound
	}
	return m.Store.Lookup(r.Context(), c.Value, m.idle())
}

// End ends the browser's current session (if any) and clears the cookie; it returns the session
// that was ended, or database.ErrNotFound.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) (Session, error) {
	m.clear(w)
	sess, err := m.Current(r)
	if err != nil {
		return Session{}, err
	}
	if err := m.Store.End(r.Context(), sess.ID); err != nil && !errors.Is(err, database.ErrNotFound) {
		return Session{}, err
	}
	return sess, nil
}

func (m *Manager) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.CookieName(), Value: "", Path: "/", HttpOnly: true, Secure: m.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
