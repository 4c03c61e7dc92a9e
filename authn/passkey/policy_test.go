package passkey

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestPolicyUserVerification(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		ps := e.withPolicies()
		relaxedPolicy := policy.Default()
		relaxedPolicy.RequireUV = false
		relaxed := e.org(ps, "relaxed", relaxedPolicy)
		rita, alice := e.userIn(relaxed, "rita"), e.user("alice")

		if uv, att := e.creationOptions(rita); uv != "preferred" || att != "none" {
			t.Fatalf("relaxed org registration asks UV %q, attestation %q", uv, att)
		}
		if uv, att := e.creationOptions(alice); uv != "required" || att != "none" {
			t.Fatalf("default org registration asks UV %q, attestation %q", uv, att)
		}

		// Registration without UV: accepted where it is not required, refused where it is.
		ritaKey := unverified(false)
		c, err := e.tryRegister(rita, ritaKey)
		if err != nil {
			t.Fatalf("relaxed org: %v (%s)", err, Detail(err))
		}
		if c.UserVerified || e.get(rita.ID, c.ID).UserVerified {
			t.Fatalf("unverified registration recorded as verified: %+v", c)
		}
		_, err = e.tryRegister(alice, unverified(false))
		wantRefusal(t, err, ErrUserVerification)
		if e.count(alice.ID) != 0 {
			t.Fatal("a refused registration stored a passkey")
		}

		// Sign-in without UV, both ways, in the relaxed org: single-factor.
		if uv := e.loginUV(rita); uv != "preferred" {
			t.Fatalf("relaxed org sign-in asks UV %q", uv)
		}
		if uv := e.discoverableUV(relaxed); uv != "preferred" {
			t.Fatalf("relaxed org discoverable sign-in asks UV %q", uv)
		}
		u, used, err := e.login(rita, ritaKey)
		if err != nil || u.ID != rita.ID || used.UserVerified {
			t.Fatalf("relaxed sign-in without UV: %v (%s) %+v", err, Detail(err), used)
		}
		if got := used.AMR(); !reflect.DeepEqual(got, []string{"hwk", "user"}) {
			t.Fatalf("AMR without UV %v", got)
		}
		if _, _, err := e.discoverableIn(relaxed, ritaKey); err != nil {
			t.Fatalf("relaxed discoverable sign-in without UV: %v (%s)", err, Detail(err))
		}
		// With UV, the same passkey gives mfa, and the record remembers it verified once.
		ritaKey.auth.Options.UserNotVerified = false
		if _, used, err := e.login(rita, ritaKey); err != nil || !used.UserVerified ||
			!reflect.DeepEqual(used.AMR(), []string{"hwk", "user", "mfa"}) {
			t.Fatalf("verified sign-in: %v (%s) %+v", err, Detail(err), used)
		}
		ritaKey.auth.Options.UserNotVerified = true
		if _, _, err := e.login(rita, ritaKey); err != nil || !e.get(rita.ID, c.ID).UserVerified {
			t.Fatalf("uvInitialized went back to false, or sign-in failed: %v", err)
		}

		// The default org requires UV at sign-in.
		aliceKey := newDevice(false)
		e.register(alice, aliceKey)
		if uv := e.loginUV(alice); uv != "required" {
			t.Fatalf("default org sign-in asks UV %q", uv)
		}
		noUV := *aliceKey
		noUV.auth.Options.UserNotVerified = true
		before := e.state(alice)
		_, _, err = e.login(alice, &noUV)
		wantRefusal(t, err, ErrUserVerification)
		// A ceremony begun on the relaxed org's page asks only "preferred", but alice's own
		// organisation decides.
		_, _, err = e.discoverableIn(relaxed, &noUV)
		wantRefusal(t, err, ErrUserVerification)
		if after := e.state(alice); !reflect.DeepEqual(before, after) {
			t.Fatalf("refused sign-ins changed passkeys: %v -> %v", before, after)
		}
		if _, _, err := e.discoverableIn(relaxed, aliceKey); err != nil {
			t.Fatalf("alice with UV on another org's page: %v (%s)", err, Detail(err))
		}

		// Tightened: rita's passkey needs UV from now on.
		ps.set(relaxed, policy.Default())
		if uv := e.loginUV(rita); uv != "required" {
			t.Fatalf("tightened org sign-in asks UV %q", uv)
		}
		_, _, err = e.login(rita, ritaKey)
		wantRefusal(t, err, ErrUserVerification)
		ritaKey.auth.Options.UserNotVerified = false
		if _, _, err := e.login(rita, ritaKey); err != nil {
			t.Fatalf("tightened org, with UV: %v (%s)", err, Detail(err))
		}

		// An unknown organisation's options ask for UV, like any organisation's.
		if uv := e.discoverableUV("no-such-org"); uv != "required" {
			t.Fatalf("unknown org asks UV %q", uv)
		}
		options, _, err := e.svc.BeginLogin(ctx, "no-such-org", "rita")
		if err != nil || parseRequest(t, options).UserVerification != "required" {
			t.Fatalf("unknown org username-first: %v %s", err, options)
		}
	})
}

func TestPolicyDeviceBoundOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		ps := e.withPolicies()
		strict := policy.Default()
		strict.AllowSynced = false
		strictOrg := e.org(ps, "strict", strict)
		sam := e.userIn(strictOrg, "sam")

		_, err := e.tryRegister(sam, newDevice(true))
		wantPolicyRefusal(t, err, policy.RuleSynced)
		if !strings.Contains(err.Error(), "security key") {
			t.Fatalf("the message does not say what to use instead: %q", err)
		}
		if e.count(sam.ID) != 0 {
			t.Fatal("a refused synced passkey was stored")
		}
		if _, err := e.tryRegister(sam, newDevice(false)); err != nil {
			t.Fatalf("device-bound passkey: %v (%s)", err, Detail(err))
		}

		// Tightened after registration: a synced passkey that was accepted is refused at sign-in
		// (both ways), and nothing about it changes; loosened again, it works.
		loose := e.org(ps, "loose", policy.Default())
		lou := e.userIn(loose, "lou")
		phone := newDevice(true)
		c := e.register(lou, phone)
		if _, _, err := e.login(lou, phone); err != nil {
			t.Fatal(err, Detail(err))
		}
		ps.set(loose, strict)
		e.advance(time2s)
		before := e.get(lou.ID, c.ID)
		_, _, err = e.login(lou, phone)
		wantPolicyRefusal(t, err, policy.RuleSynced)
		_, _, err = e.discoverableIn(loose, phone)
		wantPolicyRefusal(t, err, policy.RuleSynced)
		if after := e.get(lou.ID, c.ID); !reflect.DeepEqual(before, after) {
			t.Fatalf("a refused sign-in changed the passkey: %+v -> %+v", before, after)
		}
		ps.set(loose, policy.Default())
		if _, _, err := e.login(lou, phone); err != nil {
			t.Fatal(err, Detail(err))
		}
	})
}

func TestPolicyAllowList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		ps := e.withPolicies()
		key := newDevice(false)
		listed := policy.Default()
		listed.AllowSynced = false
		listed.AllowedAAGUIDs = []string{formatAAGUID(key.auth.Aaguid[:])}
		org := e.org(ps, "keys", listed)
		kim := e.userIn(org, "kim")

		if uv, att := e.creationOptions(kim); uv != "required" || att != "direct" {
			t.Fatalf("allow-list registration asks UV %q, attestation %q", uv, att)
		}
		// The software authenticator sends self attestation, which proves no model: refused even
		// though its AAGUID is on the list.
		_, err := e.tryRegister(kim, key)
		wantPolicyRefusal(t, err, policy.RuleAttestation)
		if e.count(kim.ID) != 0 {
			t.Fatal("a refused passkey was stored")
		}

		// Basic attestation with a certificate for the listed model is accepted; for another
		// model, refused. (The certificate is the test's own: go-webauthn checks the chain against
		// trust anchors only with a metadata provider, which this Service does not configure.)
		c := e.registerAttested(kim, key)
		if c.AttestationType != "basic_full" || c.AAGUID != listed.AllowedAAGUIDs[0] {
			t.Fatalf("attested passkey %+v", c)
		}
		other := newDevice(false)
		_, err = e.tryRegisterAttested(kim, other)
		wantPolicyRefusal(t, err, policy.RuleModel)
		if e.count(kim.ID) != 1 {
			t.Fatal("a refused passkey was stored")
		}
		if _, _, err := e.login(kim, key); err != nil {
			t.Fatal(err, Detail(err))
		}

		// A device-bound passkey registered before the list existed is refused at sign-in once
		// it does, and its counter is not moved.
		open := e.org(ps, "open", policy.Default())
		olga := e.userIn(open, "olga")
		olgaKey := newDevice(false)
		oc := e.register(olga, olgaKey)
		if _, used, err := e.login(olga, olgaKey); err != nil || used.SignCount != 2 {
			t.Fatal(err, Detail(err))
		}
		withList := policy.Default()
		withList.AllowedAAGUIDs = []string{formatAAGUID(olgaKey.auth.Aaguid[:])}
		ps.set(open, withList)
		e.advance(time2s)
		before := e.get(olga.ID, oc.ID)
		_, _, err = e.login(olga, olgaKey)
		wantPolicyRefusal(t, err, policy.RuleAttestation)
		if after := e.get(olga.ID, oc.ID); after.SignCount != 2 || !reflect.DeepEqual(before, after) {
			t.Fatalf("a refused sign-in changed the passkey: %+v -> %+v", before, after)
		}
	})
}

