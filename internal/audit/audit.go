// Package audit owns the audit log: every security-relevant action (sign-in, failure, token
// grant, client or key change, session ended) is written to the audit_events table and to slog.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Event is one audited action.
type Event struct {
	Action    string // e.g. "client.created", "signin.succeeded"
	Outcome   string // Success (default) or Failure
	OrgID     string
	Actor     string // who did it: "user:ID", "client:ID", "cli", "system"
	UserID    string
	ClientID  string
	IP        string
	UserAgent string
	RequestID string
	Details   map[string]any
}

// Log writes audit events.
type Log struct {
	// Observe, when set, sees every recorded event (the metrics count them).
	Observe func(Event)
	DB      *database.DB
	Logger  *slog.Logger
}

// FromRequest fills the request-derived fields of an event.
func FromRequest(r *http.Request, e Event) Event {
	e.IP = httpx.ClientIP(r)
	e.UserAgent = r.UserAgent()
	e.RequestID = httpx.RequestID(r.Context())
	return e
}

// Record writes e. A failure to write the audit row is returned: callers of security actions
// treat an unaudited action as failed when they can (inside their transaction), and log otherwise.
func (l *Log) Record(ctx context.Context, e Event) error {
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if e.RequestID == "" {
		e.RequestID = httpx.RequestID(ctx)
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if b, err := json.Marshal(e.Details); err == nil {
			details = b
		}
	}
	if len(e.UserAgent) > 512 {
		e.UserAgent = e.UserAgent[:512]
	}
	_, err := l.DB.ExecContext(ctx, `INSERT INTO audit_events (occurred_at, org_id, actor, action, outcome, user_id,
		client_id, ip, user_agent, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		time.Now().UTC(), e.OrgID, e.Actor, e.Action, e.Outcome, e.UserID, e.ClientID, e.IP, e.UserAgent,
		e.RequestID, string(details))
	level := slog.LevelInfo
	if e.Outcome == Failure {
		level = slog.LevelWarn
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Log(ctx, level, "audit", "action", e.Action, "outcome", e.Outcome, "org_id", e.OrgID, "actor", e.Actor,
		"user_id", e.UserID, "client_id", e.ClientID, "ip", e.IP, "request_id", e.RequestID, "details", string(details))
	if err != nil {
		logger.ErrorContext(ctx, "audit event not stored", "action", e.Action, "err", err)
	}
	if l.Observe != nil {
		l.Observe(e)
	}
	return err
}

// Event is one stored audit row, as read back.
type Stored struct {
	ID         int64
	OccurredAt time.Time
	OrgID      string
	Actor      string
	Action     string
	Outcome    string
	UserID     string
	ClientID   string
	IP         string
	UserAgent  string
	RequestID  string
	Details    string
}

// Recent returns the newest events, newest first (orgID "" for all organisations).
func (l *Log) Recent(ctx context.Context, orgID string, limit int) ([]Stored, error) {
	q := l.DB.Conn(ctx).Table("audit_events").Order("id DESC").Limit(limit)
	if orgID != "" {
		q = q.Where("org_id = ?", orgID)
	}
	var out []Stored
	return out, q.Scan(&out).Error
}
