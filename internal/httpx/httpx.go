// Package httpx holds the HTTP plumbing every handler shares: request ids, a request-scoped
// logger, access logs, panic recovery, security headers, body limits and JSON responses.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestID returns the request id carried by ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request-scoped logger (with request_id), or the default logger.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Middleware gives every request an id (an incoming X-Request-Id is kept when it is sane), a
// logger carrying it, an access log line, and turns a panic into a plain 500 page.
func Middleware(base *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !safeID.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		log := base.With("request_id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), loggerKey, log)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "panic", p, "path", redactPath(r.URL.Path), "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "Something went wrong on our side. Please try again. (request "+id+")", http.StatusInternalServerError)
				}
			}
			log.Info("http", "method", r.Method, "path", redactPath(r.URL.Path), "status", sw.status, "bytes", sw.bytes,
				"duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// redactPath keeps single-use link tokens (/setup/{token}, /enroll/{token}) out of the logs.
func redactPath(p string) string {
	for _, prefix := range []string{"/setup/", "/enroll/"} {
		if strings.HasPrefix(p, prefix) {
			rest := p[len(prefix):]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				return prefix + "…" + rest[i:]
			}
			return prefix + "…"
		}
	}
	return p
}

// CSP is the Content-Security-Policy of every page: our own scripts and styles only, never
// 'unsafe-inline'; forms post only to us (FormPostCSP widens that for a form_post response).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// FormPostCSP is the policy of an OAuth 2.0 form_post response, whose form posts to the client's
// (already validated) redirect URI origin.
func FormPostCSP(origin string) string {
	return strings.Replace(CSP, "form-action 'self'", "form-action 'self' "+origin, 1)
}

// FrameCSP is the policy of a page that frames the given URLs (the signed-out page framing
// front-channel logout URIs): CSP with frame-src naming exactly their origins, and nothing else
// widened. Without URLs it is CSP.
func FrameCSP(urls []string) string {
	var origins []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if len(origins) == 0 {
		return CSP
	}
	return CSP + "; frame-src " + strings.Join(origins, " ")
}

// SecurityHeaders sets the headers every response carries: no framing, no sniffing, a strict
// Content-Security-Policy, no referrer leaking request parameters, and HSTS over https.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// LimitBody caps request bodies; larger bodies fail to parse and get a 400.
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// JSON writes v as a JSON response with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
