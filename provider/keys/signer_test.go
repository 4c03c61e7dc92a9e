package keys

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	josejwt "github.com/go-jose/go-jose/v3/jwt"
	"github.com/ory/fosite/token/jwt"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

func claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": "https://id.example.test",
		"sub": "user-1",
		"aud": []string{"client-1"},
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

func headers() *jwt.Headers { return jwt.NewHeaders() }

// verify checks token against a JWKS the way a relying party would: pick the key by the kid
// header, insist on its alg, check the signature. It returns the kid.
func verify(t *testing.T, token string, set *jose.JSONWebKeySet, wantAlg string) string {
	t.Helper()
	parsed, err := josejwt.ParseSigned(token)
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	h := parsed.Headers[0]
	if h.Algorithm != wantAlg || h.KeyID == "" {
		t.Fatalf("token header alg %q kid %q, want alg %s and a kid", h.Algorithm, h.KeyID, wantAlg)
	}
	found := set.Key(h.KeyID)
	if len(found) != 1 {
		t.Fatalf("kid %s is not in the JWKS", h.KeyID)
	}
	if found[0].Algorithm != wantAlg {
		t.Fatalf("JWKS key %s has alg %s", h.KeyID, found[0].Algorithm)
	}
	var got map[string]any
	if err := parsed.Claims(found[0].Key, &got); err != nil {
		t.Fatalf("signature of %s: %v", h.KeyID, err)
	}
	if got["sub"] != "user-1" {
		t.Fatalf("claims %v", got)
	}
	return h.KeyID
}

func sign(t *testing.T, m *Manager, alg string) string {
	t.Helper()
	ctx := context.Background()
	if alg != "" {
		ctx = WithAlgorithm(ctx, alg)
	}
	token, sig, err := m.Signer().Generate(ctx, claims(), headers())
	if err != nil || sig == "" {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return token
}

func TestSignedTokenVerifiesAgainstOtherProcess(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *database.DB) {
		ctx := context.Background()
		ma := ensured(t, a, Options{})
		mb := ensured(t, b, Options{})
		set, err := mb.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []string{"", ES256, RS256} {
			want := alg
			if want == "" {
				want = DefaultAlgorithm
			}
			token := sign(t, ma, alg)
			kid := verify(t, token, set, want)
			if active, _ := mb.SigningKey(ctx, want); active.KeyID != kid {
				t.Errorf("%s: signed with %s, active is %s", want, kid, active.KeyID)
			}
			// The other process's signer verifies it too (fosite uses this for JWT access
			// tokens and id_token_hint).
			if _, err := mb.Signer().Validate(ctx, token); err != nil {
				t.Errorf("%s: Validate on the other process: %v", want, err)
			}
			if tok, err := mb.Signer().Decode(WithAlgorithm(ctx, RS256), token); err != nil || tok.Claims["sub"] != "user-1" {
				t.Errorf("%s: Decode: %v", want, err)
			}
		}
		if _, _, err := ma.Signer().Generate(WithAlgorithm(ctx, "HS256"), claims(), headers()); err == nil {
			t.Error("signed with HS256")
		}
	})
}

func TestOtherProcessSwitchesAfterRotate(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *database.DB) {
		ctx := context.Background()
		clk := newClock()
		opts := Options{Now: clk.Now, CacheFor: 30 * time.Second}
		ma := ensured(t, a, opts)
		mb := ensured(t, b, opts)
		for _, alg := range algorithms {
			old := verify(t, sign(t, mb, alg), mustJWKS(t, ma), alg)
			oldToken := sign(t, ma, alg)

			kids, err := ma.Rotate(ctx, alg)
			if err != nil {
				t.Fatal(err)
			}
			// The rotating process switches at once.
			if got := verify(t, sign(t, ma, alg), mustJWKS(t, ma), alg); got != kids[0] || got == old {
				t.Fatalf("%s: rotating process signs with %s, want %s", alg, got, kids[0])
			}
			// The other one keeps signing with the old key until its cache expires; the old key is
			// retired but still published, so its tokens verify against either JWKS.
			clk.Advance(10 * time.Second)
			tok := sign(t, mb, alg)
			if got := verify(t, tok, mustJWKS(t, ma), alg); got != old {
				t.Fatalf("%s: other process switched before CacheFor: %s", alg, got)
			}
			verify(t, tok, mustJWKS(t, mb), alg)
			// Tokens signed before the rotation still validate with fosite's Signer.
			if _, err := ma.Signer().Validate(ctx, oldToken); err != nil {
				t.Errorf("%s: token of the retired key no longer validates: %v", alg, err)
			}

			clk.Advance(21 * time.Second)
			if got := verify(t, sign(t, mb, alg), mustJWKS(t, ma), alg); got != kids[0] {
				t.Fatalf("%s: other process signs with %s after CacheFor, want %s", alg, got, kids[0])
			}
		}
	})
}

