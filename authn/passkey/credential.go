package passkey

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/migrations"
)

// How a passkey was added (Credential.AddedVia).
const (
	AddedViaSetup        = "setup"         // first-run setup of the instance
	AddedViaEnrollment   = "enrollment"    // an enrollment link from an administrator
	AddedViaAccount      = "account"       // the signed-in user, on the account page
	AddedViaSecondDevice = "second_device" // the signed-in user, for another device (e.g. via QR code)
	AddedViaRecovery     = "recovery"      // account recovery
	AddedViaSignIn       = "sign_in"       // at sign-in, after a password, when the policy asked for one
)

func validAddedVia(v string) bool {
	switch v {
	case AddedViaSetup, AddedViaEnrollment, AddedViaAccount, AddedViaSecondDevice, AddedViaRecovery, AddedViaSignIn:
		return true
	}
	return false
}

// Credential is a stored passkey.
type Credential struct {
	ID           string // our random id, for URLs
	UserID       string // directory user
	CredentialID []byte // the authenticator's credential id (WebAuthn Level 3 §4 "Credential ID")
	PublicKey    []byte // COSE_Key (§6.5.1.1)

	AttestationType string // "none", "self", …
	AAGUID          string // 8-4-4-4-12, "" when the authenticator did not say
	Provider        string // from the known-AAGUID table, or a description from the backup flags

	SignCount      uint32
	BackupEligible bool // BE: may be synced to other devices (§6.1.3)
	BackupState    bool // BS: is currently backed up
	// UserVerified: stored, whether the passkey has verified its user (uvInitialized, WebAuthn
	// Level 3 §4 "credential record"; it never goes back to false). On the Credential FinishLogin
	// returns: whether this sign-in was verified.
	UserVerified bool
	Transports   []string

	Name     string
	AddedVia string // one of the AddedVia constants
	Flagged  bool   // the signature counter went backwards on a device-bound passkey

	CreatedAt  time.Time
	LastUsedAt *time.Time

	// PasswordRetired is not stored: FinishRegistration set it when it deleted the user's password
	// because the organisation's policy deletes passwords on the first passkey. Callers audit it.
	PasswordRetired bool
}

// Synced reports a multi-device passkey (backup eligible), as opposed to a device-bound one.
func (c Credential) Synced() bool { return c.BackupEligible }

// AMR returns the RFC 8176 authentication method references for a sign-in with this passkey (the
// Credential FinishLogin returns): "swk" (software-secured key) for a synced passkey, "hwk"
// (hardware-secured key) for a device-bound one; "user" (user presence, which every sign-in
// tests); and "mfa" only when the authenticator verified the user (PIN or biometrics), which
// makes the passkey a second factor. An organisation that does not require user verification
// gets single-factor sign-ins from authenticators that skip it.
func (c Credential) AMR() []string {
	amr := []string{"hwk", "user"}
	if c.Synced() {
		amr[0] = "swk"
	}
	if c.UserVerified {
		amr = append(amr, "mfa")
	}
	return amr
}

const credentialCols = `id, user_id, credential_id, public_key, attestation_type, aaguid, provider, sign_count,
	backup_eligible, backup_state, user_verified, transports, name, added_via, flagged, created_at, last_used_at`

type credentialRow struct {
	ID, UserID, CredentialID                  string
	PublicKey                                 []byte
	AttestationType, Provider                 string
	AAGUID                                    string
	SignCount                                 int64
	BackupEligible, BackupState, UserVerified bool
	Transports, Name, AddedVia                string
	Flagged                                   bool
	CreatedAt                                 time.Time
	LastUsedAt                                *time.Time
}

func (r credentialRow) credential() Credential {
	c := Credential{ID: r.ID, UserID: r.UserID, PublicKey: r.PublicKey, AttestationType: r.AttestationType,
		AAGUID: r.AAGUID, Provider: r.Provider, SignCount: uint32(r.SignCount), BackupEligible: r.BackupEligible,
		BackupState: r.BackupState, UserVerified: r.UserVerified, Name: r.Name, AddedVia: r.AddedVia,
		Flagged: r.Flagged, CreatedAt: r.CreatedAt.UTC()}
	c.CredentialID, _ = base64.RawURLEncoding.DecodeString(r.CredentialID)
	_ = json.Unmarshal([]byte(r.Transports), &c.Transports)
	if r.LastUsedAt != nil {
		t := r.LastUsedAt.UTC()
		c.LastUsedAt = &t
	}
	return c
}

func encodeID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func parseAAGUID(s string) []byte {
	if s == "" {
		return make([]byte, 16)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return make([]byte, 16)
	}
	return b
}

