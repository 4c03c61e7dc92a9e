// Package metrics owns Portcullis's Prometheus metrics: HTTP requests by route and status with
// latency histograms, security events (sign-ins by method and result, handoffs, recoveries and
// every other audited action, by outcome), token grants by type, and the database pool. They are
// served in the Prometheus text format on a listener of their own (--metrics-addr), never on the
// public one: they say how the instance is used.
package metrics
