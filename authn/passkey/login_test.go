package passkey

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

type requestOptions struct {
	raw              map[string]any
	Challenge        string
	RPID             string `json:"rpId"`
	UserVerification string
	Timeout          int
	AllowCredentials []map[string]any
}

func parseRequest(t *testing.T, options []byte) requestOptions {
	t.Helper()
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(options, &o.raw)
	return o
}

func (o requestOptions) idLengths(t *testing.T) []int {
	var out []int
	for _, c := range o.AllowCredentials {
		b, err := base64.RawURLEncoding.DecodeString(c["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, len(b))
	}
	return out
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestLoginOptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		c := e.register(alice, newDevice(false))

		options, token, err := e.svc.BeginLogin(ctx, alice.OrgID, "alice")
		if err != nil || token == "" {
			t.Fatal(err)
		}
		t.Logf("request options: %s", options)
		o := parseRequest(t, options)
		if o.RPID != testRPID || o.UserVerification != "required" || o.Timeout != 300000 || len(o.AllowCredentials) != 1 ||
			o.AllowCredentials[0]["id"] != encodeID(c.CredentialID) || o.AllowCredentials[0]["type"] != "public-key" {
			t.Fatalf("options %s", options)
		}
		if ch, err := base64.RawURLEncoding.DecodeString(o.Challenge); err != nil || len(ch) < 16 {
			t.Fatalf("challenge %q", o.Challenge)
		}

		options, token, err = e.svc.BeginDiscoverableLogin(ctx, directory.SystemOrgID)
		if err != nil || token == "" {
			t.Fatal(err)
		}
		o = parseRequest(t, options)
		if _, ok := o.raw["allowCredentials"]; ok || o.UserVerification != "required" || o.RPID != testRPID {
			t.Fatalf("discoverable options %s", options)
		}
	})
}

// An unknown username, a disabled user or one without passkeys gets options that look like a
// real user's, the same on every request.
func TestUnknownUsernameLooksKnown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		aliceKey := newDevice(false)
		e.register(alice, aliceKey)
		e.user("carol") // no passkeys
		dave := e.user("dave")
		e.register(dave, newDevice(false))
		if err := e.dir.SetStatus(ctx, dave.ID, directory.StatusDisabled); err != nil {
			t.Fatal(err)
		}

		begin := func(org, username string) requestOptions {
			options, _, err := e.svc.BeginLogin(ctx, org, username)
			if err != nil {
				t.Fatal(err)
			}
			return parseRequest(t, options)
		}
		known := begin(directory.SystemOrgID, "alice")
		realLen := known.idLengths(t)[0]
		for _, who := range []struct{ org, name string }{
			{directory.SystemOrgID, "mallory"}, {directory.SystemOrgID, "carol"}, {directory.SystemOrgID, "dave"},
			{"another-org", "alice"},
		} {
			o := begin(who.org, who.name)
			if !reflect.DeepEqual(keys(o.raw), keys(known.raw)) {
				t.Fatalf("%s: keys %v, known user's %v", who.name, keys(o.raw), keys(known.raw))
			}
			if len(o.AllowCredentials) == 0 {
				t.Fatalf("%s: empty allowCredentials", who.name)
			}
			for _, c := range o.AllowCredentials {
				if !reflect.DeepEqual(keys(c), keys(known.AllowCredentials[0])) || c["type"] != "public-key" {
					t.Fatalf("%s: credential %v, known user's %v", who.name, c, known.AllowCredentials[0])
				}
			}
			again := begin(who.org, who.name)
			if !reflect.DeepEqual(again.AllowCredentials, o.AllowCredentials) || again.Challenge == o.Challenge {
				t.Fatalf("%s: not deterministic, or the challenge repeats", who.name)
			}
			if o.RPID != known.RPID || o.UserVerification != known.UserVerification || o.Timeout != known.Timeout {
				t.Fatalf("%s: %+v vs %+v", who.name, o, known)
			}
		}
		if reflect.DeepEqual(begin(directory.SystemOrgID, "mallory").AllowCredentials, begin(directory.SystemOrgID, "trudy").AllowCredentials) {
			t.Fatal("two unknown usernames get the same decoy")
		}

		// Over many names, decoys have one or two passkeys, with the id lengths real passkeys
		// have (including that of this test's authenticator) and nothing else.
		lengths, counts := map[int]bool{}, map[int]bool{}
		allowed := map[int]bool{}
		for _, p := range decoyProfiles {
			allowed[p.idLen] = true
		}
		for i := range 200 {
			o := begin(directory.SystemOrgID, fmt.Sprintf("nobody%d", i))
			counts[len(o.AllowCredentials)] = true
			for _, n := range o.idLengths(t) {
				lengths[n] = true
				if !allowed[n] {
					t.Fatalf("decoy id length %d", n)
				}
			}
		}
		if !lengths[realLen] || !counts[1] || !counts[2] || len(counts) != 2 {
			t.Fatalf("decoy lengths %v (real %d), counts %v", lengths, realLen, counts)
		}

		// A decoy ceremony fails like a passkey that is not registered.
		options, token, _ := e.svc.BeginLogin(ctx, directory.SystemOrgID, "mallory")
		_, _, err := e.svc.FinishLogin(ctx, token, aliceKey.assert(t, options))
		wantRefusal(t, err, ErrNotRecognised)
	})
}

