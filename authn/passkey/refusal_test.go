package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// state is everything a refused sign-in must leave alone.
type state map[string][3]any

func (e *env) state(users ...directory.User) state {
	s := state{}
	for _, u := range users {
		cs, err := e.svc.List(ctx, u.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range cs {
			s[c.ID] = [3]any{c.SignCount, c.LastUsedAt, c.Flagged}
		}
	}
	return s
}

func TestSignInRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice, bob := e.user("alice"), e.user("bob")
		aliceKey, bobKey := newDevice(false), newDevice(false)
		e.register(alice, aliceKey)
		e.register(bob, bobKey)
		aliceHandle, _ := e.dir.WebAuthnHandle(ctx, alice.ID)

		// variant is a copy of a device (same passkey) with something changed.
		variant := func(d *device, change func(v *device)) *device {
			v := *d
			v.auth.Options.UserHandle = bytes.Clone(d.auth.Options.UserHandle)
			change(&v)
			return &v
		}
		login := func(u directory.User, d *device) func() error {
			return func() error { _, _, err := e.login(u, d); return err }
		}
		discoverable := func(d *device) func() error {
			return func() error { _, _, err := e.discoverable(d); return err }
		}
		cases := []struct {
			name string
			want error
			run  func() error
		}{
			{"wrong origin", ErrWrongSite, login(alice, variant(aliceKey, func(v *device) { v.rp.Origin = "https://evil.test" }))},
			{"wrong origin, discoverable", ErrWrongSite, discoverable(variant(aliceKey, func(v *device) { v.rp.Origin = "http://login.example.com" }))},
			{"wrong RP ID", ErrWrongSite, login(alice, variant(aliceKey, func(v *device) { v.rp.ID = "example.com" }))},
			{"user verification missing", ErrUserVerification, login(alice, variant(aliceKey, func(v *device) { v.auth.Options.UserNotVerified = true }))},
			{"user verification missing, discoverable", ErrUserVerification, discoverable(variant(aliceKey, func(v *device) { v.auth.Options.UserNotVerified = true }))},
			{"user presence missing", ErrInvalidResponse, login(alice, variant(aliceKey, func(v *device) { v.auth.Options.UserNotPresent = true }))},
			{"unknown credential", ErrNotRecognised, login(alice, newDevice(false))},
			{"unknown credential, discoverable, known handle", ErrNotRecognised, discoverable(variant(newDevice(false), func(v *device) { v.auth.Options.UserHandle = aliceHandle }))},
			{"unknown handle, discoverable", ErrNotRecognised, discoverable(variant(newDevice(false), func(v *device) { v.auth.Options.UserHandle = []byte("nobody's handle") }))},
			{"no handle, discoverable", ErrNotRecognised, discoverable(variant(aliceKey, func(v *device) { v.auth.Options.UserHandle = nil }))},
			{"another user's passkey", ErrNotRecognised, login(alice, bobKey)},
			{"another user's passkey claiming this user's handle", ErrNotRecognised, login(alice, variant(bobKey, func(v *device) { v.auth.Options.UserHandle = aliceHandle }))},
			{"another user's passkey claiming this user's handle, discoverable", ErrNotRecognised, discoverable(variant(bobKey, func(v *device) { v.auth.Options.UserHandle = aliceHandle }))},
			{"this user's passkey claiming another's handle", ErrNotRecognised, login(alice, variant(aliceKey, func(v *device) { v.auth.Options.UserHandle = []byte("someone else") }))},
			{"expired ceremony", ErrCeremonyExpired, func() error {
				options, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				e.advance(DefaultTimeout)
				_, _, err := e.svc.FinishLogin(ctx, token, aliceKey.assert(t, options))
				return err
			}},
			{"registration ceremony", ErrCeremonyExpired, func() error {
				_, token, _ := e.svc.BeginRegistration(ctx, alice)
				options, _, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				_, _, err := e.svc.FinishLogin(ctx, token, aliceKey.assert(t, options))
				return err
			}},
			{"answer to another ceremony's challenge", ErrCeremonyExpired, func() error {
				first, _, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				_, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				_, _, err := e.svc.FinishLogin(ctx, token, aliceKey.assert(t, first))
				return err
			}},
			{"bad signature", ErrInvalidResponse, func() error {
				options, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				resp := tamper(t, aliceKey.assert(t, options), "signature")
				_, _, err := e.svc.FinishLogin(ctx, token, resp)
				return err
			}},
			{"unreadable response", ErrInvalidResponse, func() error {
				_, token, _ := e.svc.BeginDiscoverableLogin(ctx, directory.SystemOrgID)
				_, _, err := e.svc.FinishLogin(ctx, token, []byte(`not json`))
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(alice, bob)
				wantRefusal(t, tc.run(), tc.want)
				if after := e.state(alice, bob); !reflect.DeepEqual(before, after) {
					t.Fatalf("a refused sign-in changed passkeys: %v -> %v", before, after)
				}
			})
		}

		// Replay: finishing twice with the same ceremony fails the second time, and changes nothing.
		options, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
		resp := aliceKey.assert(t, options)
		if _, _, err := e.svc.FinishLogin(ctx, token, resp); err != nil {
			t.Fatal(err, Detail(err))
		}
		before := e.state(alice, bob)
		e.advance(time2s)
		_, _, err := e.svc.FinishLogin(ctx, token, resp)
		wantRefusal(t, err, ErrCeremonyExpired)
		// Nor does the same assertion answer a fresh ceremony: its challenge is the old one.
		_, token, _ = e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
		_, _, err = e.svc.FinishLogin(ctx, token, resp)
		wantRefusal(t, err, ErrCeremonyExpired)
		if after := e.state(alice, bob); !reflect.DeepEqual(before, after) {
			t.Fatalf("a replay changed passkeys: %v -> %v", before, after)
		}

		// Everyone can still sign in after all that.
		if u, _, err := e.login(alice, aliceKey); err != nil || u.ID != alice.ID {
			t.Fatal(err, Detail(err))
		}
		if u, _, err := e.discoverable(bobKey); err != nil || u.ID != bob.ID {
			t.Fatal(err, Detail(err))
		}
	})
}

