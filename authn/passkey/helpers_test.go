package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/portcullis-id/portcullis/internal/webauthntest"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

const (
	testRPID   = "login.example.com"
	testOrigin = "https://login.example.com"
)

var ctx = context.Background()

const time2s = 2 * time.Second

// env is a Service on a fresh database with a clock the test moves.
type env struct {
	t   testing.TB
	db  *database.DB
	dir *directory.Store
	svc *Service

	mu    sync.Mutex
	clock time.Time
}

func newEnv(t testing.TB, db *database.DB) *env {
	t.Helper()
	e := &env{t: t, db: db, dir: directory.NewStore(db), clock: time.Now().UTC().Truncate(time.Second)}
	hasher := secret.FromBytes([]byte("passkey test secret, 32 bytes or more")).Hasher("passkey")
	svc, err := New(Config{RPID: testRPID, RPDisplayName: "Portcullis", Origins: []string{testOrigin}}, db, hasher, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	svc.now = e.now
	e.svc = svc
	return e
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.clock = e.clock.Add(d)
	e.mu.Unlock()
}

func (e *env) user(username string) directory.User {
	e.t.Helper()
	u, err := e.dir.CreateUser(ctx, directory.User{Username: username, DisplayName: "User " + username})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// device is a software authenticator holding one passkey, in a browser at some origin.
type device struct {
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
	// counting devices increment their signature counter on every use (device-bound keys);
	// synced passkeys report 0.
	counting bool
}

func newDevice(synced bool) *device {
	d := &device{
		rp: virtualwebauthn.RelyingParty{ID: testRPID, Name: "Portcullis", Origin: testOrigin},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
			BackupEligible: synced, BackupState: synced,
		}),
		cred:     webauthntest.P256Credential(),
		counting: !synced,
	}
	if d.counting {
		d.cred.Counter = 1
	}
	return d
}

// attest answers creation options the way a browser's credential.toJSON() would.
func (d *device) attest(t testing.TB, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	d.auth.Options.UserHandle = []byte(opts.UserID)
	resp := virtualwebauthn.CreateAttestationResponse(d.rp, d.auth, d.cred, *opts)
	return browserJSON(t, resp, map[string]any{"transports": []string{"hybrid", "internal"}})
}

// assert answers request options, using the device's passkey whether or not it is allowed.
func (d *device) assert(t testing.TB, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	if d.counting {
		d.cred.Counter++
	}
	return browserJSON(t, virtualwebauthn.CreateAssertionResponse(d.rp, d.auth, d.cred, *opts), nil)
}

// browserJSON adds the members a browser's toJSON() has that virtualwebauthn leaves out.
func browserJSON(t testing.TB, resp string, response map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		t.Fatal(err)
	}
	m["authenticatorAttachment"] = "platform"
	m["clientExtensionResults"] = map[string]any{}
	r := m["response"].(map[string]any)
	for k, v := range response {
		r[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// register adds dev's passkey to u and returns it.
func (e *env) register(u directory.User, dev *device) Credential {
	e.t.Helper()
	options, token, err := e.svc.BeginRegistration(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.svc.FinishRegistration(ctx, token, u, dev.attest(e.t, options), "", AddedViaAccount)
	if err != nil {
		e.t.Fatalf("FinishRegistration: %v (%s)", err, Detail(err))
	}
	return c
}

// login signs in username-first with dev.
func (e *env) login(u directory.User, dev *device) (directory.User, Credential, error) {
	e.t.Helper()
	options, token, err := e.svc.BeginLogin(ctx, u.OrgID, u.Username)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.FinishLogin(ctx, token, dev.assert(e.t, options))
}

// discoverable signs in without a username with dev.
func (e *env) discoverable(dev *device) (directory.User, Credential, error) {
	e.t.Helper()
	options, token, err := e.svc.BeginDiscoverableLogin(ctx, directory.SystemOrgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.FinishLogin(ctx, token, dev.assert(e.t, options))
}

func (e *env) get(userID, id string) Credential {
	e.t.Helper()
	cs, err := e.svc.List(ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	e.t.Fatalf("passkey %s of %s not found", id, userID)
	return Credential{}
}

func (e *env) count(userID string) int {
	e.t.Helper()
	n, err := e.svc.Count(ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// wantRefusal checks err is the sentinel want, shows its plain message, and carries a detail.
func wantRefusal(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v (%s), want %v", err, Detail(err), want)
	}
	if err.Error() != want.Error() {
		t.Fatalf("Error() = %q, want the plain message %q", err.Error(), want.Error())
	}
	if Detail(err) == "" {
		t.Fatal("no detail")
	}
	t.Logf("refused as expected: %s | detail: %s", err, Detail(err))
}
