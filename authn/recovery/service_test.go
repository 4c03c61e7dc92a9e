package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/enroll"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/store"
)

type fixture struct {
	db       *database.DB
	svc      *Service
	sessions *session.Store
	links    *enroll.Links
	audit    *audit.Log
}

func newFixture(t *testing.T, db *database.DB) fixture {
	t.Helper()
	sec := secret.FromBytes([]byte("test"))
	users := directory.NewStore(db)
	pk, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{"http://localhost"}}, db, sec.Hasher("passkey"), users)
	if err != nil {
		t.Fatal(err)
	}
	tokens := store.New(db, nil, nil)
	t.Cleanup(func() { _ = tokens.Close() })
	f := fixture{db: db, sessions: session.NewStore(db, sec.Hasher("session")), links: &enroll.Links{DB: db, Hasher: sec.Hasher("link")},
		audit: &audit.Log{DB: db}}
	f.svc = &Service{DB: db, Links: f.links, Sessions: f.sessions, UserTokens: store.UserTokens{DB: db},
		SessionTokens: tokens, Passkeys: pk, Audit: f.audit}
	return f
}

// addPasskey stores a passkey row for u (the ceremonies are tested in authn/passkey and end to end).
func (f fixture) addPasskey(t *testing.T, u directory.User, id string) {
	t.Helper()
	if err := f.db.Exec(`INSERT INTO passkeys (id, user_id, credential_id, public_key, name, added_via, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, u.ID, "cred-"+id, []byte{1}, "Key "+id, passkey.AddedViaEnrollment, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
}

func (f fixture) signIn(t *testing.T, u directory.User, passkeyID string) session.Session {
	t.Helper()
	_, s, err := f.sessions.Create(context.Background(), session.Session{UserID: u.ID, OrgID: u.OrgID, Method: "passkey",
		PasskeyID: passkeyID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int64
	if err := f.db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func (f fixture) lastEvent(t *testing.T, action string) map[string]any {
	t.Helper()
	evs, err := f.audit.Recent(context.Background(), "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == action {
			var d map[string]any
			_ = json.Unmarshal([]byte(e.Details), &d)
			return d
		}
	}
	t.Fatalf("no %s event", action)
	return nil
}

func TestStart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ann, bob := newUser(t, db, "ann"), newUser(t, db, "bob")
		f.addPasskey(t, ann, "a1")
		f.addPasskey(t, ann, "a2")
		f.addPasskey(t, bob, "b1")
		f.signIn(t, ann, "a1")
		f.signIn(t, ann, "")
		bobSession := f.signIn(t, bob, "b1")

		st, err := f.svc.Start(ctx, ann, StartOptions{Actor: "cli", Delivery: DeliverShow})
		if err != nil {
			t.Fatal(err)
		}
		if st.PasskeysRemoved != 2 || st.SessionsEnded != 2 || st.Token == "" {
			t.Fatalf("Start = %+v, want 2 passkeys removed and 2 sessions ended", st)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, ann.ID); n != 0 {
			t.Fatalf("ann has %d passkeys left", n)
		}
		if live, _ := f.sessions.ListForUser(ctx, ann.ID); len(live) != 0 {
			t.Fatalf("ann has %d live sessions", len(live))
		}
		if _, err := f.sessions.Get(ctx, bobSession.ID); err != nil {
			t.Fatalf("bob's session was touched: %v", err)
		}
		link, err := f.links.Peek(ctx, PurposeRecovery, st.Token)
		if err != nil || link.UserID != ann.ID || link.CreatedBy != "cli" {
			t.Fatalf("recovery link %+v, %v", link, err)
		}
		if d := time.Until(link.ExpiresAt); d < DefaultValidity-time.Minute || d > DefaultValidity {
			t.Fatalf("link valid for %s, want %s", d, DefaultValidity)
		}
		if _, err := f.links.Peek(ctx, enroll.PurposeEnrollment, st.Token); err == nil {
			t.Fatal("a recovery link works as an enrollment link")
		}
		d := f.lastEvent(t, "recovery.started")
		if d["delivery"] != "show" || d["passkeys_removed"] != float64(2) || d["sessions_ended"] != float64(2) {
			t.Fatalf("recovery.started details %v", d)
		}

		// Keeping passkeys still ends sessions.
		f.addPasskey(t, ann, "a3")
		f.signIn(t, ann, "a3")
		st, err = f.svc.Start(ctx, ann, StartOptions{Actor: "cli", Delivery: DeliverShow, KeepPasskeys: true, ValidFor: time.Hour})
		if err != nil || st.PasskeysRemoved != 0 || st.SessionsEnded != 1 {
			t.Fatalf("keep passkeys: %+v, %v", st, err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, ann.ID); n != 1 {
			t.Fatalf("keep passkeys left %d", n)
		}

		// Email needs a verified address; refused before anything changes.
		carl, err := directory.NewStore(db).CreateUser(ctx, directory.User{OrgID: directory.SystemOrgID, Username: "carl", Email: "carl@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		f.addPasskey(t, carl, "c1")
		if _, err := f.svc.Start(ctx, carl, StartOptions{Actor: "cli", Delivery: DeliverEmail}); !errors.Is(err, ErrNoVerifiedEmail) {
			t.Fatalf("email to an unverified address: %v", err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, carl.ID); n != 1 {
			t.Fatal("a refused recovery removed passkeys")
		}
		for _, bad := range []StartOptions{{Delivery: "post"}, {Delivery: DeliverShow, ValidFor: 8 * 24 * time.Hour}} {
			if _, err := f.svc.Start(ctx, carl, bad); err == nil {
				t.Fatalf("Start(%+v) accepted", bad)
			}
		}
	})
}

func TestLostDevice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ann := newUser(t, db, "ann")
		f.addPasskey(t, ann, "phone")
		f.addPasskey(t, ann, "laptop")
		phone1, phone2 := f.signIn(t, ann, "phone"), f.signIn(t, ann, "phone")
		laptop := f.signIn(t, ann, "laptop")
		other := f.signIn(t, ann, "")

		lost, err := f.svc.LostDevice(ctx, ann, "phone", audit.Event{Details: map[string]any{"name": "Key phone"}})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(lost.SessionsEnded)
		want := []string{phone1.ID, phone2.ID}
		slices.Sort(want)
		if !slices.Equal(lost.SessionsEnded, want) {
			t.Fatalf("ended %v, want the phone's sessions %v", lost.SessionsEnded, want)
		}
		for _, s := range []session.Session{laptop, other} {
			if _, err := f.sessions.Get(ctx, s.ID); err != nil {
				t.Fatalf("session %s of another device ended: %v", s.ID, err)
			}
		}
		if n := f.count(t, `SELECT COUNT(*) FROM passkeys WHERE id = ?`, "phone"); n != 0 {
			t.Fatal("the lost passkey is still stored")
		}
		d := f.lastEvent(t, "passkey.lost")
		if d["passkey"] != "phone" || d["name"] != "Key phone" || len(d["sessions_ended"].([]any)) != 2 {
			t.Fatalf("passkey.lost details %v", d)
		}

		// The last passkey stays, and nothing else changes.
		if _, err := f.svc.LostDevice(ctx, ann, "laptop", audit.Event{}); !errors.Is(err, passkey.ErrLastPasskey) {
			t.Fatalf("losing the last passkey: %v, want ErrLastPasskey", err)
		}
		if _, err := f.sessions.Get(ctx, laptop.ID); err != nil {
			t.Fatalf("a refused loss ended the session: %v", err)
		}
		if _, err := f.svc.LostDevice(ctx, ann, "nope", audit.Event{}); !errors.Is(err, passkey.ErrNotFound) {
			t.Fatalf("an unknown passkey: %v", err)
		}
	})
}
