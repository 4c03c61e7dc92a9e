package audit

import (
	"context"
	"strings"
	"time"
)

// MaxQueryLimit caps one page of Query.
const MaxQueryLimit = 1000

// Filter selects audit events for Query. Empty fields do not filter.
type Filter struct {
	OrgID  string // "" for every organisation (instance operators only)
	UserID string
	// Action matches exactly, or as a prefix when it ends in "*" ("user.*").
	Action string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	// Before, when not zero, returns only events with a smaller id: the keyset cursor of the
	// previous page (its last id), which stays stable while new events are written.
	Before int64
	Limit  int // 1 to MaxQueryLimit; other values mean 50
}

// Query returns the events that match f, newest first (by id, which grows with time). Paging by
// id instead of an offset keeps every page one index range scan however deep it is.
func (l *Log) Query(ctx context.Context, f Filter) ([]Stored, error) {
	limit := f.Limit
	if limit < 1 || limit > MaxQueryLimit {
		limit = 50
	}
	q := l.DB.Conn(ctx).Table("audit_events")
	if f.OrgID != "" {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		if prefix != "" {
			q = q.Where(`action LIKE ? ESCAPE '\'`, escapeLike(prefix)+"%")
		}
	} else if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if !f.Since.IsZero() {
		q = q.Where("occurred_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("occurred_at < ?", f.Until.UTC())
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var out []Stored
	if err := q.Order("id DESC").Limit(limit).Scan(&out).Error; err != nil {
		return nil, err
	}
	for i := range out {
		out[i].OccurredAt = out[i].OccurredAt.UTC()
	}
	return out, nil
}

// escapeLike makes s match literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