func (s *Service) insertCredential(ctx context.Context, c Credential) error {
	transports, _ := json.Marshal(nonNil(c.Transports))
	err := s.db.Conn(ctx).Exec(`INSERT INTO passkeys (`+credentialCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, encodeID(c.CredentialID), c.PublicKey, c.AttestationType, c.AAGUID, c.Provider,
		int64(c.SignCount), c.BackupEligible, c.BackupState, c.UserVerified, string(transports), c.Name,
		c.AddedVia, c.Flagged, c.CreatedAt, c.LastUsedAt).Error
	if database.IsUniqueViolation(err) {
		return refuse(ErrAlreadyRegistered, err, "credential id %s is already stored", encodeID(c.CredentialID))
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// credentials returns a user's passkeys, newest first.
func (s *Service) credentials(ctx context.Context, userID string) ([]Credential, error) {
	return s.queryCredentials(ctx, `SELECT `+credentialCols+` FROM passkeys WHERE user_id = $1
		ORDER BY created_at DESC, id`, userID)
}

// credentialByID looks up a passkey by the authenticator's credential id (database.ErrNotFound).
func (s *Service) credentialByID(ctx context.Context, credentialID []byte) (Credential, error) {
	cs, err := s.queryCredentials(ctx, `SELECT `+credentialCols+` FROM passkeys WHERE credential_id = $1`,
		encodeID(credentialID))
	if err != nil {
		return Credential{}, err
	}
	if len(cs) == 0 {
		return Credential{}, database.ErrNotFound
	}
	return cs[0], nil
}

// queryCredentials scans rows itself rather than through gorm's reflection: sign-in reads
// passkeys on every attempt, and a cheap scan also keeps a real account's BeginLogin close in
// time to an unknown username's, which reads no rows.
func (s *Service) queryCredentials(ctx context.Context, q string, args ...any) ([]Credential, error) {
	rows, err := s.db.Query(ctx, q, args...) // no gorm: read twice per sign-in
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var r credentialRow
		var lastUsed sql.NullTime
		if err := rows.Scan(&r.ID, &r.UserID, &r.CredentialID, &r.PublicKey, &r.AttestationType, &r.AAGUID,
			&r.Provider, &r.SignCount, &r.BackupEligible, &r.BackupState, &r.UserVerified, &r.Transports,
			&r.Name, &r.AddedVia, &r.Flagged, &r.CreatedAt, &lastUsed); err != nil {
			return nil, err
		}
		if lastUsed.Valid {
			r.LastUsedAt = &lastUsed.Time
		}
		out = append(out, r.credential())
	}
	return out, rows.Err()
}

// List returns a user's passkeys, newest first.
func (s *Service) List(ctx context.Context, userID string) ([]Credential, error) {
	return s.credentials(ctx, userID)
}

// Count returns how many passkeys a user has.
func (s *Service) Count(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.db.Conn(ctx).Raw(`SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n).Error
	return int(n), err
}

// cleanName trims a passkey name and checks it: 1 to 64 characters, no control characters.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return name, nil
}

// Rename renames one of a user's passkeys (ErrNotFound if it is not theirs, ErrInvalidName).
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	res := s.db.Conn(ctx).Exec(`UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// Remove deletes one of a user's passkeys (ErrNotFound if it is not theirs). It refuses with
// ErrLastPasskey to delete the user's only passkey, even when two removals race.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		// Lock the user's passkeys so that concurrent removals count one after the other. SQLite
		// transactions here take the write lock up front (BEGIN IMMEDIATE), which serialises them.
		q := `SELECT id FROM passkeys WHERE user_id = ?`
		if s.db.Dialect == migrations.Postgres {
			q += ` FOR UPDATE`
		}
		var ids []string
		if err := s.db.Conn(ctx).Raw(q, userID).Scan(&ids).Error; err != nil {
			return err
		}
		found := false
		for _, v := range ids {
			found = found || v == id
		}
		switch {
		case !found:
			return ErrNotFound
		case len(ids) == 1:
			return ErrLastPasskey
		}
		res := s.db.Conn(ctx).Exec(`DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// recordUse stores what a verified assertion reports. For a device-bound passkey with a
// non-zero counter the update only applies while the stored counter is lower, so two racing
// sign-ins cannot both move it to the same value; false means it did not apply.
// A verified sign-in sets user_verified; an unverified one leaves it as it is (uvInitialized only
// ever becomes true: §7.2, updating the credential record).
func (s *Service) recordUse(ctx context.Context, c Credential, signCount uint32, backupState, userVerified bool, checkCounter bool) (bool, error) {
	// The counter is checked in the UPDATE itself, so two sign-ins racing with one counter value
	// cannot both be recorded. One fixed statement (its unused conditions switched off by their
	// arguments), so that the statement cache holds it once.
	res, err := s.db.ExecContext(ctx, `UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3,
		user_verified = (user_verified OR $4) WHERE id = $5 AND flagged = $6 AND ($7 OR sign_count < $1)`,
		int64(signCount), backupState, s.now(), userVerified, c.ID, false, !checkCounter)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Service) flag(ctx context.Context, id string) error {
	return s.db.Conn(ctx).Exec(`UPDATE passkeys SET flagged = ? WHERE id = ?`, true, id).Error
}
