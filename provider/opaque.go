package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
)

// Opaque codes, access tokens and refresh tokens keep fosite's format, "ory_<part>_<key>.<mac>"
// with mac = HMAC-SHA512/256(global secret, key), so fosite's own Validate checks them (it MACs
// whatever key it finds, with the current and rotated secrets). What differs is the key: it
// starts with the time of issue (8 bytes, big-endian Unix microseconds) before fosite's 32 random
// bytes, and the stored signature starts with that time in hex.
//
// Why: the token table's primary key is (kind, signature). A random signature puts every new
// row's key on a random page of that index, and each commit writes every page it touched to the
// WAL. Time-ordered signatures all land on the index's last page. The time of issue is no secret
// (a JWT carries it as iat), and the stored signature is still only a MAC of the secret key.
//
// Tokens issued with fosite's plain 32-byte keys keep their plain signature, so they stay valid.

const (
	stampLen  = 8
	randomLen = 32 // fosite's default token entropy (RFC 6819 section 5.1.4.2.2)
)

var b64 = base64.RawURLEncoding

// stampedKeyLen is the encoded length of a time-stamped key (54); a plain one is 43.
var stampedKeyLen = b64.EncodedLen(stampLen + randomLen)

// hmacConfig is the part of fosite's configuration the HMAC tokens use.
type hmacConfig interface {
	GetGlobalSecret(ctx context.Context) ([]byte, error)
	GetHMACHasher(ctx context.Context) func() hash.Hash
}

// generateOpaque issues a time-stamped token of the given part ("ac", "at" or "rt").
func (s *tokenStrategy) generateOpaque(ctx context.Context, part string) (token, signature string, err error) {
	secret, err := s.hmacConfig.GetGlobalSecret(ctx)
	if err != nil {
		return "", "", err
	}
	// fosite keys its HMAC with the first 32 bytes of the global secret and requires that many.
	if len(secret) < 32 {
		return "", "", errors.New("the HMAC token secret must be at least 32 bytes")
	}
	var key [stampLen + randomLen]byte
	binary.BigEndian.PutUint64(key[:stampLen], uint64(time.Now().UnixMicro()))
	if _, err := rand.Read(key[stampLen:]); err != nil {
		return "", "", err
	}
	hasher := s.hmacConfig.GetHMACHasher(ctx)
	if hasher == nil {
		hasher = sha512.New512_256 // fosite's default
	}
	mac := hmac.New(hasher, secret[:32])
	mac.Write(key[:])
	sig := b64.EncodeToString(mac.Sum(nil))
	encodedKey := b64.EncodeToString(key[:])
	return "ory_" + part + "_" + encodedKey + "." + sig, stamped(key[:stampLen], sig), nil
}

func stamped(stamp []byte, sig string) string {
	return hex.EncodeToString(stamp) + "." + sig
}

// opaqueSignature is the stored signature of a token of the given part. Like fosite's, it is
// empty for anything that is not "key.mac", which no stored row has.
func opaqueSignature(token, part string) string {
	raw := strings.TrimPrefix(token, "ory_"+part+"_")
	key, sig, ok := strings.Cut(raw, ".")
	if !ok || strings.Contains(sig, ".") {
		return ""
	}
	if len(key) != stampedKeyLen {
		return sig // fosite's plain key
	}
	// 12 characters of base64 are exactly 9 bytes, the first 8 of which are the stamp.
	head, err := b64.DecodeString(key[:12])
	if err != nil {
		return ""
	}
	return stamped(head[:stampLen], sig)
}

// AuthorizeCodeSignature implements oauth2.AuthorizeCodeStrategy.
func (s *tokenStrategy) AuthorizeCodeSignature(_ context.Context, token string) string {
	return opaqueSignature(token, "ac")
}

// GenerateAuthorizeCode implements oauth2.AuthorizeCodeStrategy.
func (s *tokenStrategy) GenerateAuthorizeCode(ctx context.Context, _ fosite.Requester) (string, string, error) {
	return s.generateOpaque(ctx, "ac")
}

// RefreshTokenSignature implements oauth2.RefreshTokenStrategy.
func (s *tokenStrategy) RefreshTokenSignature(_ context.Context, token string) string {
	return opaqueSignature(token, "rt")
}

// GenerateRefreshToken implements oauth2.RefreshTokenStrategy.
func (s *tokenStrategy) GenerateRefreshToken(ctx context.Context, _ fosite.Requester) (string, string, error) {
	return s.generateOpaque(ctx, "rt")
}

// JWT access tokens are stored under their jti claim, which starts with the time of issue in
// hex like the opaque tokens' signatures, for the same reason. Tokens issued before (a random jti)
// are stored under their JWS signature and still found by it. The JWS signature is no longer
// stored: with the row's data it would have given back the whole token.

// stampedJTI is a JWT id: the time of issue in hex, a dot, 128 random bits.
func stampedJTI(now time.Time) string {
	var stamp [stampLen]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(now.UnixMicro()))
	var random [16]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read does not fail (Go 1.24)
	return hex.EncodeToString(stamp[:]) + "." + b64.EncodeToString(random[:])
}

// jwtSignature is the stored signature of a JWT access token: its jti when it is a stamped one,
// else (tokens issued before) its JWS signature. A forged token naming another's jti finds that
// row, and is then refused by signature verification, as any altered token is.
func jwtSignature(token string) string {
	last := token[strings.LastIndexByte(token, '.')+1:]
	first := strings.IndexByte(token, '.')
	payload, err := b64.DecodeString(token[first+1 : len(token)-len(last)-1])
	if err != nil {
		return last
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.JTI) != 2*stampLen+1+b64.EncodedLen(16) ||
		claims.JTI[2*stampLen] != '.' {
		return last
	}
	return claims.JTI
}

// newRequestID names a new authorization or client-credentials request. fosite uses random
// (version 4) UUIDs; a version 7 UUID starts with the time, so the token table's request_id
// index also grows at its end rather than on a random page (see the comment at the top).
func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
