package handoff

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestStore(t *testing.T, db *database.DB) (*Store, *clock) {
	c := &clock{t: time.Now().UTC()}
	return NewStore(db, secret.FromBytes(make([]byte, 32)).Hasher("handoff"), c.now), c
}

func create(t *testing.T, s *Store, orgID, username, userID string) (Handoff, string, string) {
	t.Helper()
	h, code, browser, err := s.Create(context.Background(), Handoff{OrgID: orgID, Username: username, UserID: userID,
		PendingID: "req-1", ClientID: "client-1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130", IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	return h, code, browser
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var ce *CodeError
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidCode) || ce.Reason != reason {
		t.Fatalf("err %v, want an invalid code (%s)", err, reason)
	}
}

func TestStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("browser binding", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			h, _, browser := create(t, s, "org", "ann", "u-ann")
			got, err := s.ByBrowser(ctx, browser)
			if err != nil || got.ID != h.ID || got.State != StatePending || got.PendingID != "req-1" || got.IP != "192.0.2.7" {
				t.Fatalf("ByBrowser = %+v, %v", got, err)
			}
			for _, other := range []string{"", browser + "x", "not-the-secret"} {
				if _, err := s.ByBrowser(ctx, other); !errors.Is(err, ErrNotFound) {
					t.Fatalf("ByBrowser(%q): %v, want ErrNotFound", other, err)
				}
			}
			if _, err := s.Complete(ctx, "not-the-secret", "pk"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Complete with another browser's secret: %v", err)
			}
		})

		t.Run("account binding", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			_, code, _ := create(t, s, "org", "ann", "u-ann")
			_, wrong := s.Verify(ctx, code, "org", "u-bob", "sid-bob")
			wantReason(t, wrong, ReasonOtherAccount)
			_, wrong = s.Verify(ctx, code, "other-org", "u-ann", "sid-ann")
			wantReason(t, wrong, ReasonOtherAccount)
			h, err := s.Verify(ctx, " "+NormalizeCode(code)+" ", "org", "u-ann", "sid-ann")
			if err != nil || h.VerifiedSID != "sid-ann" {
				t.Fatalf("Verify for the right account: %+v, %v", h, err)
			}
		})

		t.Run("unknown username is never approvable", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			h, code, _ := create(t, s, "org", "nobody", "")
			_, err := s.Verify(ctx, code, "org", "", "sid")
			wantReason(t, err, ReasonWrong)
			_, err = s.Verify(ctx, code, "org", "u-ann", "sid")
			wantReason(t, err, ReasonOtherAccount)
			if _, err := s.Approve(ctx, h.ID, "", ""); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve of an unknown user's handoff: %v", err)
			}
		})

		t.Run("wrong code", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			_, code, _ := create(t, s, "org", "ann", "u-ann")
			other := NewCode()
			for other == code {
				other = NewCode()
			}
			for _, typed := range []string{other, "", "KDW7-3QP0", code[:8]} {
				_, err := s.Verify(ctx, typed, "org", "u-ann", "sid")
				wantReason(t, err, ReasonWrong)
			}
		})

		t.Run("expiry", func(t *testing.T) {
			s, c := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "ann", "u-ann")
			if !h.ExpiresAt.Equal(h.CreatedAt.Add(CodeLifetime)) {
				t.Fatalf("expires %s, created %s: want %s", h.ExpiresAt, h.CreatedAt, CodeLifetime)
			}
			c.add(CodeLifetime - time.Second)
			if _, err := s.Verify(ctx, code, "org", "u-ann", "sid"); err != nil {
				t.Fatalf("a second before expiry: %v", err)
			}
			c.add(time.Second)
			_, err := s.Verify(ctx, code, "org", "u-ann", "sid")
			wantReason(t, err, ReasonExpired)
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve after expiry: %v", err)
			}
			got, _ := s.ByBrowser(ctx, browser)
			if st := got.Status(c.now()); st != StateExpired {
				t.Fatalf("status %s, want expired", st)
			}
		})

		t.Run("approve, complete, then dead", func(t *testing.T) {
			s, c := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "ann", "u-ann")
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid-ann"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve before the code was verified: %v", err)
			}
			if _, err := s.Verify(ctx, code, "org", "u-ann", "sid-ann"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid-other"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve from another session: %v", err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-bob", "sid-ann"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve by another user: %v", err)
			}
			if _, err := s.Complete(ctx, browser, "pk-1"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Complete before approval: %v", err)
			}
			c.add(4 * time.Minute)
			got, err := s.Approve(ctx, h.ID, "u-ann", "sid-ann")
			if err != nil || got.State != StateApproved || got.Status(c.now()) != StateApproved {
				t.Fatalf("Approve: %+v, %v", got, err)
			}
			// Approved late in the code's life, the new device still has CompleteWithin.
			if want := c.now().Add(CompleteWithin); got.ExpiresAt.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("approved handoff expires %s, want %s", got.ExpiresAt, want)
			}
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid-ann"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("second Approve: %v", err)
			}
			_, err = s.Verify(ctx, code, "org", "u-ann", "sid-ann")
			wantReason(t, err, ReasonUsed)
			c.add(2 * time.Minute)
			done, err := s.Complete(ctx, browser, "pk-1")
			if err != nil || done.State != StateCompleted || done.PasskeyID != "pk-1" || done.CompletedAt.IsZero() {
				t.Fatalf("Complete: %+v, %v", done, err)
			}
			if _, err := s.Complete(ctx, browser, "pk-2"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("second Complete: %v", err)
			}
			_, err = s.Verify(ctx, code, "org", "u-ann", "sid-ann")
			wantReason(t, err, ReasonUsed)
		})

		t.Run("approval expires", func(t *testing.T) {
			s, c := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "ann", "u-ann")
			if _, err := s.Verify(ctx, code, "org", "u-ann", "sid"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid"); err != nil {
				t.Fatal(err)
			}
			c.add(CompleteWithin)
			if _, err := s.Complete(ctx, browser, "pk"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Complete after the approval expired: %v", err)
			}
		})

		t.Run("deny", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "ann", "u-ann")
			if _, err := s.Verify(ctx, code, "org", "u-ann", "sid"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Deny(ctx, h.ID, "u-ann", "other-sid"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Deny from another session: %v", err)
			}
			got, err := s.Deny(ctx, h.ID, "u-ann", "sid")
			if err != nil || got.State != StateDenied {
				t.Fatalf("Deny: %+v, %v", got, err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Approve after Deny: %v", err)
			}
			if _, err := s.Complete(ctx, browser, "pk"); !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Complete after Deny: %v", err)
			}
		})

		t.Run("a new code cancels the old one", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			_, code, browser := create(t, s, "org", "ann", "u-ann")
			if err := s.Cancel(ctx, browser); err != nil {
				t.Fatal(err)
			}
			_, err := s.Verify(ctx, code, "org", "u-ann", "sid")
			wantReason(t, err, ReasonUsed)
		})

		t.Run("concurrent completions", func(t *testing.T) {
			s, _ := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "ann", "u-ann")
			if _, err := s.Verify(ctx, code, "org", "u-ann", "sid"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-ann", "sid"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					_, err := s.Complete(ctx, browser, "pk")
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			ok := 0
			for err := range errs {
				if err == nil {
					ok++
				} else if !errors.Is(err, ErrNotAllowed) {
					t.Errorf("Complete: %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d completions succeeded, want exactly 1", ok)
			}
		})

		t.Run("recent and purge", func(t *testing.T) {
			s, c := newTestStore(t, db)
			h, code, browser := create(t, s, "org", "cyd", "u-cyd")
			_, _, _ = create(t, s, "org", "cyd", "u-cyd") // never approved
			start := c.now()
			c.add(time.Minute)
			if _, err := s.Verify(ctx, code, "org", "u-cyd", "sid"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, h.ID, "u-cyd", "sid"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Complete(ctx, browser, "pk-cyd"); err != nil {
				t.Fatal(err)
			}
			recent, err := s.RecentForUser(ctx, "u-cyd", start.Add(-time.Minute))
			if err != nil || len(recent) != 1 || recent[0].PasskeyID != "pk-cyd" || recent[0].ClientID != "client-1" ||
				recent[0].IP != "192.0.2.7" || recent[0].UserAgent == "" {
				t.Fatalf("RecentForUser = %+v, %v", recent, err)
			}
			if later, _ := s.RecentForUser(ctx, "u-cyd", c.now().Add(time.Minute)); len(later) != 0 {
				t.Fatalf("RecentForUser after the completion: %+v", later)
			}
			// Just after the unused code expired, it goes; the completed one stays until the cutoff
			// passes it too. (Other subtests' rows share the database: count cyd's.)
			rows := func() int {
				var n int
				if err := db.Raw(`SELECT COUNT(*) FROM handoffs WHERE user_id = 'u-cyd'`).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			if _, err := s.Purge(ctx, start.Add(CodeLifetime+time.Second)); err != nil || rows() != 1 {
				t.Fatalf("after Purge(just after the unused code expired): %d rows of cyd, %v; want the completed one", rows(), err)
			}
			if _, err := s.Purge(ctx, c.now().Add(time.Hour)); err != nil || rows() != 0 {
				t.Fatalf("after Purge(an hour later): %d rows of cyd, %v; want none", rows(), err)
			}
		})
	})
}
