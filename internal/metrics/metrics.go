package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-id/portcullis/internal/audit"
)

// Metrics is one instance's set of metrics, in a registry of its own (no global state, so that
// several servers in one test process do not share counts).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   *prometheus.CounterVec
	grants   *prometheus.CounterVec
}

// New registers the metrics, with the database pool's statistics from db.
func New(db *sql.DB) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portcullis_http_requests_total",
		Help: "HTTP requests by route template, method and status."}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portcullis_http_request_duration_seconds",
		Help:    "HTTP request latency by route template and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route", "method"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portcullis_security_events_total",
		Help: "Audited security events (sign-ins, handoffs, recoveries, passkey and admin changes) by action, outcome and method."},
		[]string{"action", "outcome", "method"})
	m.grants = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portcullis_token_grants_total",
		Help: "Tokens issued at the token endpoint by grant type."}, []string{"grant_type"})
	m.reg.MustRegister(m.requests, m.latency, m.events, m.grants,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, "portcullis"))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Middleware counts and times every request a mux route matched, labelled by the route's
// template (never the raw path, which holds tokens and ids).
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unknown"
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				route = t
			}
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// Audited counts one audit event (set as audit.Log.Observe). Actions are constants of the code,
// and the method label takes only the known sign-in methods, so label sets stay bounded.
func (m *Metrics) Audited(e audit.Event) {
	method := ""
	if v, ok := e.Details["method"].(string); ok {
		switch v {
		case "passkey", "password", "handoff", "recovery", "link", "code":
			method = v
		default:
			method = "other"
		}
	}
	m.events.WithLabelValues(e.Action, e.Outcome, method).Inc()
}

// TokenIssued counts a token response by grant type (set as provider.Provider.OnTokenIssued).
func (m *Metrics) TokenIssued(grantType string) {
	switch grantType {
	case "authorization_code", "refresh_token", "client_credentials":
	default:
		grantType = "other"
	}
	m.grants.WithLabelValues(grantType).Inc()
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming responses (the audit export) through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
