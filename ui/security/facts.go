package security

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/handoff"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/keys"
)

// Settings is what the page reports from the running configuration. The composition root fills
// it from the same values it gives the other packages, so the page cannot drift from them.
type Settings struct {
	Issuer string
	// RPID, RPName and Origins are what the passkey service was configured with.
	RPID, RPName string
	Origins      []string
	// SessionIdle and SessionAbsolute are the sign-in session lifetimes.
	SessionIdle, SessionAbsolute time.Duration
	// PasswordAccount and PasswordIP limit wrong passwords; Argon2 hashes new ones.
	PasswordAccount, PasswordIP throttle.Rule
	Argon2                      password.Params
	// CodeAccount and CodeIP limit cross-device code entry (what authn/handoff was given).
	CodeAccount, CodeIP throttle.Rule
	// EmailConfigured: an SMTP server is set; otherwise messages to users go to the log.
	EmailConfigured bool
	// LogLevel is the slog level; above info, successful audit events reach only the table.
	LogLevel string
	// ListOrgs lists every organisation's policy by slug (config security_page_orgs).
	ListOrgs bool
}

// Duration prints as people write it ("5 minutes", "30 days"), for the page.
type Duration time.Duration

func (d Duration) String() string {
	t := time.Duration(d)
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case t <= 0:
		return "0 seconds"
	case t%(24*time.Hour) == 0 && t >= 48*time.Hour: // "24 hours" reads better than "1 day"
		return unit(int64(t/(24*time.Hour)), "day")
	case t%time.Hour == 0:
		return unit(int64(t/time.Hour), "hour")
	case t%time.Minute == 0:
		return unit(int64(t/time.Minute), "minute")
	}
	return unit(int64(t.Round(time.Second)/time.Second), "second")
}

// Limit is an attempt limit (a throttle.Rule) as the page states it.
type Limit struct {
	Attempts        int
	Window          Duration // failures are counted over this span
	Block, MaxBlock Duration // the first block, and the longest once it doubles
	Growing         bool     // Block < MaxBlock: each further failure doubles the block
}

func limitOf(r throttle.Rule) Limit {
	return Limit{Attempts: r.Limit, Window: Duration(r.Window), Block: Duration(r.Block),
		MaxBlock: Duration(r.MaxBlock), Growing: r.MaxBlock > r.Block}
}

// Facts is everything the page states, read-only, built by Handler.Facts.
type Facts struct {
	Issuer, Discovery, JWKS string
	RPID, RPName            string
	Origins                 []string
	CeremonyTimeout         Duration // how long a passkey prompt may take (passkey.DefaultTimeout)

	// DefaultPolicy is the policy a new organisation starts with; System is the built-in system
	// organisation's (live). Orgs lists every organisation, only when the operator allows it.
	DefaultPolicy, System PolicyFacts
	ListOrgs              bool
	Orgs                  []PolicyFacts

	Handoff   HandoffFacts
	Recovery  RecoveryFacts
	Passwords PasswordFacts
	Sessions  SessionFacts
	Tokens    TokenFacts
	Audit     AuditFacts

	ACRPasskey, ACRPassword, AMRHandoff string

	EmailConfigured bool
}

// PolicyFacts is one organisation's passkey policy as the page states it.
type PolicyFacts struct {
	Slug             string // "" for the default of a new organisation
	Mode             string // off, optional, mandatory
	UserVerification string // WebAuthn userVerification: required or preferred
	Attestation      string // WebAuthn attestation conveyance: direct or none
	SyncedAccepted   bool
	AAGUIDs          []Model // the authenticator models accepted; empty: any
	PasswordsEnd     string  // YYYY-MM-DD, "" for no deadline
	RecoveryCodes    bool
}

// Model is an authenticator model an allow-list names.
type Model struct{ AAGUID, Name string }

