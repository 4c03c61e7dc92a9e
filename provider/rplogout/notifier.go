package rplogout

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/keys"
)

// Defaults for the zero values of Notifier's tuning fields.
const (
	DefaultMaxPending  = 10000
	DefaultMaxAttempts = 8
	DefaultPoll        = 2 * time.Second
	DefaultTimeout     = 5 * time.Second
	// TokenLifetime is how long a logout token is valid: long enough for clock skew, short enough
	// that a captured token is soon worthless (Back-Channel Logout 1.0 section 2.4 asks for a
	// short lifetime; two minutes is Keycloak's and many others' choice).
	TokenLifetime = 2 * time.Minute
)

// DefaultBackoff is the wait after each failed attempt; the last entry repeats. With
// DefaultMaxAttempts a relying party that is down gets about four and a half hours to recover.
var DefaultBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}

// ClientSource looks up a registered client (clients.Store; database.ErrNotFound when unknown).
type ClientSource interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

// Notifier queues and delivers back-channel logout tokens and lists front-channel logout URIs.
// DB and Issuer are needed to queue (OnEnd) and to list frames; delivering (Start, RunOnce) also
// needs Keys, Clients and Audit.
type Notifier struct {
	DB      *database.DB
	Issuer  string
	Keys    *keys.Manager
	Clients ClientSource
	Audit   *audit.Log
	Log     *slog.Logger

	// HTTP posts logout tokens; nil is a client with DefaultTimeout that follows no redirects.
	HTTP        *http.Client
	Backoff     []time.Duration // DefaultBackoff when nil
	MaxAttempts int             // DefaultMaxAttempts when 0
	MaxPending  int             // DefaultMaxPending when 0: deliveries beyond it are dropped and logged
	Poll        time.Duration   // how often the worker looks for due deliveries; DefaultPoll when 0
	// Lease is how long a node owns a claimed delivery; another node may take it over after.
	Lease time.Duration
	Now   func() time.Time
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now().UTC()
	}
	return time.Now().UTC()
}

func (n *Notifier) log() *slog.Logger {
	if n.Log != nil {
		return n.Log
	}
	return slog.Default()
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// unclaimed is the claimed_until of a row no node owns.
var unclaimed = time.Unix(0, 0).UTC()

// OnEnd queues a logout token for every client that received tokens in the ended sessions and
// registered a backchannel_logout_uri. It is session.Store.OnEnd: it runs in the transaction that
// ends the sessions, so the deliveries are queued if and only if the sessions end. The queue is
// bounded by MaxPending; what does not fit is dropped and logged, never failing the sign-out.
func (n *Notifier) OnEnd(ctx context.Context, ended []session.Ended) error {
	if len(ended) == 0 {
		return nil
	}
	users := make(map[string]string, len(ended))
	sids := make([]string, 0, len(ended))
	for _, e := range ended {
		users[e.ID] = e.UserID
		sids = append(sids, e.ID)
	}
	var targets []target
	err := n.DB.Conn(ctx).Raw(`SELECT DISTINCT t.session_id, t.client_id, t.subject FROM oauth2_tokens t
		JOIN clients c ON c.id = t.client_id
		WHERE t.session_id IN ? AND t.session_id <> '' AND c.backchannel_logout_uri <> ''`, sids).Scan(&targets).Error
	if err != nil {
		return fmt.Errorf("find the clients of ended sessions: %w", err)
	}
	if len(targets) == 0 {
		return nil
	}
	// One delivery per client and session, whatever the number of its tokens.
	slices.SortFunc(targets, func(a, b target) int {
		return cmp.Or(strings.Compare(a.SessionID, b.SessionID), strings.Compare(a.ClientID, b.ClientID))
	})
	targets = slices.CompactFunc(targets, func(a, b target) bool {
		return a.SessionID == b.SessionID && a.ClientID == b.ClientID
	})
	var pending int64
	if err := n.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM logout_deliveries`).Scan(&pending).Error; err != nil {
		return fmt.Errorf("count queued logout deliveries: %w", err)
	}
	room := int64(orDefault(n.MaxPending, DefaultMaxPending)) - pending
	now := n.now()
	for i, t := range targets {
		if int64(i) >= room {
			n.log().Error("back-channel logout queue full: delivery dropped",
				"client_id", t.ClientID, "sid", t.SessionID, "pending", pending)
			continue
		}
		sub := users[t.SessionID]
		if sub == "" {
			sub = t.Subject
		}
		err := n.DB.Conn(ctx).Exec(`INSERT INTO logout_deliveries (id, client_id, session_id, subject, attempts,
			last_error, created_at, next_attempt_at, claimed_until) VALUES (?, ?, ?, ?, 0, '', ?, ?, ?)`,
			secret.Token(16), t.ClientID, t.SessionID, sub, now, now, unclaimed).Error
		if err != nil {
			return fmt.Errorf("queue back-channel logout: %w", err)
		}
	}
	return nil
}

// target is a client to notify of an ended session.
type target struct {
	SessionID, ClientID, Subject string
}

// Pending returns the number of queued deliveries (for tests and operators).
func (n *Notifier) Pending(ctx context.Context) (int64, error) {
	var c int64
	err := n.DB.Conn(ctx).Raw(`SELECT COUNT(*) FROM logout_deliveries`).Scan(&c).Error
	return c, err
}
