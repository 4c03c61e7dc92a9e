package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func TestRegisterAndSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		dev := newDevice(false)

		c := e.register(alice, dev)
		if c.UserID != alice.ID || c.ID == "" || !bytes.Equal(c.CredentialID, dev.cred.ID) || len(c.PublicKey) == 0 {
			t.Fatalf("stored passkey %+v", c)
		}
		if c.Synced() || c.Provider != ProviderDeviceBound || c.Name != ProviderDeviceBound || c.AddedVia != AddedViaAccount {
			t.Fatalf("labels: synced %v provider %q name %q via %q", c.Synced(), c.Provider, c.Name, c.AddedVia)
		}
		if !c.UserVerified || c.SignCount != 1 || c.Flagged || c.LastUsedAt != nil || c.AAGUID != formatAAGUID(dev.auth.Aaguid[:]) {
			t.Fatalf("flags/counter/aaguid: %+v", c)
		}
		if !reflect.DeepEqual(c.Transports, []string{"hybrid", "internal"}) {
			t.Fatalf("transports %v", c.Transports)
		}
		if stored := e.get(alice.ID, c.ID); !reflect.DeepEqual(stored.Transports, c.Transports) ||
			stored.AAGUID != c.AAGUID || !bytes.Equal(stored.PublicKey, c.PublicKey) || stored.Name != c.Name {
			t.Fatalf("round trip: stored %+v, returned %+v", stored, c)
		}

		// Username-first.
		u, used, err := e.login(alice, dev)
		if err != nil {
			t.Fatalf("login: %v (%s)", err, Detail(err))
		}
		if u.ID != alice.ID || used.ID != c.ID || used.SignCount != 2 || used.LastUsedAt == nil {
			t.Fatalf("signed in as %s with %+v", u.ID, used)
		}
		if got := used.AMR(); !reflect.DeepEqual(got, []string{"hwk", "user", "mfa"}) {
			t.Fatalf("AMR %v", got)
		}
		if stored := e.get(alice.ID, c.ID); stored.SignCount != 2 || stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(e.now()) {
			t.Fatalf("use not recorded: %+v", stored)
		}

		// Discoverable: the authenticator returns the user handle it was given at registration.
		handle, err := e.dir.WebAuthnHandle(ctx, alice.ID)
		if err != nil || !bytes.Equal(dev.auth.Options.UserHandle, handle) {
			t.Fatalf("user handle %x, authenticator has %x (%v)", handle, dev.auth.Options.UserHandle, err)
		}
		u, used, err = e.discoverable(dev)
		if err != nil {
			t.Fatalf("discoverable: %v (%s)", err, Detail(err))
		}
		if u.ID != alice.ID || used.SignCount != 3 {
			t.Fatalf("discoverable signed in as %s, count %d", u.ID, used.SignCount)
		}

		// A second, synced passkey: counters are 0 and ignored.
		phone := newDevice(true)
		p := e.register(alice, phone)
		if !p.Synced() || p.Provider != ProviderSynced || p.SignCount != 0 || !p.BackupState {
			t.Fatalf("synced passkey %+v", p)
		}
		for range 3 {
			if _, used, err := e.login(alice, phone); err != nil || used.ID != p.ID || used.SignCount != 0 {
				t.Fatalf("synced login: %v (%s) %+v", err, Detail(err), used)
			}
		}
		if got := p.AMR(); !reflect.DeepEqual(got, []string{"swk", "user", "mfa"}) {
			t.Fatalf("AMR %v", got)
		}
		// An RSA (RS256) passkey, as Windows Hello makes on some TPMs.
		hello := newDevice(false)
		hello.cred = virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeRSA)
		r := e.register(alice, hello)
		if _, used, err := e.login(alice, hello); err != nil || used.ID != r.ID {
			t.Fatalf("RSA login: %v (%s)", err, Detail(err))
		}

		if n := e.count(alice.ID); n != 3 {
			t.Fatalf("count %d", n)
		}
		list, err := e.svc.List(ctx, alice.ID)
		if err != nil || len(list) != 3 {
			t.Fatalf("list: %v %v", list, err)
		}
	})
}

func TestRegistrationOptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		first := e.register(alice, newDevice(false))

		options, token, err := e.svc.BeginRegistration(ctx, alice)
		if err != nil || token == "" {
			t.Fatal(err)
		}
		var o struct {
			RP   struct{ ID, Name string }
			User struct {
				ID, Name, DisplayName string
			}
			Challenge        string
			PubKeyCredParams []struct {
				Type string
				Alg  int
			}
			Timeout            int
			ExcludeCredentials []struct {
				Type, ID   string
				Transports []string
			}
			AuthenticatorSelection map[string]any
			Attestation            string
			Hints                  []string
		}
		if err := json.Unmarshal(options, &o); err != nil {
			t.Fatal(err)
		}
		t.Logf("creation options: %s", options)
		handle, _ := e.dir.WebAuthnHandle(ctx, alice.ID)
		if o.RP.ID != testRPID || o.RP.Name != "Portcullis" || o.User.ID != base64.RawURLEncoding.EncodeToString(handle) ||
			len(handle) != 32 || o.User.Name != "alice" || o.User.DisplayName != "User alice" || o.Timeout != 300000 {
			t.Fatalf("rp/user/timeout: %+v", o)
		}
		if c, err := base64.RawURLEncoding.DecodeString(o.Challenge); err != nil || len(c) < 16 {
			t.Fatalf("challenge %q", o.Challenge)
		}
		var algs []int
		for _, p := range o.PubKeyCredParams {
			algs = append(algs, p.Alg)
		}
		if !reflect.DeepEqual(algs, []int{-7, -8, -257}) {
			t.Fatalf("algorithms %v", algs)
		}
		want := map[string]any{"residentKey": "required", "requireResidentKey": true, "userVerification": "required"}
		if !reflect.DeepEqual(o.AuthenticatorSelection, want) || o.Attestation != "none" || o.Hints != nil {
			t.Fatalf("selection %v attestation %q hints %v", o.AuthenticatorSelection, o.Attestation, o.Hints)
		}
		if len(o.ExcludeCredentials) != 1 || o.ExcludeCredentials[0].ID != encodeID(first.CredentialID) ||
			!reflect.DeepEqual(o.ExcludeCredentials[0].Transports, []string{"hybrid", "internal"}) {
			t.Fatalf("excludeCredentials %+v", o.ExcludeCredentials)
		}
	})
}

