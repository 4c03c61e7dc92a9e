package rollout

import (
	"context"
	"sort"
	"time"

	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/database"
)

// Adoption is how far an organisation's active users have moved to passkeys.
type Adoption struct {
	Users        int // active users
	WithPasskey  int
	PasswordOnly int
	Neither      int // no passkey and no password: they need an enrollment link
	Providers    []ProviderCount
	// Trend is how many of today's active users had a passkey at the end of each of the last
	// TrendWeeks weeks, oldest first (from when each created their first passkey).
	Trend []TrendPoint
}

// TrendPoint is the adoption at the end of one week.
type TrendPoint struct {
	WeekEnding  time.Time
	WithPasskey int
}

// TrendWeeks is how many weeks the adoption trend covers.
const TrendWeeks = 12

// ProviderCount is how many passkeys one provider (iCloud Keychain, a security key, …) holds.
type ProviderCount struct {
	Provider string
	Passkeys int
	Users    int
}

// Reports reads adoption figures and user summaries from the database.
type Reports struct {
	DB *database.DB
}

type userFacts struct {
	ID               string
	HasPassword      bool
	PasskeySkippedAt *time.Time
}

type passkeyFacts struct {
	UserID, Provider, AAGUID, AttestationType string
	BackupEligible, UserVerified              bool
	CreatedAt                                 time.Time
}

// load reads the active users of an organisation and their passkeys, in two statements.
func (r *Reports) load(ctx context.Context, orgID string) ([]userFacts, map[string][]passkeyFacts, error) {
	var users []userFacts
	if err := r.DB.Conn(ctx).Raw(`SELECT id, password_hash <> '' AS has_password, passkey_skipped_at
		FROM users WHERE org_id = ? AND status = 'active'`, orgID).Scan(&users).Error; err != nil {
		return nil, nil, err
	}
	var keys []passkeyFacts
	if err := r.DB.Conn(ctx).Raw(`SELECT p.user_id, p.provider, p.aaguid, p.attestation_type, p.backup_eligible,
		p.user_verified, p.created_at FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.org_id = ? AND u.status = 'active'`,
		orgID).Scan(&keys).Error; err != nil {
		return nil, nil, err
	}
	byUser := map[string][]passkeyFacts{}
	for _, k := range keys {
		byUser[k.UserID] = append(byUser[k.UserID], k)
	}
	return users, byUser, nil
}

// Adoption reports an organisation's passkey adoption.
func (r *Reports) Adoption(ctx context.Context, orgID string) (Adoption, error) {
	users, keys, err := r.load(ctx, orgID)
	if err != nil {
		return Adoption{}, err
	}
	a := Adoption{Users: len(users)}
	providers := map[string]*ProviderCount{}
	for _, u := range users {
		ks := keys[u.ID]
		switch {
		case len(ks) > 0:
			a.WithPasskey++
		case u.HasPassword:
			a.PasswordOnly++
		default:
			a.Neither++
		}
		seen := map[string]bool{}
		for _, k := range ks {
			name := k.Provider
			if name == "" {
				name = "Unknown provider"
			}
			p := providers[name]
			if p == nil {
				p = &ProviderCount{Provider: name}
				providers[name] = p
			}
			p.Passkeys++
			if !seen[name] {
				seen[name] = true
				p.Users++
			}
		}
	}
	for _, p := range providers {
		a.Providers = append(a.Providers, *p)
	}
	a.Trend = trend(users, keys, time.Now().UTC())
	sort.Slice(a.Providers, func(i, j int) bool {
		if a.Providers[i].Passkeys != a.Providers[j].Passkeys {
			return a.Providers[i].Passkeys > a.Providers[j].Passkeys
		}
		return a.Providers[i].Provider < a.Providers[j].Provider
	})
	return a, nil
}

// Summaries returns what policy.Preview needs to know of each active user of an organisation.
func (r *Reports) Summaries(ctx context.Context, orgID string) ([]policy.UserSummary, error) {
	users, keys, err := r.load(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]policy.UserSummary, 0, len(users))
	for _, u := range users {
		s := policy.UserSummary{HasPassword: u.HasPassword, SkippedAt: u.PasskeySkippedAt}
		for _, k := range keys[u.ID] {
			s.Passkeys = append(s.Passkeys, policy.PasskeyFacts{BackupEligible: k.BackupEligible,
				UserVerified: k.UserVerified, AAGUID: k.AAGUID, AttestationVerified: AttestationVerified(k.AttestationType)})
		}
		out = append(out, s)
	}
	return out, nil
}

// AttestationVerified reports whether a stored attestation type (go-webauthn's, after it verified
// the attestation statement) means an attestation certificate vouched for the authenticator's
// model, its AAGUID: "basic_full", "attca" and "anonca" carry a certificate chain (for "packed",
// WebAuthn §8.2.1 makes the certificate's id-fido-gen-ce-aaguid extension match the AAGUID);
// "none" and "basic_surrogate" (self attestation) are the authenticator's own word.
func AttestationVerified(attestationType string) bool {
	switch attestationType {
	case "basic_full", "attca", "anonca":
		return true
	}
	return false
}

// trend counts, for each of the last TrendWeeks weeks, the active users whose first passkey was
// created by the end of that week.
func trend(users []userFacts, keys map[string][]passkeyFacts, now time.Time) []TrendPoint {
	var firsts []time.Time
	for _, u := range users {
		var first time.Time
		for _, k := range keys[u.ID] {
			if first.IsZero() || k.CreatedAt.Before(first) {
				first = k.CreatedAt
			}
		}
		if !first.IsZero() {
			firsts = append(firsts, first.UTC())
		}
	}
	out := make([]TrendPoint, TrendWeeks)
	for i := range out {
		end := now.AddDate(0, 0, -7*(TrendWeeks-1-i))
		n := 0
		for _, f := range firsts {
			if !f.After(end) {
				n++
			}
		}
		out[i] = TrendPoint{WeekEnding: end, WithPasskey: n}
	}
	return out
}
