package keys

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
)

// Signature algorithms we sign with (RFC 7518 section 3.1).
const (
	ES256 = "ES256" // ECDSA on P-256 with SHA-256; small keys and signatures, the default.
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048; for relying parties without EC.

	DefaultAlgorithm = ES256
)

// Key states, as stored in signing_keys.state.
const (
	StateNext    = "next"
	StateActive  = "active"
	StateRetired = "retired"
)

// algorithms lists what we sign with, in the order List, JWKS and Rotate report them.
var algorithms = []string{ES256, RS256}

// Supported reports whether alg is one we sign with.
func Supported(alg string) bool {
	return alg == ES256 || alg == RS256
}

// ErrUndecryptable is matched (errors.Is) by the error for a sealed private key that the current
// system secret cannot open, typically because the secret file was replaced.
var ErrUndecryptable = errors.New("signing key cannot be decrypted with this system secret")

type undecryptableError struct{ kid string }

func (e *undecryptableError) Error() string {
	return "signing key " + e.kid + " cannot be decrypted with this system secret"
}

func (e *undecryptableError) Is(target error) bool { return target == ErrUndecryptable }

// Options tunes a Manager; zero values take the defaults.
type Options struct {
	// RetiredPublishFor is how long a retired key stays published: at least the longest lifetime
	// of any token it may have signed (default 24h).
	RetiredPublishFor time.Duration
	// CacheFor is how long the in-memory keys are trusted before the database is read again
	// (default 30s). It bounds how long another process keeps signing with a key after a
	// rotation elsewhere.
	CacheFor time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Manager owns the signing keys of one database. It is safe for concurrent use.
type Manager struct {
	db     *database.DB
	sealer *secret.Sealer
	opts   Options

	snap      atomic.Pointer[snapshot] // decoded keys; nil until loaded or after invalidation
	loads     atomic.Uint64            // completed reloads, so waiters can tell one happened
	lastProbe atomic.Int64             // unix nanos of the last reload caused by an unknown kid

	reloadMu sync.Mutex         // one reload at a time; the others wait and reuse its result
	memo     map[string]decoded // kid -> decoded key, guarded by reloadMu
}

// NewManager returns a Manager for the keys in db, sealed with sealer. It does not touch the
// database: call Ensure at start-up.
func NewManager(db *database.DB, sealer *secret.Sealer, opts Options) *Manager {
	if opts.RetiredPublishFor <= 0 {
		opts.RetiredPublishFor = 24 * time.Hour
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{db: db, sealer: sealer, opts: opts}
}

// now is the clock in UTC, to the microsecond PostgreSQL stores, so that what we write is what
// we read back on either database.
func (m *Manager) now() time.Time {
	return m.opts.Now().UTC().Truncate(time.Microsecond)
}

type algKey struct{}

// WithAlgorithm returns a context telling the Signer which algorithm to sign with, e.g. the
// id_token_signed_response_alg a client registered.
func WithAlgorithm(ctx context.Context, alg string) context.Context {
	return context.WithValue(ctx, algKey{}, alg)
}

// AlgorithmFrom returns the algorithm carried by ctx, or DefaultAlgorithm when there is none.
func AlgorithmFrom(ctx context.Context) string {
	if alg, ok := ctx.Value(algKey{}).(string); ok && alg != "" {
		return alg
	}
	return DefaultAlgorithm
}