func policyFacts(slug string, p policy.Policy) PolicyFacts {
	f := PolicyFacts{Slug: slug, Mode: string(p.Mode), UserVerification: "preferred", Attestation: "none",
		SyncedAccepted: p.AllowSynced, RecoveryCodes: p.RecoveryCodes}
	// The same rules authn/passkey applies when it builds the ceremony options.
	if p.RequireUV {
		f.UserVerification = "required"
	}
	if p.NeedsDirectAttestation() {
		f.Attestation = "direct"
	}
	for _, a := range p.AllowedAAGUIDs {
		name := passkey.ProviderName(a, false)
		if name == passkey.ProviderDeviceBound || name == passkey.ProviderSynced {
			name = "" // not in the table of known providers
		}
		f.AAGUIDs = append(f.AAGUIDs, Model{AAGUID: a, Name: name})
	}
	if p.Mode == policy.Mandatory && p.PasswordsEndAt != nil {
		f.PasswordsEnd = p.PasswordsEndAt.UTC().Format(time.DateOnly)
	}
	return f
}

// HandoffFacts is how the cross-device sign-in code is protected (authn/handoff).
type HandoffFacts struct {
	CodeLength, AlphabetSize int
	Bits                     float64
	Lifetime                 Duration // a code can be approved within this
	CompleteWithin           Duration // the new device then creates its passkey within this
	ApproveWithin            Duration // how fresh the approving passkey check must be
	Account, IP              Limit
}

// RecoveryFacts is how recovery links and codes are protected (authn/recovery).
type RecoveryFacts struct {
	LinkValidity, LinkMaxValidity, CodeLinkValidity Duration
	CodeCount, CodeLength, AlphabetSize             int
	Bits                                            float64
	Account, IP                                     Limit
}

// PasswordFacts is how legacy passwords are stored and limited.
type PasswordFacts struct {
	MemoryKiB, Iterations uint32
	Parallelism           uint8
	Account, IP           Limit
}

// SessionFacts are the sign-in session lifetimes.
type SessionFacts struct{ Idle, Absolute Duration }

// TokenFacts is how tokens are signed and how long they live.
type TokenFacts struct {
	DefaultAlgorithm       string
	Keys                   []KeyFacts // per algorithm, in the order provider/keys reports them
	RetiredPublished       Duration   // how long a retired key stays in the JWKS
	AccessToken, IDToken   Duration
	RefreshToken, AuthCode Duration
}

// KeyFacts is one signing algorithm's keys.
type KeyFacts struct {
	Algorithm     string
	ActiveKID     string
	ActiveSince   string // RFC 3339, UTC
	NextKID       string // published, not yet signing
	RetiredInJWKS int    // retired keys still published, so that tokens they signed verify
}

// AuditFacts is where audit events go.
type AuditFacts struct {
	Table string
	// SuccessInLog: successful events are logged at info; a higher log level keeps them out of
	// the log stream (failures, at warn, still go there unless the level is error).
	SuccessInLog, FailureInLog bool
	LogLevel                   string
}

// bits is the entropy of a uniformly random code of n symbols from an alphabet of size k.
func bits(n, k int) float64 { return float64(n) * math.Log2(float64(k)) }

