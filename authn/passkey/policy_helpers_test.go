package passkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
)

// policyStore is test data: each organisation's policy, changed by the test as an admin would.
type policyStore struct {
	mu sync.Mutex
	m  map[string]policy.Policy
}

func (s *policyStore) PolicyFor(_ context.Context, orgID string) (policy.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[orgID]
	if !ok {
		return policy.Policy{}, database.ErrNotFound
	}
	return p, nil
}

func (s *policyStore) set(orgID string, p policy.Policy) {
	s.mu.Lock()
	s.m[orgID] = p
	s.mu.Unlock()
}

// withPolicies makes the Service read policies from a policyStore in which the system
// organisation has the default policy.
func (e *env) withPolicies() *policyStore {
	ps := &policyStore{m: map[string]policy.Policy{directory.SystemOrgID: policy.Default()}}
	e.svc.cfg.Policies = ps
	return ps
}

// org creates an organisation with policy p.
func (e *env) org(ps *policyStore, slug string, p policy.Policy) string {
	e.t.Helper()
	o, err := e.dir.CreateOrg(ctx, slug, slug)
	if err != nil {
		e.t.Fatal(err)
	}
	ps.set(o.ID, p)
	return o.ID
}

func (e *env) userIn(orgID, username string) directory.User {
	e.t.Helper()
	u, err := e.dir.CreateUser(ctx, directory.User{OrgID: orgID, Username: username, DisplayName: username})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// tryRegister is register returning the error.
func (e *env) tryRegister(u directory.User, dev *device) (Credential, error) {
	e.t.Helper()
	options, token, err := e.svc.BeginRegistration(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.FinishRegistration(ctx, token, u, dev.attest(e.t, options), "", AddedViaAccount)
}

func (e *env) discoverableIn(orgID string, dev *device) (directory.User, Credential, error) {
	e.t.Helper()
	options, token, err := e.svc.BeginDiscoverableLogin(ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.FinishLogin(ctx, token, dev.assert(e.t, options))
}

// creationOptions are the parts of BeginRegistration's options the policy decides.
func (e *env) creationOptions(u directory.User) (uv, attestation string) {
	e.t.Helper()
	options, _, err := e.svc.BeginRegistration(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	var o struct {
		AuthenticatorSelection struct{ UserVerification string }
		Attestation            string
	}
	if err := json.Unmarshal(options, &o); err != nil {
		e.t.Fatal(err)
	}
	return o.AuthenticatorSelection.UserVerification, o.Attestation
}

func (e *env) loginUV(u directory.User) string {
	e.t.Helper()
	options, _, err := e.svc.BeginLogin(ctx, u.OrgID, u.Username)
	if err != nil {
		e.t.Fatal(err)
	}
	return parseRequest(e.t.(*testing.T), options).UserVerification
}

func (e *env) discoverableUV(orgID string) string {
	e.t.Helper()
	options, _, err := e.svc.BeginDiscoverableLogin(ctx, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return parseRequest(e.t.(*testing.T), options).UserVerification
}

// wantPolicyRefusal checks err is a policy refusal for rule, whose message is the Refusal's
// reason and advice, and whose detail names the rule.
func wantPolicyRefusal(t *testing.T, err error, rule policy.Rule) {
	t.Helper()
	if !errors.Is(err, ErrPolicy) {
		t.Fatalf("got error %v (%s), want a policy refusal", err, Detail(err))
	}
	r, ok := PolicyRefusal(err)
	if !ok || r.Rule != rule || r.Reason == "" || r.Advice == "" {
		t.Fatalf("refusal %+v (%v), want rule %s", r, ok, rule)
	}
	if err.Error() != r.Reason+" "+r.Advice {
		t.Fatalf("Error() = %q, want the reason and advice", err.Error())
	}
	if !strings.Contains(Detail(err), "rule "+string(rule)) {
		t.Fatalf("detail %q does not name the rule", Detail(err))
	}
	t.Logf("refused as expected: %s | detail: %s", err, Detail(err))
}

func unverified(synced bool) *device {
	d := newDevice(synced)
	d.auth.Options.UserNotVerified = true
	return d
}

// registerAttested registers dev's passkey for u with basic attestation; it must succeed.
func (e *env) registerAttested(u directory.User, dev *device) Credential {
	e.t.Helper()
	c, err := e.tryRegisterAttested(u, dev)
	if err != nil {
		e.t.Fatalf("attested registration: %v (%s)", err, Detail(err))
	}
	return c
}

// tryRegisterAttested registers dev's passkey with a packed attestation statement carrying an
// attestation certificate for dev's AAGUID (WebAuthn Level 3 §8.2, §8.2.1), as a security key
// answering attestation "direct" does.
func (e *env) tryRegisterAttested(u directory.User, dev *device) (Credential, error) {
	t := e.t
	t.Helper()
	options, token, err := e.svc.BeginRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	resp := dev.attest(t, options)
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	rawObj, err := base64.RawURLEncoding.DecodeString(r["attestationObject"].(string))
	if err != nil {
		t.Fatal(err)
	}
	clientData, err := base64.RawURLEncoding.DecodeString(r["clientDataJSON"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	if err := webauthncbor.Unmarshal(rawObj, &obj); err != nil {
		t.Fatal(err)
	}
	attKey, cert := attestationCert(t, dev.auth.Aaguid[:])
	cdh := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, obj.AuthData...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, attKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	obj.AttStmt = map[string]any{"alg": int64(-7), "sig": sig, "x5c": []any{cert}}
	newObj, err := webauthncbor.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	r["attestationObject"] = base64.RawURLEncoding.EncodeToString(newObj)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.FinishRegistration(ctx, token, u, out, "", AddedViaAccount)
}

// attestationCert makes an attestation key and a certificate for it meeting §8.2.1: version 3,
// subject C, O, OU "Authenticator Attestation" and CN, not a CA, and the AAGUID in the
// id-fido-gen-ce-aaguid extension (1.3.6.1.4.1.45724.1.1.4), not critical.
func attestationCert(t testing.TB, aaguid []byte) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := asn1.Marshal(aaguid)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{Country: []string{"SE"}, Organization: []string{"Test Keys AB"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Test Key Attestation"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}
