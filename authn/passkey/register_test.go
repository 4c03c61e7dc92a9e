package passkey

import (
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestRegistrationRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice, bob := e.user("alice"), e.user("bob")

		// finish begins a registration for begin, then finishes it as finish with dev's answer.
		finish := func(begin, finish directory.User, dev *device, between func()) error {
			options, token, err := e.svc.BeginRegistration(ctx, begin)
			if err != nil {
				t.Fatal(err)
			}
			if between != nil {
				between()
			}
			_, err = e.svc.FinishRegistration(ctx, token, finish, dev.attest(t, options), "", AddedViaAccount)
			return err
		}
		with := func(change func(d *device)) *device {
			d := newDevice(false)
			change(d)
			return d
		}
		cases := []struct {
			name string
			want error
			run  func() error
		}{
			{"wrong origin", ErrWrongSite, func() error {
				return finish(alice, alice, with(func(d *device) { d.rp.Origin = "https://login.example.com.evil.test" }), nil)
			}},
			{"wrong RP ID", ErrWrongSite, func() error {
				return finish(alice, alice, with(func(d *device) { d.rp.ID = "evil.test" }), nil)
			}},
			{"user verification missing", ErrUserVerification, func() error {
				return finish(alice, alice, with(func(d *device) { d.auth.Options.UserNotVerified = true }), nil)
			}},
			{"user presence missing", ErrInvalidResponse, func() error {
				return finish(alice, alice, with(func(d *device) { d.auth.Options.UserNotPresent = true }), nil)
			}},
			{"ceremony begun for another user", ErrCeremonyExpired, func() error {
				return finish(bob, alice, newDevice(false), nil)
			}},
			{"expired ceremony", ErrCeremonyExpired, func() error {
				return finish(alice, alice, newDevice(false), func() { e.advance(DefaultTimeout + time2s) })
			}},
			{"unreadable response", ErrInvalidResponse, func() error {
				_, token, _ := e.svc.BeginRegistration(ctx, alice)
				_, err := e.svc.FinishRegistration(ctx, token, alice, []byte(`{"id":"AAAA","type":"public-key"}`), "", AddedViaAccount)
				return err
			}},
			{"sign-in ceremony", ErrCeremonyExpired, func() error {
				options, token, _ := e.svc.BeginDiscoverableLogin(ctx, directory.SystemOrgID)
				_ = options
				reg, _, _ := e.svc.BeginRegistration(ctx, alice)
				_, err := e.svc.FinishRegistration(ctx, token, alice, newDevice(false).attest(t, reg), "", AddedViaAccount)
				return err
			}},
			{"answer to another ceremony's challenge", ErrCeremonyExpired, func() error {
				first, _, _ := e.svc.BeginRegistration(ctx, alice)
				_, token, _ := e.svc.BeginRegistration(ctx, alice)
				_, err := e.svc.FinishRegistration(ctx, token, alice, newDevice(false).attest(t, first), "", AddedViaAccount)
				return err
			}},
			{"no ceremony", ErrCeremonyExpired, func() error {
				_, err := e.svc.FinishRegistration(ctx, "", alice, []byte(`{}`), "", AddedViaAccount)
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantRefusal(t, tc.run(), tc.want)
				if e.count(alice.ID)+e.count(bob.ID) != 0 {
					t.Fatal("a refused registration stored a passkey")
				}
			})
		}

		// Replay: the ceremony is used up by the first finish.
		dev := newDevice(false)
		options, token, _ := e.svc.BeginRegistration(ctx, alice)
		resp := dev.attest(t, options)
		if _, err := e.svc.FinishRegistration(ctx, token, alice, resp, "", AddedViaAccount); err != nil {
			t.Fatal(err, Detail(err))
		}
		_, err := e.svc.FinishRegistration(ctx, token, alice, resp, "", AddedViaAccount)
		wantRefusal(t, err, ErrCeremonyExpired)

		// The same authenticator credential cannot be registered twice, even to another user
		// (the exclude list stops honest authenticators first).
		options, token, _ = e.svc.BeginRegistration(ctx, bob)
		_, err = e.svc.FinishRegistration(ctx, token, bob, dev.attest(t, options), "", AddedViaAccount)
		wantRefusal(t, err, ErrAlreadyRegistered)
		if e.count(alice.ID) != 1 || e.count(bob.ID) != 0 {
			t.Fatal("counts changed")
		}

		// A used-up ceremony is gone even when the finish failed.
		options, token, _ = e.svc.BeginRegistration(ctx, alice)
		bad := with(func(d *device) { d.auth.Options.UserNotVerified = true })
		_, err = e.svc.FinishRegistration(ctx, token, alice, bad.attest(t, options), "", AddedViaAccount)
		wantRefusal(t, err, ErrUserVerification)
		_, err = e.svc.FinishRegistration(ctx, token, alice, newDevice(false).attest(t, options), "", AddedViaAccount)
		wantRefusal(t, err, ErrCeremonyExpired)
	})
}
