package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/portcullis-id/portcullis/internal/webauthntest"
)

// softKey is a software authenticator for the HTTP tests: one discoverable P-256 passkey
// (github.com/descope/virtualwebauthn) used from a browser at the server's origin, with RP ID
// "localhost". It turns the options JSON the server's begin endpoints send into the JSON a
// browser's credential.toJSON() would post to the finish endpoints, and it refuses what a browser
// would refuse (another RP ID, a passkey listed in excludeCredentials, request options that do
// not allow it), so that tests see the server's options as a browser would.
//
// A device-bound softKey counts its signatures like a security key; a synced one reports 0, as
// passkey providers do. A softKey is safe for concurrent use, but a counting key used by two
// goroutines at once may deliver its counters out of order (the server then rightly flags it):
// give each goroutine its own key.
type softKey struct {
	mu       sync.Mutex
	rp       virtualwebauthn.RelyingParty
	auth     virtualwebauthn.Authenticator
	cred     virtualwebauthn.Credential
	synced   bool
	handle   []byte // the user handle, learnt at registration
	attested bool
}

// softKeyRPID is the relying party id of every test server (its issuer is http://localhost:PORT).
const softKeyRPID = "localhost"

// newSoftKey returns an authenticator with a fresh passkey for pages at origin.
func newSoftKey(origin string, synced bool) *softKey {
	k := &softKey{
		rp: virtualwebauthn.RelyingParty{ID: softKeyRPID, Name: "Portcullis", Origin: origin},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
			BackupEligible: synced, BackupState: synced,
		}),
		cred:   webauthntest.P256Credential(),
		synced: synced,
	}
	if !synced {
		k.cred.Counter = 1
	}
	return k
}

// ID is the passkey's credential id, base64url as in allowCredentials and excludeCredentials.
func (k *softKey) ID() string { return base64.RawURLEncoding.EncodeToString(k.cred.ID) }

// Handle is the user handle the passkey was created for (nil before registration).
func (k *softKey) Handle() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.handle
}

// softKeyOptions is the part of the options JSON a browser checks before it asks the authenticator.
type softKeyOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	PubKeyCredParams []struct {
		Alg int `json:"alg"`
	} `json:"pubKeyCredParams"`
	AllowCredentials   []struct{ ID string } `json:"allowCredentials"`
	ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
}

// parseSoftKeyOptions reads options given bare or as a begin endpoint's {"publicKey": …} reply.
func parseSoftKeyOptions(options []byte) (softKeyOptions, []byte, error) {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &wrapped); err != nil {
		return softKeyOptions{}, nil, fmt.Errorf("options are not JSON: %w", err)
	}
	if len(wrapped.PublicKey) > 0 {
		options = wrapped.PublicKey
	}
	var o softKeyOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return softKeyOptions{}, nil, fmt.Errorf("options: %w", err)
	}
	if o.Challenge == "" {
		return softKeyOptions{}, nil, errors.New("options have no challenge")
	}
	return o, options, nil
}

// Create answers creation options (PublicKeyCredentialCreationOptions JSON) with the JSON of the
// new credential, as navigator.credentials.create() and toJSON() would.
func (k *softKey) Create(options []byte) ([]byte, error) {
	o, raw, err := parseSoftKeyOptions(options)
	if err != nil {
		return nil, err
	}
	if o.RP.ID != "" && o.RP.ID != k.rp.ID {
		return nil, fmt.Errorf("SecurityError: rp.id %q is not %q", o.RP.ID, k.rp.ID)
	}
	es256 := false
	for _, p := range o.PubKeyCredParams {
		es256 = es256 || p.Alg == -7
	}
	if !es256 {
		return nil, errors.New("NotSupportedError: ES256 not offered")
	}
	for _, c := range o.ExcludeCredentials {
		if c.ID == k.ID() {
			return nil, errors.New("InvalidStateError: this authenticator already holds a passkey for the account")
		}
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(string(raw))
	if err != nil {
		return nil, err
	}
	if opts.UserID == "" {
		return nil, errors.New("TypeError: no user.id")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.handle = []byte(opts.UserID)
	k.auth.Options.UserHandle = k.handle
	k.attested = true
	resp := virtualwebauthn.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts)
	transports := []string{"internal"}
	if k.synced {
		transports = []string{"hybrid", "internal"}
	}
	return softKeyBrowserJSON(resp, map[string]any{"transports": transports})
}

// Get answers request options (PublicKeyCredentialRequestOptions JSON) with the JSON of an
// assertion, as navigator.credentials.get() and toJSON() would; the user handle is always sent, as
// for any discoverable credential. A browser offers the passkey only when allowCredentials is
// empty (discoverable sign-in) or lists it; force signs anyway, as a scripted client could.
func (k *softKey) Get(options []byte, force bool) ([]byte, error) {
	o, raw, err := parseSoftKeyOptions(options)
	if err != nil {
		return nil, err
	}
	if o.RPID != "" && o.RPID != k.rp.ID {
		return nil, fmt.Errorf("SecurityError: rpId %q is not %q", o.RPID, k.rp.ID)
	}
	if !force && !k.allowed(o) {
		return nil, errors.New("NotAllowedError: this authenticator holds no passkey the options allow")
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(string(raw))
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.attested {
		return nil, errors.New("NotAllowedError: the passkey was never registered")
	}
	if !k.synced {
		k.cred.Counter++
	}
	return softKeyBrowserJSON(virtualwebauthn.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts), nil)
}

// Allows reports whether request options let a browser offer this passkey.
func (k *softKey) Allows(options []byte) (bool, error) {
	o, _, err := parseSoftKeyOptions(options)
	if err != nil {
		return false, err
	}
	return k.allowed(o), nil
}

func (k *softKey) allowed(o softKeyOptions) bool {
	if len(o.AllowCredentials) == 0 {
		return true
	}
	for _, c := range o.AllowCredentials {
		if c.ID == k.ID() {
			return true
		}
	}
	return false
}

// create and get are Create and Get for tests.
func (k *softKey) create(t testing.TB, options []byte) []byte {
	t.Helper()
	out, err := k.Create(options)
	if err != nil {
		t.Fatalf("authenticator create: %v", err)
	}
	return out
}

func (k *softKey) get(t testing.TB, options []byte, force bool) []byte {
	t.Helper()
	out, err := k.Get(options, force)
	if err != nil {
		t.Fatalf("authenticator get: %v", err)
	}
	return out
}

// softKeyBrowserJSON adds the members a browser's toJSON() has that virtualwebauthn leaves out.
func softKeyBrowserJSON(resp string, response map[string]any) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		return nil, err
	}
	m["authenticatorAttachment"] = "platform"
	m["clientExtensionResults"] = map[string]any{}
	r, ok := m["response"].(map[string]any)
	if !ok {
		return nil, errors.New("virtualwebauthn response has no response member")
	}
	for key, v := range response {
		r[key] = v
	}
	return json.Marshal(m)
}