func TestPolicyPasswordRetired(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		ps := e.withPolicies()
		mandatory := policy.Default()
		mandatory.Mode, mandatory.AllowSynced = policy.Mandatory, false
		optional := policy.Default()
		optional.Mode = policy.Optional
		mOrg, oOrg := e.org(ps, "mandatory", mandatory), e.org(ps, "optional", optional)

		withPassword := func(orgID, name string) directory.User {
			u := e.userIn(orgID, name)
			if err := e.dir.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"); err != nil {
				t.Fatal(err)
			}
			u, err := e.dir.GetUser(ctx, u.ID)
			if err != nil || !u.HasPassword {
				t.Fatalf("password not set: %+v %v", u, err)
			}
			return u
		}
		hasPassword := func(u directory.User) bool {
			h, err := e.dir.PasswordHash(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return h != ""
		}

		// Mandatory: a refused passkey leaves the password; the first accepted one deletes it.
		mia := withPassword(mOrg, "mia")
		_, err := e.tryRegister(mia, newDevice(true))
		wantPolicyRefusal(t, err, policy.RuleSynced)
		if !hasPassword(mia) {
			t.Fatal("a refused passkey deleted the password")
		}
		c := e.register(mia, newDevice(false))
		if !c.PasswordRetired || hasPassword(mia) {
			t.Fatalf("first passkey under Mandatory: retired %v, password still there %v", c.PasswordRetired, hasPassword(mia))
		}
		if c2 := e.register(mia, newDevice(false)); c2.PasswordRetired {
			t.Fatal("a second passkey reported a password it did not delete")
		}
		// The caller's copy of the user is stale (HasPassword false) but the password is read afresh.
		stale := e.userIn(mOrg, "max")
		if err := e.dir.SetPasswordHash(ctx, stale.ID, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
		if c := e.register(stale, newDevice(false)); !c.PasswordRetired || hasPassword(stale) {
			t.Fatalf("stale user: retired %v, password still there %v", c.PasswordRetired, hasPassword(stale))
		}

		// Optional, and no Policies at all (Off): the password stays as a fallback.
		otto := withPassword(oOrg, "otto")
		if c := e.register(otto, newDevice(false)); c.PasswordRetired || !hasPassword(otto) {
			t.Fatalf("optional org: retired %v, password kept %v", c.PasswordRetired, hasPassword(otto))
		}
		e.svc.cfg.Policies = nil
		sys := withPassword(directory.SystemOrgID, "sys")
		if c := e.register(sys, newDevice(false)); c.PasswordRetired || !hasPassword(sys) {
			t.Fatalf("no policies: retired %v, password kept %v", c.PasswordRetired, hasPassword(sys))
		}
	})
}

func TestPolicyRefusalHelper(t *testing.T) {
	if _, ok := PolicyRefusal(ErrNotRecognised); ok {
		t.Fatal("a non-policy error is a policy refusal")
	}
	if _, ok := PolicyRefusal(nil); ok {
		t.Fatal("nil is a policy refusal")
	}
	err := checkPolicy(policy.Default(), Credential{ID: "pk1", AttestationType: "none"}, false, "org1", "sign-in")
	if !errors.Is(err, ErrPolicy) || errors.Is(err, ErrUserVerification) {
		t.Fatalf("%v", err)
	}
	if r, ok := PolicyRefusal(fmt.Errorf("login: %w", err)); !ok || r.Rule != policy.RuleUserVerification {
		t.Fatalf("wrapped refusal not found: %v %v", r, ok)
	}
	if d := Detail(err); !strings.Contains(d, "pk1") || !strings.Contains(d, "org1") || !strings.Contains(d, "rule user_verification") {
		t.Fatalf("detail %q", d)
	}
}
