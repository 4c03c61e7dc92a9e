package rplogout

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/keys"
)

const issuer = "https://id.example.test"

var testSecret = secret.FromBytes([]byte("rplogout test system secret, 32+ bytes"))

// relyingParty is a back-channel logout endpoint that answers with the queued statuses (then 200)
// and keeps the logout tokens it received.
type relyingParty struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	tokens   []string
	delay    time.Duration
}

func newRelyingParty(t *testing.T, statuses ...int) *relyingParty {
	rp := &relyingParty{statuses: statuses}
	rp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(rp.delay)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
			http.Error(w, "bad request "+r.Method+" "+ct, http.StatusBadRequest)
			return
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		rp.tokens = append(rp.tokens, r.PostFormValue("logout_token"))
		status := http.StatusOK
		if len(rp.statuses) > 0 {
			status, rp.statuses = rp.statuses[0], rp.statuses[1:]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rp.Close)
	return rp
}

func (rp *relyingParty) received() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.tokens...)
}

type fixture struct {
	t        *testing.T
	db       *database.DB
	keys     *keys.Manager
	clients  *clients.Store
	sessions *session.Store
	n        *Notifier
	user     directory.User
	clock    time.Time
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	km := keys.NewManager(db, testSecret.Sealer("signing-keys"), keys.Options{})
	if err := km.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := directory.NewStore(db).CreateUser(ctx, directory.User{Username: "alice-" + secret.Token(6), Email: "alice@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	// Subtests share the database: each starts with an empty queue.
	if err := db.Exec(`DELETE FROM logout_deliveries`).Error; err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, keys: km, clients: clients.NewStore(db), user: u, clock: time.Now().UTC()}
	f.n = &Notifier{DB: db, Issuer: issuer, Keys: km, Clients: f.clients, Audit: &audit.Log{DB: db},
		Now: func() time.Time { return f.clock }}
	f.sessions = session.NewStore(db, testSecret.Hasher("session"))
	f.sessions.OnEnd = f.n.OnEnd
	return f
}

func (f *fixture) client(spec clients.Spec) clients.Client {
	f.t.Helper()
	spec.Type = clients.TypePublic
	spec.RedirectURIs = []string{"https://app.example/cb"}
	c, _, err := clients.New(spec, nil, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.clients.Create(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// session starts a session in which each client got a refresh and an access token.
func (f *fixture) session(cs ...clients.Client) string {
	f.t.Helper()
	ctx := context.Background()
	_, sess, err := f.sessions.Create(ctx, session.Session{UserID: f.user.ID, OrgID: f.user.OrgID, Method: "passkey",
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cs {
		for _, kind := range []string{"refresh", "access"} {
			err := f.db.Exec(`INSERT INTO oauth2_tokens (kind, signature, request_id, client_id, subject, session_id, active,
				requested_at, expires_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')`,
				kind, secret.Token(16), "req", c.ID, f.user.ID, sess.ID, true, time.Now().UTC(), time.Now().Add(time.Hour).UTC()).Error
			if err != nil {
				f.t.Fatal(err)
			}
		}
	}
	return sess.ID
}

func (f *fixture) pending() int64 {
	f.t.Helper()
	n, err := f.n.Pending(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) run() int {
	f.t.Helper()
	n, err := f.n.RunOnce(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) auditCount(action, clientID string) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE action = ? AND client_id = ? AND outcome = ?`,
		action, clientID, audit.Failure).Scan(&n).Error; err != nil {
		f.t.Fatal(err)
	}
	return n
}

// verify checks a logout token as a relying party does (Back-Channel Logout 1.0 section 2.6):
// signature with the published JWKS, typ, iss, aud, iat/exp, events, sid, and no nonce.
func (f *fixture) verify(token, clientID, sid string) map[string]any {
	f.t.Helper()
	raw, err := f.keys.JWKSJSON(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		f.t.Fatal(err)
	}
	jws, err := jose.ParseSigned(token)
	if err != nil {
		f.t.Fatalf("parse logout token: %v", err)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "logout+jwt" {
		f.t.Errorf("typ = %q, want logout+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		f.t.Fatalf("kid %q is not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		f.t.Fatalf("signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		f.t.Fatal(err)
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	events, _ := c["events"].(map[string]any)
	_, hasEvent := events[EventBackchannelLogout]
	_, hasNonce := c["nonce"]
	jti, _ := c["jti"].(string)
	if c["iss"] != issuer || c["aud"] != clientID || c["sid"] != sid || c["sub"] != f.user.ID || !hasEvent || hasNonce ||
		jti == "" || exp <= iat || exp-iat > TokenLifetime.Seconds() {
		f.t.Errorf("logout token claims %v", c)
	}
	return c
}

func TestBackchannelQueue(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("ending a session delivers one verified token to each client with a back-channel URI", func(t *testing.T) {
			f := newFixture(t, db)
			rpA, rpB := newRelyingParty(t), newRelyingParty(t)
			a := f.client(clients.Spec{Name: "A", BackchannelLogoutURI: rpA.URL + "/bc"})
			b := f.client(clients.Spec{Name: "B", BackchannelLogoutURI: rpB.URL + "/bc", IDTokenAlg: clients.AlgRS256})
			quiet := f.client(clients.Spec{Name: "No back-channel"})
			sid := f.session(a, b, quiet)
			f.session(a) // another session, still live
			if err := f.sessions.End(ctx, sid); err != nil {
				t.Fatal(err)
			}
			if got := f.pending(); got != 2 {
				t.Fatalf("%d deliveries queued, want 2 (one per client with a back-channel URI)", got)
			}
			if n := f.run(); n != 2 {
				t.Fatalf("RunOnce delivered %d, want 2", n)
			}
			if f.pending() != 0 {
				t.Fatal("delivered rows stay queued")
			}
			ta, tb := rpA.received(), rpB.received()
			if len(ta) != 1 || len(tb) != 1 {
				t.Fatalf("A got %d tokens, B got %d; want 1 each", len(ta), len(tb))
			}
			f.verify(ta[0], a.ID, sid)
			f.verify(tb[0], b.ID, sid)
			if jws, _ := jose.ParseSigned(tb[0]); jws.Signatures[0].Header.Algorithm != "RS256" {
				t.Errorf("B's token is signed with %s, want its ID token algorithm RS256", jws.Signatures[0].Header.Algorithm)
			}
			if f.run() != 0 || len(rpA.received()) != 1 {
				t.Fatal("a delivered token was sent again")
			}
		})

		t.Run("a failure is audited and retried after the backoff", func(t *testing.T) {
			f := newFixture(t, db)
			f.n.Backoff = []time.Duration{time.Minute}
			rp := newRelyingParty(t, http.StatusInternalServerError)
			c := f.client(clients.Spec{Name: "Flaky", BackchannelLogoutURI: rp.URL})
			sid := f.session(c)
			if _, err := f.sessions.EndAllForUser(ctx, f.user.ID, ""); err != nil {
				t.Fatal(err)
			}
			if n := f.run(); n != 0 {
				t.Fatalf("delivered %d despite a 500", n)
			}
			if f.auditCount("logout.delivery_failed", c.ID) != 1 {
				t.Fatal("no logout.delivery_failed audit event")
			}
			if f.run() != 0 || len(rp.received()) != 1 {
				t.Fatal("retried before the backoff")
			}
			f.clock = f.clock.Add(time.Minute + time.Second)
			if n := f.run(); n != 1 {
				t.Fatalf("retry delivered %d, want 1", n)
			}
			got := rp.received()
			f.verify(got[len(got)-1], c.ID, sid)
		})

		t.Run("gives up after MaxAttempts", func(t *testing.T) {
			f := newFixture(t, db)
			f.n.MaxAttempts, f.n.Backoff = 2, []time.Duration{time.Second}
			rp := newRelyingParty(t, 500, 503, 500)
			c := f.client(clients.Spec{Name: "Down", BackchannelLogoutURI: rp.URL})
			sid := f.session(c)
			if err := f.sessions.End(ctx, sid); err != nil {
				t.Fatal(err)
			}
			f.run()
			f.clock = f.clock.Add(2 * time.Second)
			f.run()
			if f.pending() != 0 || f.auditCount("logout.delivery_gave_up", c.ID) != 1 {
				t.Fatalf("pending %d, gave_up events %d; want 0 and 1", f.pending(), f.auditCount("logout.delivery_gave_up", c.ID))
			}
			f.clock = f.clock.Add(time.Hour)
			f.run()
			if len(rp.received()) != 2 {
				t.Fatalf("%d attempts, want 2", len(rp.received()))
			}
		})

		t.Run("the queue is bounded", func(t *testing.T) {
			f := newFixture(t, db)
			f.n.MaxPending = 1
			c := f.client(clients.Spec{Name: "A", BackchannelLogoutURI: "https://a.example/bc"})
			f.session(c)
			f.session(c)
			ended, err := f.sessions.EndAllForUser(ctx, f.user.ID, "")
			if err != nil || len(ended) != 2 {
				t.Fatalf("ended %v, %v", ended, err)
			}
			if got := f.pending(); got != 1 {
				t.Fatalf("%d queued with MaxPending 1", got)
			}
		})

		t.Run("two nodes deliver a row once", func(t *testing.T) {
			f := newFixture(t, db)
			rp := newRelyingParty(t)
			rp.delay = 200 * time.Millisecond
			c := f.client(clients.Spec{Name: "A", BackchannelLogoutURI: rp.URL})
			if err := f.sessions.End(ctx, f.session(c)); err != nil {
				t.Fatal(err)
			}
			other := *f.n
			var total atomic.Int64
			var wg sync.WaitGroup
			for _, n := range []*Notifier{f.n, &other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := n.RunOnce(ctx)
					if err != nil {
						t.Error(err)
					}
					total.Add(int64(d))
				}()
			}
			wg.Wait()
			if total.Load() != 1 || len(rp.received()) != 1 {
				t.Fatalf("delivered %d times, received %d; want once", total.Load(), len(rp.received()))
			}
		})

		t.Run("a deleted client's deliveries are dropped", func(t *testing.T) {
			f := newFixture(t, db)
			c := f.client(clients.Spec{Name: "Gone", BackchannelLogoutURI: "https://gone.example/bc"})
			if err := f.sessions.End(ctx, f.session(c)); err != nil {
				t.Fatal(err)
			}
			if err := f.clients.Delete(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			f.run()
			if f.pending() != 0 {
				t.Fatal("a deleted client's delivery stays queued")
			}
		})

		t.Run("front-channel URIs of the session's clients", func(t *testing.T) {
			f := newFixture(t, db)
			withSID := f.client(clients.Spec{Name: "A", FrontchannelLogoutURI: "https://a.example/fc?x=1", FrontchannelLogoutSessionRequired: true})
			plain := f.client(clients.Spec{Name: "B", FrontchannelLogoutURI: "https://b.example/fc"})
			f.client(clients.Spec{Name: "C", FrontchannelLogoutURI: "https://c.example/fc"}) // not in the session
			sid := f.session(withSID, plain)
			if err := f.sessions.End(ctx, sid); err != nil {
				t.Fatal(err)
			}
			got, err := f.n.FrontChannel(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"https://a.example/fc?" + url.Values{"x": {"1"}, "iss": {issuer}, "sid": {sid}}.Encode(), "https://b.example/fc"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("FrontChannel = %v, want %v", got, want)
			}
		})
	})
}