func mustJWKS(t *testing.T, m *Manager) *jose.JSONWebKeySet {
	t.Helper()
	set, err := m.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestPublicKeyLooksUpUnknownKidsSparingly(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *database.DB) {
		ctx := context.Background()
		clk := newClock()
		opts := Options{Now: clk.Now, CacheFor: time.Hour}
		ma := ensured(t, a, opts)
		mb := ensured(t, b, opts)

		// A key made by another process is found although the cache is fresh.
		if _, err := ma.Rotate(ctx, ES256); err != nil {
			t.Fatal(err)
		}
		next := states(t, ma)[ES256][StateNext][0]
		if k, err := mb.PublicKey(ctx, next); err != nil || k.KeyID != next || !k.IsPublic() {
			t.Fatalf("PublicKey(new next key) = %v, %v", k, err)
		}
		// An unknown kid is not found; the lookup it caused counts against the rate limit, so a
		// key created in the same second is not looked up again until a second has passed.
		if _, err := mb.PublicKey(ctx, "no-such-kid"); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("PublicKey(unknown) = %v", err)
		}
		clk.Advance(time.Second)
		if _, err := mb.PublicKey(ctx, "no-such-kid"); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("PublicKey(unknown) = %v", err)
		}
		if _, err := ma.Rotate(ctx, ES256); err != nil {
			t.Fatal(err)
		}
		newer := states(t, ma)[ES256][StateNext][0]
		if _, err := mb.PublicKey(ctx, newer); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("PublicKey within the rate limit = %v, want ErrNotFound without a lookup", err)
		}
		clk.Advance(time.Second)
		if _, err := mb.PublicKey(ctx, newer); err != nil {
			t.Fatalf("PublicKey after the rate limit: %v", err)
		}
	})
}

func TestSignerRejectsMismatchedAlg(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		m := ensured(t, db, Options{})
		es, _ := m.SigningKey(ctx, ES256)
		rs, _ := m.SigningKey(ctx, RS256)
		// An RS256 signature under the kid of the ES256 key: the key's alg decides, not the token's.
		forged := *rs
		forged.KeyID = es.KeyID
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: &forged}, nil)
		if err != nil {
			t.Fatal(err)
		}
		token, err := josejwt.Signed(s).Claims(map[string]any(claims())).CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Signer().Validate(ctx, token); err == nil {
			t.Fatal("a token whose alg does not match its key validated")
		}
		// A token signed by a key that is not ours.
		stranger := NewManager(testdb.SQLite(t), secret.FromBytes([]byte("a stranger's secret, 32+ bytes long")).Sealer("k"), Options{})
		if err := stranger.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Signer().Validate(ctx, sign(t, stranger, ES256)); err == nil {
			t.Fatal("a stranger's token validated")
		}
	})
}

var (
	kidError   = regexp.MustCompile(`^signing key [A-Za-z0-9_-]{22} cannot be decrypted with this system secret$`)
	kidErrorIn = regexp.MustCompile(`signing key [A-Za-z0-9_-]{22} cannot be decrypted with this system secret`)
)

func TestUndecryptableErrorNamesTheKey(t *testing.T) {
	err := error(&undecryptableError{kid: secret.Token(16)})
	if !kidError.MatchString(err.Error()) || !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("error %q", err)
	}
}
