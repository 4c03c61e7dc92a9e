package api

import (
	"encoding/json"
	"time"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/authn/rollout"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/provider/clients"
	"github.com/portcullis-id/portcullis/provider/keys"
)

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type orgView struct {
	ID        string         `json:"id"`
	Slug      string         `json:"slug"`
	Name      string         `json:"name"`
	Policy    map[string]any `json:"policy"`
	CreatedAt time.Time      `json:"created_at"`
}

func viewOrg(o directory.Org) orgView {
	return orgView{ID: o.ID, Slug: o.Slug, Name: o.Name, Policy: admin.PolicyDetails(o.Policy), CreatedAt: o.CreatedAt}
}

type userView struct {
	ID            string     `json:"id"`
	Username      string     `json:"username"`
	DisplayName   string     `json:"display_name"`
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	Status        string     `json:"status"`
	Roles         []string   `json:"roles"`
	HasPassword   bool       `json:"has_password"`
	SkippedAt     *time.Time `json:"passkey_skipped_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func viewUser(u directory.User) userView {
	return userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email,
		EmailVerified: u.EmailVerified, Status: u.Status, Roles: nonNil(u.Roles), HasPassword: u.HasPassword,
		SkippedAt: u.PasskeySkippedAt, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

type enrollmentView struct {
	URL       string    `json:"enrollment_url"`
	ExpiresAt time.Time `json:"expires_at"`
	Emailed   bool      `json:"emailed"`
}

func viewEnrollment(e admin.Enrollment) enrollmentView {
	return enrollmentView{URL: e.URL, ExpiresAt: e.ExpiresAt, Emailed: e.Emailed}
}

type passkeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Provider   string     `json:"provider"`
	AAGUID     string     `json:"aaguid"`
	Synced     bool       `json:"synced"`
	AddedVia   string     `json:"added_via"`
	Flagged    bool       `json:"flagged"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func viewPasskey(c passkey.Credential) passkeyView {
	return passkeyView{ID: c.ID, Name: c.Name, Provider: c.Provider, AAGUID: c.AAGUID, Synced: c.Synced(),
		AddedVia: c.AddedVia, Flagged: c.Flagged, CreatedAt: c.CreatedAt.UTC(), LastUsedAt: c.LastUsedAt}
}

type sessionView struct {
	ID         string    `json:"id"`
	Method     string    `json:"method"`
	AMR        []string  `json:"amr"`
	ACR        string    `json:"acr"`
	AuthTime   time.Time `json:"auth_time"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
}

func viewSession(s session.Session) sessionView {
	return sessionView{ID: s.ID, Method: s.Method, AMR: nonNil(s.AMR), ACR: s.ACR, AuthTime: s.AuthTime,
		CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, UserAgent: s.UserAgent, IP: s.IP}
}

// clientView is the API's form of a client: the same as the CLI's JSON (clients.View).
type clientView = clients.View

func viewClient(c clients.Client) clientView { return clients.ViewOf(c, "") }

type auditView struct {
	ID         int64           `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Outcome    string          `json:"outcome"`
	UserID     string          `json:"user_id"`
	ClientID   string          `json:"client_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	RequestID  string          `json:"request_id"`
	Details    json.RawMessage `json:"details"`
}

func viewAudit(e audit.Stored) auditView {
	details := json.RawMessage(e.Details)
	if !json.Valid(details) {
		details, _ = json.Marshal(e.Details)
	}
	return auditView{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, Action: e.Action, Outcome: e.Outcome,
		UserID: e.UserID, ClientID: e.ClientID, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: details}
}

type keyView struct {
	KID          string     `json:"kid"`
	Alg          string     `json:"alg"`
	State        string     `json:"state"`
	CreatedAt    time.Time  `json:"created_at"`
	ActivatedAt  *time.Time `json:"activated_at"`
	RetiredAt    *time.Time `json:"retired_at"`
	PublishUntil *time.Time `json:"publish_until"`
}

func viewKey(k keys.KeyInfo) keyView {
	return keyView{KID: k.KID, Alg: k.Alg, State: k.State, CreatedAt: k.CreatedAt.UTC(), ActivatedAt: k.ActivatedAt,
		RetiredAt: k.RetiredAt, PublishUntil: k.PublishUntil}
}

type providerView struct {
	Provider string `json:"provider"`
	Passkeys int    `json:"passkeys"`
	Users    int    `json:"users"`
}

type adoptionView struct {
	Users        int            `json:"users"`
	WithPasskey  int            `json:"with_passkey"`
	PasswordOnly int            `json:"password_only"`
	Neither      int            `json:"neither"`
	Providers    []providerView `json:"providers"`
}

func viewAdoption(a rollout.Adoption) adoptionView {
	out := adoptionView{Users: a.Users, WithPasskey: a.WithPasskey, PasswordOnly: a.PasswordOnly, Neither: a.Neither,
		Providers: []providerView{}}
	for _, p := range a.Providers {
		out.Providers = append(out.Providers, providerView{Provider: p.Provider, Passkeys: p.Passkeys, Users: p.Users})
	}
	return out
}

type impactView struct {
	Users              int            `json:"users"`
	Required           int            `json:"required"`
	Offered            int            `json:"offered"`
	OfferedLater       int            `json:"offered_later"`
	NeedEnrollmentLink int            `json:"need_enrollment_link"`
	NoCredentials      int            `json:"no_credentials"`
	AllPasskeysRefused int            `json:"all_passkeys_refused"`
	PasskeysRefused    int            `json:"passkeys_refused"`
	PasskeysRefusedBy  map[string]int `json:"passkeys_refused_by"`
	PasswordsRetired   int            `json:"passwords_retired"`
	NoLongerAsked      int            `json:"no_longer_asked"`
	AbleAgain          int            `json:"able_again"`
	Lines              []string       `json:"lines"`
}

func viewImpact(im policy.Impact) impactView {
	by := map[string]int{}
	for rule, n := range im.PasskeysRefusedBy {
		by[string(rule)] = n
	}
	return impactView{Users: im.Users, Required: im.Required, Offered: im.Offered, OfferedLater: im.OfferedLater,
		NeedEnrollmentLink: im.NeedEnrollmentLink, NoCredentials: im.NoCredentials, AllPasskeysRefused: im.AllPasskeysRefused,
		PasskeysRefused: im.PasskeysRefused, PasskeysRefusedBy: by, PasswordsRetired: im.PasswordsRetired,
		NoLongerAsked: im.NoLongerAsked, AbleAgain: im.AbleAgain, Lines: nonNil(im.Lines)}
}