func TestProviderNames(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		dev := newDevice(true)
		copy(dev.auth.Aaguid[:], parseAAGUID("fbfc3007-154e-4ecc-8c0b-6e020557d7bd"))
		c := e.register(alice, dev)
		if c.AAGUID != "fbfc3007-154e-4ecc-8c0b-6e020557d7bd" || c.Provider != "iCloud Keychain" || c.Name != "iCloud Keychain" {
			t.Fatalf("provider %q name %q aaguid %q", c.Provider, c.Name, c.AAGUID)
		}

		// An all-zero AAGUID is "" and the provider comes from the backup flags; a name is kept.
		key := newDevice(false)
		key.auth.Aaguid = [16]byte{}
		options, token, err := e.svc.BeginRegistration(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		c, err = e.svc.FinishRegistration(ctx, token, alice, key.attest(t, options), "  Desk key ", AddedViaSecondDevice)
		if err != nil {
			t.Fatal(err, Detail(err))
		}
		if c.AAGUID != "" || c.Provider != ProviderDeviceBound || c.Name != "Desk key" || c.AddedVia != AddedViaSecondDevice {
			t.Fatalf("%+v", c)
		}
	})
	for aaguid, want := range map[string]string{
		"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
		"6028B017-B1D4-4C02-B4B3-AFCDAFC96BB2": "Windows Hello",
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
		"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
		"":                                     ProviderSynced,
	} {
		if got := ProviderName(aaguid, true); got != want {
			t.Errorf("ProviderName(%q) = %q, want %q", aaguid, got, want)
		}
	}
	if got := formatAAGUID(make([]byte, 16)); got != "" {
		t.Errorf("zero AAGUID formatted as %q", got)
	}
}

func TestWebAuthnHandle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice, bob := e.user("alice"), e.user("bob")

		// Concurrent first uses agree on one handle.
		handles := make(chan []byte, 8)
		for range 8 {
			go func() {
				h, err := e.dir.WebAuthnHandle(ctx, alice.ID)
				if err != nil {
					t.Error(err)
				}
				handles <- h
			}()
		}
		first := <-handles
		for range 7 {
			if h := <-handles; !bytes.Equal(h, first) {
				t.Fatalf("handles differ: %x %x", h, first)
			}
		}
		if len(first) != 32 {
			t.Fatalf("handle length %d", len(first))
		}
		again, _ := e.dir.WebAuthnHandle(ctx, alice.ID)
		other, _ := e.dir.WebAuthnHandle(ctx, bob.ID)
		if !bytes.Equal(again, first) || bytes.Equal(other, first) {
			t.Fatal("handle not stable or not distinct")
		}
		u, err := e.dir.GetUserByWebAuthnHandle(ctx, first)
		if err != nil || u.ID != alice.ID || u.Username != "alice" {
			t.Fatalf("by handle: %+v %v", u, err)
		}
		// A user read after the handle exists carries it (FinishLogin uses it rather than
		// reading it again); before, it has none.
		if !bytes.Equal(u.WebAuthnHandle, first) {
			t.Fatalf("user read by handle carries %x, want %x", u.WebAuthnHandle, first)
		}
		if u, err := e.dir.GetUser(ctx, alice.ID); err != nil || !bytes.Equal(u.WebAuthnHandle, first) {
			t.Fatalf("user read by id carries %x (%v), want %x", u.WebAuthnHandle, err, first)
		}
		if carol := e.user("carol"); carol.WebAuthnHandle != nil {
			t.Fatalf("a new user has handle %x", carol.WebAuthnHandle)
		}
		if u, err := e.dir.GetUser(ctx, e.user("dave").ID); err != nil || u.WebAuthnHandle != nil {
			t.Fatalf("a user without a handle read back with %x (%v)", u.WebAuthnHandle, err)
		}
		for _, h := range [][]byte{nil, make([]byte, 32), bytes.Repeat([]byte{1}, 65)} {
			if _, err := e.dir.GetUserByWebAuthnHandle(ctx, h); !directory.IsNotFound(err) {
				t.Fatalf("handle %x: %v", h, err)
			}
		}
		if _, err := e.dir.WebAuthnHandle(ctx, "nobody"); !directory.IsNotFound(err) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}
