package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
)

func testStrategy(secret string, rotated ...string) *tokenStrategy {
	cfg := &fosite.Config{GlobalSecret: []byte(secret)}
	for _, r := range rotated {
		cfg.RotatedGlobalSecrets = append(cfg.RotatedGlobalSecrets, []byte(r))
	}
	return &tokenStrategy{
		HMACSHAStrategy: oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: cfg}, cfg),
		hmacConfig:      cfg,
	}
}

func liveRequest() fosite.Requester {
	r := fosite.NewAccessRequest(NewSession())
	for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode} {
		r.GetSession().SetExpiresAt(tt, time.Now().Add(time.Hour))
	}
	return r
}

// Time-stamped tokens must pass fosite's own validation, with the current and a rotated
// secret, and fail it with another secret or when altered.
func TestOpaqueTokensValidateWithFosite(t *testing.T) {
	ctx := context.Background()
	const current, old = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	s := testStrategy(current)
	r := liveRequest()
	type kind struct {
		part     string
		generate func(context.Context, fosite.Requester) (string, string, error)
		validate func(*tokenStrategy) func(context.Context, fosite.Requester, string) error
		sig      func(context.Context, string) string
	}
	for _, k := range []kind{
		{"at", s.GenerateAccessToken, func(x *tokenStrategy) func(context.Context, fosite.Requester, string) error {
			return x.ValidateAccessToken
		}, s.AccessTokenSignature},
		{"rt", s.GenerateRefreshToken, func(x *tokenStrategy) func(context.Context, fosite.Requester, string) error {
			return x.ValidateRefreshToken
		}, s.RefreshTokenSignature},
		{"ac", s.GenerateAuthorizeCode, func(x *tokenStrategy) func(context.Context, fosite.Requester, string) error {
			return x.ValidateAuthorizeCode
		}, s.AuthorizeCodeSignature},
	} {
		token, sig, err := k.generate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, "ory_"+k.part+"_") {
			t.Errorf("%s: token %q lacks fosite's prefix", k.part, token)
		}
		if got := k.sig(ctx, token); got != sig {
			t.Errorf("%s: signature of the token %q, generated %q", k.part, got, sig)
		}
		if strings.Contains(sig, token[len("ory_xx_"):strings.IndexByte(token, '.')]) {
			t.Errorf("%s: the stored signature %q contains the secret key", k.part, sig)
		}
		if err := k.validate(s)(ctx, r, token); err != nil {
			t.Errorf("%s: fosite refused its own token: %v", k.part, err)
		}
		if err := k.validate(testStrategy(old, current))(ctx, r, token); err != nil {
			t.Errorf("%s: refused with the secret rotated out: %v", k.part, err)
		}
		if err := k.validate(testStrategy(old))(ctx, r, token); err == nil {
			t.Errorf("%s: accepted under another secret", k.part)
		}
		i := len("ory_xx_") + 20 // inside the random part of the key
		repl := "A"
		if token[i] == 'A' {
			repl = "B"
		}
		altered := token[:i] + repl + token[i+1:]
		if err := k.validate(s)(ctx, r, altered); err == nil {
			t.Errorf("%s: accepted an altered token", k.part)
		}
	}
}

// Successive signatures sort in the order they were issued: that is their whole point.
func TestOpaqueSignaturesAreTimeOrdered(t *testing.T) {
	ctx := context.Background()
	s := testStrategy("0123456789abcdef0123456789abcdef")
	prev := ""
	for i := range 50 {
		_, sig, err := s.GenerateAccessToken(ctx, liveRequest())
		if err != nil {
			t.Fatal(err)
		}
		stamp := sig[:strings.IndexByte(sig, '.')]
		if i > 0 && stamp < prev {
			t.Fatalf("signature %d (%s) sorts before the one issued before it (%s)", i, stamp, prev)
		}
		prev = stamp
		time.Sleep(10 * time.Microsecond)
	}
}

// Tokens issued before time stamps (fosite's plain 32-byte keys) keep their old signature, so
// they can still be found and used.
func TestOpaquePlainTokensKeepTheirSignature(t *testing.T) {
	ctx := context.Background()
	cfg := &fosite.Config{GlobalSecret: []byte("0123456789abcdef0123456789abcdef")}
	plain := oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: cfg}, cfg)
	s := testStrategy(string(cfg.GlobalSecret))
	r := liveRequest()
	token, sig, err := plain.GenerateAccessToken(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.AccessTokenSignature(ctx, token); got != sig {
		t.Errorf("plain token's signature %q, fosite's %q", got, sig)
	}
	if err := s.ValidateAccessToken(ctx, r, token); err != nil {
		t.Errorf("plain token refused: %v", err)
	}
	for _, bad := range []string{"", "ory_at_", "ory_at_abc", "x.y.z.w"} {
		if got := s.AccessTokenSignature(ctx, bad); got != "" {
			t.Errorf("signature of %q is %q, want empty", bad, got)
		}
	}
}

func TestRequestIDsAreTimeOrdered(t *testing.T) {
	prev := ""
	for i := range 50 {
		id := newRequestID()
		if len(id) != 36 || id < prev {
			t.Fatalf("request id %d: %q after %q", i, id, prev)
		}
		prev = id
	}
}

// JWT access tokens are stored under their stamped jti; a token from before (random jti) keeps
// its JWS signature as its key; anything unreadable falls back to the signature too.
func TestJWTSignature(t *testing.T) {
	jwt := func(payload string) string {
		return "eyJhbGciOiJFUzI1NiJ9." + b64.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
	}
	now := time.Now()
	jti := stampedJTI(now)
	if got := jwtSignature(jwt(`{"sub":"x","jti":"` + jti + `"}`)); got != jti {
		t.Errorf("stamped: %q, want %q", got, jti)
	}
	later := stampedJTI(now.Add(time.Millisecond))
	if later[:2*stampLen] <= jti[:2*stampLen] {
		t.Errorf("jti %q issued after %q does not sort after it", later, jti)
	}
	for name, token := range map[string]string{
		"random jti":    jwt(`{"jti":"3q2-7wAAAAAAAAAAAAAAAA"}`),
		"no jti":        jwt(`{"sub":"x"}`),
		"not JSON":      jwt(`nope`),
		"not base64":    "eyJhbGciOiJFUzI1NiJ9.!!!.c2lnbmF0dXJl",
		"wrong stamp":   jwt(`{"jti":"` + strings.Replace(jti, ".", "x", 1) + `"}`),
		"jti too short": jwt(`{"jti":"` + jti[:20] + `"}`),
	} {
		if got := jwtSignature(token); got != "c2lnbmF0dXJl" {
			t.Errorf("%s: %q, want the JWS signature", name, got)
		}
	}
}
