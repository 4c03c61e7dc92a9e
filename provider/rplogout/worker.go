package rplogout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// batch is how many due deliveries one round looks at; parallel is how many it sends at once.
const (
	batch    = 50
	parallel = 4
)

type delivery struct {
	ID        string `gorm:"column:id"`
	ClientID  string `gorm:"column:client_id"`
	SessionID string `gorm:"column:session_id"`
	Subject   string `gorm:"column:subject"`
	Attempts  int    `gorm:"column:attempts"`
}

// Start runs the delivery worker until ctx ends or stop is called; stop waits for the worker to
// finish its round, so a server shutting down does not leave a request half-sent.
func (n *Notifier) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(orDefault(n.Poll, DefaultPoll))
		defer t.Stop()
		for {
			if _, err := n.RunOnce(ctx); err != nil && ctx.Err() == nil {
				n.log().Warn("back-channel logout delivery round", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// RunOnce sends the deliveries that are due and returns how many were delivered. Each row is
// claimed atomically (claimed_until moves into the future only if it was in the past), so
// several nodes can run workers on one database without sending a token twice at once.
func (n *Notifier) RunOnce(ctx context.Context) (int, error) {
	now := n.now()
	var due []delivery
	err := n.DB.Conn(ctx).Raw(`SELECT id, client_id, session_id, subject, attempts FROM logout_deliveries
		WHERE next_attempt_at <= ? AND claimed_until < ? ORDER BY next_attempt_at LIMIT ?`, now, now, batch).Scan(&due).Error
	if err != nil {
		return 0, fmt.Errorf("find due logout deliveries: %w", err)
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		delivered int
		sem       = make(chan struct{}, parallel)
	)
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if n.process(ctx, d) {
				mu.Lock()
				delivered++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return delivered, nil
}

func (n *Notifier) lease() time.Duration {
	// Longer than a delivery can take, so a slow endpoint is not sent the token twice.
	return orDefault(n.Lease, 4*orDefault(n.timeout(), DefaultTimeout))
}

func (n *Notifier) timeout() time.Duration {
	if n.HTTP != nil && n.HTTP.Timeout > 0 {
		return n.HTTP.Timeout
	}
	return DefaultTimeout
}

// process claims and sends one delivery, reporting whether it was delivered.
func (n *Notifier) process(ctx context.Context, d delivery) bool {
	now := n.now()
	res := n.DB.Conn(ctx).Exec(`UPDATE logout_deliveries SET claimed_until = ? WHERE id = ? AND claimed_until < ?`,
		now.Add(n.lease()), d.ID, now)
	if res.Error != nil {
		n.log().Warn("claim logout delivery", "err", res.Error)
		return false
	}
	if res.RowsAffected == 0 {
		return false // another node has it
	}
	c, err := n.Clients.Get(ctx, d.ClientID)
	if errors.Is(err, database.ErrNotFound) || (err == nil && c.BackchannelLogoutURI == "") {
		// The client is gone or no longer wants to hear: nothing to deliver.
		n.remove(ctx, d)
		return false
	}
	if err != nil {
		n.failed(ctx, d, clients.Client{ID: d.ClientID}, fmt.Errorf("load client: %w", err))
		return false
	}
	if err := n.send(ctx, c, d); err != nil {
		n.failed(ctx, d, c, err)
		return false
	}
	n.remove(ctx, d)
	n.log().Info("back-channel logout delivered", "client_id", c.ID, "sid", d.SessionID, "attempt", d.Attempts+1)
	return true
}

// send POSTs a fresh logout token (Back-Channel Logout 1.0 section 2.5); any 2xx is success.
func (n *Notifier) send(ctx context.Context, c clients.Client, d delivery) error {
	token, err := n.LogoutToken(ctx, c, d.SessionID, d.Subject)
	if err != nil {
		return fmt.Errorf("sign logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", c.BackchannelLogoutURI, resp.Status)
	}
	return nil
}

func (n *Notifier) client() *http.Client {
	if n.HTTP != nil {
		return n.HTTP
	}
	return &http.Client{
		Timeout: DefaultTimeout,
		// The registered URI is the endpoint; following a redirect would post the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (n *Notifier) remove(ctx context.Context, d delivery) {
	if err := n.DB.Conn(ctx).Exec(`DELETE FROM logout_deliveries WHERE id = ?`, d.ID).Error; err != nil {
		n.log().Warn("remove logout delivery", "err", err)
	}
}

// failed schedules the next attempt, or gives up after MaxAttempts; both are logged and audited
// so that an administrator sees which relying party is not hearing about sign-outs.
func (n *Notifier) failed(ctx context.Context, d delivery, c clients.Client, cause error) {
	attempt := d.Attempts + 1
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	details := map[string]any{"sid": d.SessionID, "attempt": attempt, "error": msg, "uri": c.BackchannelLogoutURI}
	action := "logout.delivery_failed"
	var err error
	if attempt >= orDefault(n.MaxAttempts, DefaultMaxAttempts) {
		action = "logout.delivery_gave_up"
		n.log().Error("back-channel logout: giving up", "client_id", d.ClientID, "sid", d.SessionID, "attempt", attempt, "err", msg)
		err = n.DB.Conn(ctx).Exec(`DELETE FROM logout_deliveries WHERE id = ?`, d.ID).Error
	} else {
		wait := n.backoff(attempt)
		details["retry_in"] = wait.String()
		n.log().Warn("back-channel logout failed; will retry", "client_id", d.ClientID, "sid", d.SessionID,
			"attempt", attempt, "retry_in", wait, "err", msg)
		err = n.DB.Conn(ctx).Exec(`UPDATE logout_deliveries SET attempts = ?, last_error = ?, next_attempt_at = ?,
			claimed_until = ? WHERE id = ?`, attempt, msg, n.now().Add(wait), unclaimed, d.ID).Error
	}
	if err != nil {
		n.log().Warn("record logout delivery failure", "err", err)
	}
	if n.Audit != nil {
		if err := n.Audit.Record(ctx, audit.Event{Action: action, Outcome: audit.Failure, OrgID: c.OrgID,
			Actor: "system", UserID: d.Subject, ClientID: d.ClientID, Details: details}); err != nil {
			n.log().Warn("audit logout delivery failure", "err", err)
		}
	}
}

// backoff is the wait after the given failed attempt (1-based).
func (n *Notifier) backoff(attempt int) time.Duration {
	b := n.Backoff
	if len(b) == 0 {
		b = DefaultBackoff
	}
	return b[min(attempt, len(b))-1]
}
