package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestAuditConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var logBuf bytes.Buffer
		log := &audit.Log{DB: db, Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))}

		t.Run("record writes every field", func(t *testing.T) {
			before := time.Now().UTC().Add(-time.Second)
			e := audit.Event{
				Action: "client.created", Outcome: audit.Failure, OrgID: "org-fields", Actor: "user:u1",
				UserID: "u1", ClientID: "c1", IP: "192.0.2.1", UserAgent: "AuditTest/1.0", RequestID: "req-0123456789",
				Details: map[string]any{"name": "My App", "public": true, "count": 3},
			}
			if err := log.Record(ctx, e); err != nil {
				t.Fatalf("Record: %v", err)
			}
			got, err := log.Recent(ctx, "org-fields", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("Recent = %d events, want 1", len(got))
			}
			r := got[0]
			if r.ID == 0 || r.OrgID != e.OrgID || r.Actor != e.Actor || r.Action != e.Action || r.Outcome != e.Outcome ||
				r.UserID != e.UserID || r.ClientID != e.ClientID || r.IP != e.IP || r.UserAgent != e.UserAgent ||
				r.RequestID != e.RequestID {
				t.Errorf("stored %+v, want the fields of %+v", r, e)
			}
			var details map[string]any
			if err := json.Unmarshal([]byte(r.Details), &details); err != nil {
				t.Fatalf("details %q are not JSON: %v", r.Details, err)
			}
			if want := map[string]any{"name": "My App", "public": true, "count": float64(3)}; !reflect.DeepEqual(details, want) {
				t.Errorf("details = %v, want %v", details, want)
			}
			if r.OccurredAt.Before(before) || r.OccurredAt.After(time.Now().Add(time.Second)) {
				t.Errorf("OccurredAt = %v, want about now", r.OccurredAt)
			}
			if !strings.Contains(logBuf.String(), `"action":"client.created"`) {
				t.Errorf("event not logged: %s", logBuf.String())
			}
		})

		t.Run("defaults", func(t *testing.T) {
			tests := []struct {
				name        string
				event       audit.Event
				wantOutcome string
				wantDetails string
			}{
				{"outcome defaults to success", audit.Event{Action: "signin.succeeded", OrgID: "org-defaults-1"}, audit.Success, "{}"},
				{"empty details are {}", audit.Event{Action: "a", OrgID: "org-defaults-2", Details: map[string]any{}}, audit.Success, "{}"},
				{"failure kept", audit.Event{Action: "signin.failed", Outcome: audit.Failure, OrgID: "org-defaults-3"}, audit.Failure, "{}"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if err := log.Record(ctx, tc.event); err != nil {
						t.Fatal(err)
					}
					got, err := log.Recent(ctx, tc.event.OrgID, 1)
					if err != nil || len(got) != 1 {
						t.Fatalf("Recent = %v, %v", got, err)
					}
					if got[0].Outcome != tc.wantOutcome || got[0].Details != tc.wantDetails {
						t.Errorf("outcome/details = %q/%q, want %q/%q", got[0].Outcome, got[0].Details, tc.wantOutcome, tc.wantDetails)
					}
				})
			}
		})

		t.Run("long user agent is truncated", func(t *testing.T) {
			if err := log.Record(ctx, audit.Event{Action: "ua", OrgID: "org-ua", UserAgent: strings.Repeat("x", 3000)}); err != nil {
				t.Fatal(err)
			}
			got, err := log.Recent(ctx, "org-ua", 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("Recent = %v, %v", got, err)
			}
			if len(got[0].UserAgent) != 512 {
				t.Fatalf("user agent length = %d, want 512", len(got[0].UserAgent))
			}
		})

		t.Run("recent is newest first and filtered by org", func(t *testing.T) {
			type ev struct{ org, action string }
			seq := []ev{{"org-a", "a1"}, {"org-b", "b1"}, {"org-a", "a2"}, {"org-a", "a3"}, {"org-b", "b2"}, {"org-a", "a4"}}
			for _, e := range seq {
				if err := log.Record(ctx, audit.Event{Action: e.action, OrgID: e.org}); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				name  string
				org   string
				limit int
				want  []string
			}{
				{"org a", "org-a", 10, []string{"a4", "a3", "a2", "a1"}},
				{"org a limited", "org-a", 2, []string{"a4", "a3"}},
				{"org b", "org-b", 10, []string{"b2", "b1"}},
				{"unknown org", "org-none", 10, nil},
				{"all orgs", "", 6, []string{"a4", "b2", "a3", "a2", "b1", "a1"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := log.Recent(ctx, tc.org, tc.limit)
					if err != nil {
						t.Fatal(err)
					}
					var actions []string
					for i, r := range got {
						actions = append(actions, r.Action)
						if tc.org != "" && r.OrgID != tc.org {
							t.Errorf("event %d of org %q in the %q view", r.ID, r.OrgID, tc.org)
						}
						if i > 0 && r.ID >= got[i-1].ID {
							t.Errorf("ids not descending: %d after %d", r.ID, got[i-1].ID)
						}
						if i > 0 && r.OccurredAt.After(got[i-1].OccurredAt) {
							t.Errorf("event %s at %v is newer than the one before it", r.Action, r.OccurredAt)
						}
					}
					if !reflect.DeepEqual(actions, tc.want) {
						t.Errorf("actions = %v, want %v", actions, tc.want)
					}
				})
			}
		})

		t.Run("request id and client details come from the request", func(t *testing.T) {
			var recordErr error
			h := httpx.Middleware(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				e := audit.FromRequest(r, audit.Event{Action: "from.request", OrgID: "org-req"})
				recordErr = log.Record(r.Context(), e)
				// A bare event picks the request id up from the context.
				if err := log.Record(r.Context(), audit.Event{Action: "from.context", OrgID: "org-req"}); err != nil {
					recordErr = err
				}
			}))
			req := httptest.NewRequest(http.MethodPost, "/admin/clients", nil)
			req.RemoteAddr = "203.0.113.5:50000"
			req.Header.Set("User-Agent", "Browser/9")
			req.Header.Set("X-Request-Id", "incoming-request-42")
			req.Header.Set("X-Forwarded-For", "10.9.9.9")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if recordErr != nil {
				t.Fatal(recordErr)
			}
			got, err := log.Recent(ctx, "org-req", 10)
			if err != nil || len(got) != 2 {
				t.Fatalf("Recent = %v, %v", got, err)
			}
			for _, r := range got {
				if r.RequestID != "incoming-request-42" {
					t.Errorf("%s: request id %q, want incoming-request-42", r.Action, r.RequestID)
				}
			}
			fromReq := got[1]
			if fromReq.Action != "from.request" || fromReq.IP != "203.0.113.5" || fromReq.UserAgent != "Browser/9" {
				t.Errorf("FromRequest event = %+v, want ip 203.0.113.5 (not X-Forwarded-For) and UA Browser/9", fromReq)
			}
		})
	})
}