// Only one of several concurrent finishes of a ceremony succeeds.
func TestCeremonyIsSingleUse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		key := newDevice(false)
		e.register(alice, key)
		options, token, _ := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
		resp := key.assert(t, options)
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() { _, _, err := e.svc.FinishLogin(ctx, token, resp); errs <- err }()
		}
		ok := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				ok++
			case !errors.Is(err, ErrCeremonyExpired):
				t.Fatalf("unexpected: %v (%s)", err, Detail(err))
			}
		}
		if ok != 1 {
			t.Fatalf("%d finishes succeeded", ok)
		}
	})
}

// A ceremony begun by one server process finishes on another: nothing is kept in memory.
func TestCeremonyAcrossProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		alice := e.user("alice")
		key := newDevice(false)

		hasher := secret.FromBytes([]byte("passkey test secret, 32 bytes or more")).Hasher("passkey")
		other, err := New(Config{RPID: testRPID, RPDisplayName: "Portcullis", Origins: []string{testOrigin}}, db, hasher, directory.NewStore(db))
		if err != nil {
			t.Fatal(err)
		}
		options, token, _ := e.svc.BeginRegistration(ctx, alice)
		if _, err := other.FinishRegistration(ctx, token, alice, key.attest(t, options), "", AddedViaSetup); err != nil {
			t.Fatal(err, Detail(err))
		}
		options, token, _ = other.BeginDiscoverableLogin(ctx, directory.SystemOrgID)
		if u, _, err := e.svc.FinishLogin(ctx, token, key.assert(t, options)); err != nil || u.ID != alice.ID {
			t.Fatal(err, Detail(err))
		}
	})
}

func TestNew(t *testing.T) {
	db := testdb.SQLite(t)
	h := secret.FromBytes([]byte("passkey test secret, 32 bytes or more")).Hasher("passkey")
	dir := directory.NewStore(db)
	for _, cfg := range []Config{
		{Origins: []string{testOrigin}},
		{RPID: testRPID},
		{RPID: "https://login.example.com", Origins: []string{testOrigin}},
		{RPID: testRPID, Origins: []string{testOrigin}, Timeout: -1},
		{RPID: testRPID, Origins: []string{"https://example.com"}},
		{RPID: testRPID, Origins: []string{"https://evil-login.example.com"}},
		{RPID: testRPID, Origins: []string{"http://login.example.com"}},
		{RPID: testRPID, Origins: []string{"https://login.example.com/path"}},
		{RPID: testRPID, Origins: []string{"login.example.com"}},
	} {
		if _, err := New(cfg, db, h, dir); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	s, err := New(Config{RPID: testRPID, Origins: []string{testOrigin}}, db, h, dir)
	if err != nil || s.cfg.Timeout != DefaultTimeout || s.cfg.RPDisplayName != testRPID {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, cfg := range []Config{
		{RPID: "example.com", Origins: []string{"https://example.com", "https://login.example.com:8443", "https://a.b.example.com/"}},
		{RPID: "localhost", Origins: []string{"http://localhost:8080", "https://localhost"}},
	} {
		if _, err := New(cfg, db, h, dir); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

// benchDBs are SQLite, and PostgreSQL when the test server runs (scripts/test.sh).
func benchDBs() map[string]func(testing.TB) *database.DB {
	dbs := map[string]func(testing.TB) *database.DB{"sqlite": func(tb testing.TB) *database.DB { return testdb.SQLite(tb) }}
	if os.Getenv(testdb.EnvPostgres) != "" {
		dbs["postgres"] = func(tb testing.TB) *database.DB { return testdb.Postgres(tb) }
	}
	return dbs
}

func BenchmarkFinishLogin(b *testing.B) {
	for name, open := range benchDBs() {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			alice := e.user("alice")
			key := newDevice(false)
			e.register(alice, key)
			for range 3 { // other passkeys of the user, as in real accounts
				e.register(alice, newDevice(true))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				options, token, err := e.svc.BeginLogin(ctx, alice.OrgID, alice.Username)
				if err != nil {
					b.Fatal(err)
				}
				resp := key.assert(b, options)
				b.StartTimer()
				if _, _, err := e.svc.FinishLogin(ctx, token, resp); err != nil {
					b.Fatal(err, Detail(err))
				}
			}
		})
	}
}

// BenchmarkBeginLogin compares a real account with an unknown username: their times should match.
func BenchmarkBeginLogin(b *testing.B) {
	for name, open := range benchDBs() {
		e := newEnv(b, open(b))
		alice := e.user("alice")
		e.register(alice, newDevice(false))
		for _, who := range []string{"alice", "mallory"} {
			b.Run(name+"/"+who, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, _, err := e.svc.BeginLogin(ctx, directory.SystemOrgID, who); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