// tamper flips a bit in one member of the response.
func tamper(t *testing.T, resp []byte, member string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	b, err := base64.RawURLEncoding.DecodeString(r[member].(string))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	r[member] = base64.RawURLEncoding.EncodeToString(b)
	out, _ := json.Marshal(m)
	return out
}

func TestCounterRegression(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		key := newDevice(false)
		c := e.register(alice, key)
		e.register(alice, newDevice(true))
		if _, used, err := e.login(alice, key); err != nil || used.SignCount != 2 {
			t.Fatal(err, Detail(err))
		}

		// A clone made now, used after the original moved on, repeats a counter value.
		clone := *key
		if _, used, err := e.login(alice, key); err != nil || used.SignCount != 3 {
			t.Fatal(err, Detail(err))
		}
		before := e.get(alice.ID, c.ID)
		_, _, err := e.login(alice, &clone)
		wantRefusal(t, err, ErrCounterRegression)
		after := e.get(alice.ID, c.ID)
		if !after.Flagged || after.SignCount != 3 || !reflect.DeepEqual(after.LastUsedAt, before.LastUsedAt) {
			t.Fatalf("after regression: %+v", after)
		}
		// A flagged passkey no longer signs in, whatever its counter says.
		_, _, err = e.login(alice, key)
		wantRefusal(t, err, ErrCounterRegression)
		_, _, err = e.discoverable(key)
		wantRefusal(t, err, ErrCounterRegression)
		if got := e.get(alice.ID, c.ID); got.SignCount != 3 {
			t.Fatalf("count moved to %d", got.SignCount)
		}

		// A device-bound passkey whose counter drops to 0 has also gone backwards (§7.2 step 22).
		bob := e.user("bob")
		bk := newDevice(false)
		e.register(bob, bk)
		bk.cred.Counter = 0
		bk.counting = false
		_, _, err = e.login(bob, bk)
		wantRefusal(t, err, ErrCounterRegression)

		// An authenticator without a counter (always 0) is fine.
		carol := e.user("carol")
		ck := newDevice(false)
		ck.cred.Counter, ck.counting = 0, false
		e.register(carol, ck)
		for range 3 {
			if _, _, err := e.login(carol, ck); err != nil {
				t.Fatal(err, Detail(err))
			}
		}

		// Synced passkeys: counters are ignored, even odd ones.
		dave := e.user("dave")
		phone := newDevice(true)
		e.register(dave, phone)
		for _, n := range []uint32{7, 3, 3, 0} {
			phone.cred.Counter = n
			if _, used, err := e.login(dave, phone); err != nil || used.SignCount != n {
				t.Fatalf("synced counter %d: %v (%s)", n, err, Detail(err))
			}
		}
	})
}

func TestDisabledUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		key := newDevice(false)
		c := e.register(alice, key)

		// Begun while active, disabled before the finish.
		options, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
		if err := e.dir.SetStatus(ctx, alice.ID, directory.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		before := e.state(alice)
		_, _, err := e.svc.FinishLogin(ctx, token, key.assert(t, options))
		wantRefusal(t, err, ErrUserDisabled)

		// Username-first: a disabled user gets decoy options, and the same refusal as a stranger.
		options, token, _ = e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
		if bytes.Contains(options, []byte(encodeID(c.CredentialID))) {
			t.Fatal("a disabled user's passkeys are listed")
		}
		_, _, err = e.svc.FinishLogin(ctx, token, key.assert(t, options))
		wantRefusal(t, err, ErrNotRecognised)

		// Discoverable: the passkey is proven, so the user may learn the account is disabled.
		_, _, err = e.discoverable(key)
		wantRefusal(t, err, ErrUserDisabled)
		if after := e.state(alice); !reflect.DeepEqual(before, after) {
			t.Fatalf("refusals changed passkeys: %v -> %v", before, after)
		}

		if err := e.dir.SetStatus(ctx, alice.ID, directory.StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.login(alice, key); err != nil {
			t.Fatal(err, Detail(err))
		}
	})
}
