package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

// auditPerPage is the length of one page of the audit log.
const auditPerPage = 50

// timeInput is the format of a datetime-local field; the pages read and show times in UTC.
const timeInput = "2006-01-02T15:04"

type auditPage struct {
	ui.Base
	Prefix                     string
	User, Action, Since, Until string
	Events                     []eventView
	NextURL, FirstURL          string
	ExportURL                  string
	Error                      string
}

// auditFilter reads the filter of the audit page and its export. The user may be given by
// username or id; a username is looked up in the admin's own organisation only.
func (h *Handler) auditFilter(c *call) (adm.AuditFilter, url.Values, string) {
	q := c.r.URL.Query()
	keep := url.Values{}
	var f adm.AuditFilter
	if v := strings.TrimSpace(q.Get("user")); v != "" {
		keep.Set("user", v)
		f.UserID = v
		if u, err := h.Directory.GetUserByUsername(c.ctx(), c.org.ID, v); err == nil {
			f.UserID = u.ID
		}
	}
	if v := strings.TrimSpace(q.Get("action")); v != "" {
		keep.Set("action", v)
		f.Action = v
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := strings.TrimSpace(q.Get(t.name))
		if v == "" {
			continue
		}
		parsed, err := time.Parse(timeInput, v)
		if err != nil {
			return f, keep, "Write times as 2026-01-31T14:00 (UTC)."
		}
		keep.Set(t.name, v)
		*t.to = parsed
	}
	return f, keep, ""
}

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	f, keep, problem := h.auditFilter(c)
	q := r.URL.Query()
	p := auditPage{Base: h.base(c, "Audit log", "audit"), Prefix: c.prefix, User: q.Get("user"), Action: q.Get("action"),
		Since: q.Get("since"), Until: q.Get("until"), Error: problem}
	if problem != "" {
		h.UI.Render(w, r, http.StatusBadRequest, "admin_audit", p)
		return
	}
	list, next, err := h.Service.AuditEvents(c.ctx(), c.actor, f, adm.Page{Cursor: q.Get("cursor"), Limit: auditPerPage})
	if err != nil {
		if ae, ok := adm.AsError(err); ok && ae.Kind == adm.KindInvalid {
			p.Error = problemText(ae)
			h.UI.Render(w, r, http.StatusBadRequest, "admin_audit", p)
			return
		}
		h.failed(c, "audit log", err)
		return
	}
	for _, e := range list {
		p.Events = append(p.Events, eventOf(e))
	}
	p.ExportURL = c.prefix + "/audit/export?" + keep.Encode()
	if q.Get("cursor") != "" {
		p.FirstURL = c.prefix + "/audit?" + keep.Encode()
	}
	if next != "" {
		keep.Set("cursor", next)
		p.NextURL = c.prefix + "/audit?" + keep.Encode()
	}
	h.UI.Render(w, r, http.StatusOK, "admin_audit", p)
}

// exported is one line of the JSON-lines export.
type exported struct {
	ID         int64           `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Outcome    string          `json:"outcome"`
	UserID     string          `json:"user_id,omitempty"`
	ClientID   string          `json:"client_id,omitempty"`
	IP         string          `json:"ip,omitempty"`
	UserAgent  string          `json:"user_agent,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// auditExport downloads the filtered log as JSON lines (one event per line, newest first).
func (h *Handler) auditExport(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	f, _, problem := h.auditFilter(c)
	if problem != "" {
		h.message(c, http.StatusBadRequest, "Not exported", problem)
		return
	}
	started := false
	enc := json.NewEncoder(w)
	err := h.Service.ExportAudit(c.ctx(), c.actor, f, func(e audit.Stored) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Content-Disposition", `attachment; filename="audit-`+c.org.Slug+`.jsonl"`)
			w.Header().Set("Cache-Control", "no-store")
		}
		line := exported{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, Action: e.Action, Outcome: e.Outcome,
			UserID: e.UserID, ClientID: e.ClientID, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID}
		if json.Valid([]byte(e.Details)) {
			line.Details = json.RawMessage(e.Details)
		}
		return enc.Encode(line)
	})
	switch {
	case err != nil && !started:
		h.failed(c, "export audit", err)
	case err != nil:
		// Half a file is already out; the log says why it stops there.
		httpx.Logger(r.Context()).Error("export audit", "err", err)
	case !started:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-`+c.org.Slug+`.jsonl"`)
		w.WriteHeader(http.StatusOK)
	}
}