// staticFacts is what does not depend on the database.
func staticFacts(s Settings) Facts {
	issuer := strings.TrimSuffix(s.Issuer, "/")
	recoveryCodeLen := len(strings.ReplaceAll(recovery.NewCode(), "-", ""))
	f := Facts{
		Issuer: issuer, Discovery: issuer + "/.well-known/openid-configuration", JWKS: issuer + "/.well-known/jwks.json",
		RPID: s.RPID, RPName: s.RPName, Origins: append([]string(nil), s.Origins...),
		CeremonyTimeout: Duration(passkey.DefaultTimeout),
		DefaultPolicy:   policyFacts("", policy.Default()),
		ListOrgs:        s.ListOrgs,
		Handoff: HandoffFacts{CodeLength: handoff.CodeLen, AlphabetSize: len(handoff.Alphabet),
			Bits: bits(handoff.CodeLen, len(handoff.Alphabet)), Lifetime: Duration(handoff.CodeLifetime),
			CompleteWithin: Duration(handoff.CompleteWithin), ApproveWithin: Duration(handoff.ApproveWithin),
			Account: limitOf(s.CodeAccount), IP: limitOf(s.CodeIP)},
		// The recovery-code page limits with the throttle defaults (authn/recovery/codepage.go).
		Recovery: RecoveryFacts{LinkValidity: Duration(recovery.DefaultValidity), LinkMaxValidity: Duration(recovery.MaxValidity),
			CodeLinkValidity: Duration(recovery.CodeLinkValidity), CodeCount: recovery.CodeCount,
			CodeLength: recoveryCodeLen, AlphabetSize: len(recovery.CodeAlphabet),
			Bits:    bits(recoveryCodeLen, len(recovery.CodeAlphabet)),
			Account: limitOf(throttle.DefaultCodeAccount()), IP: limitOf(throttle.DefaultCodeIP())},
		Passwords: PasswordFacts{MemoryKiB: s.Argon2.Memory, Iterations: s.Argon2.Iterations, Parallelism: s.Argon2.Parallelism,
			Account: limitOf(s.PasswordAccount), IP: limitOf(s.PasswordIP)},
		Sessions: SessionFacts{Idle: Duration(s.SessionIdle), Absolute: Duration(s.SessionAbsolute)},
		Tokens: TokenFacts{DefaultAlgorithm: keys.DefaultAlgorithm, RetiredPublished: Duration(provider.RetiredKeyPublish),
			AccessToken: Duration(provider.AccessTokenLifespan), IDToken: Duration(provider.IDTokenLifespan),
			RefreshToken: Duration(provider.RefreshTokenLifespan), AuthCode: Duration(provider.AuthorizeCodeLifespan)},
		Audit:      auditFacts(s.LogLevel),
		ACRPasskey: provider.ACRPhishingResistant, ACRPassword: provider.ACRPassword, AMRHandoff: handoff.AMRHandoff,
		EmailConfigured: s.EmailConfigured,
	}
	return f
}

// auditFacts: internal/audit writes every event to audit_events and logs it as "audit", at info
// for a success and warn for a failure.
func auditFacts(level string) AuditFacts {
	if level == "" {
		level = "info"
	}
	a := AuditFacts{Table: "audit_events", LogLevel: level}
	switch level {
	case "debug", "info":
		a.SuccessInLog, a.FailureInLog = true, true
	case "warn":
		a.FailureInLog = true
	}
	return a
}

// liveFacts adds the organisations' policies and the signing keys to f.
func liveFacts(ctx context.Context, f Facts, orgs Orgs, km Keys, now time.Time) (Facts, error) {
	list, err := orgs.ListOrgs(ctx)
	if err != nil {
		return Facts{}, fmt.Errorf("security page: organisations: %w", err)
	}
	for _, o := range list {
		if o.ID == directory.SystemOrgID {
			f.System = policyFacts(o.Slug, o.Policy)
		}
		if f.ListOrgs {
			f.Orgs = append(f.Orgs, policyFacts(o.Slug, o.Policy))
		}
	}
	ks, err := km.List(ctx)
	if err != nil {
		return Facts{}, fmt.Errorf("security page: signing keys: %w", err)
	}
	f.Tokens.Keys = keyFacts(ks, now)
	return f, nil
}

// keyFacts groups the keys by algorithm, keeping List's order (by algorithm, active first).
func keyFacts(ks []keys.KeyInfo, now time.Time) []KeyFacts {
	var out []KeyFacts
	at := map[string]int{}
	for _, k := range ks {
		i, ok := at[k.Alg]
		if !ok {
			i = len(out)
			at[k.Alg] = i
			out = append(out, KeyFacts{Algorithm: k.Alg})
		}
		kf := &out[i]
		switch k.State {
		case keys.StateActive:
			kf.ActiveKID = k.KID
			if k.ActivatedAt != nil {
				kf.ActiveSince = k.ActivatedAt.UTC().Format(time.RFC3339)
			}
		case keys.StateNext:
			kf.NextKID = k.KID
		case keys.StateRetired:
			if k.PublishUntil != nil && k.PublishUntil.After(now) {
				kf.RetiredInJWKS++
			}
		}
	}
	return out
}
