package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider"
)

// opsKey is one row of `keys list`.
type opsKey struct {
	KID, Alg, State, Created, PublishUntil string
}

// opsParseKeys parses the key table printed by `keys list` and `keys rotate` (after any lines
// before its header).
func opsParseKeys(t *testing.T, out string) []opsKey {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "KID") })
	if h < 0 || !slices.Equal(strings.Fields(lines[h]), []string{"KID", "ALG", "STATE", "CREATED", "PUBLISHED", "UNTIL"}) {
		t.Fatalf("no key table header in:\n%s", out)
	}
	var keys []opsKey
	for _, l := range lines[h+1:] {
		f := strings.Fields(l)
		if len(f) != 4 && len(f) != 5 {
			t.Fatalf("key row %q", l)
		}
		k := opsKey{KID: f[0], Alg: f[1], State: f[2], Created: f[3]}
		if len(f) == 5 {
			k.PublishUntil = f[4]
		}
		if _, err := time.Parse(time.RFC3339, k.Created); err != nil {
			t.Fatalf("key row %q: created: %v", l, err)
		}
		keys = append(keys, k)
	}
	return keys
}

// opsKeyIn returns the kids of the keys of alg in state.
func opsKeyIn(keys []opsKey, alg, state string) []string {
	var kids []string
	for _, k := range keys {
		if k.Alg == alg && k.State == state {
			kids = append(kids, k.KID)
		}
	}
	return kids
}

// opsJWKSKids fetches a server's JWKS and returns kid -> alg.
func opsJWKSKids(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, body := opsGet(t, base+"/.well-known/jwks.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS of %s: %d %s", base, resp.StatusCode, body)
	}
	var set struct {
		Keys []struct{ Kid, Alg, Use string }
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range set.Keys {
		if k.Use != "sig" {
			t.Errorf("JWKS key %s has use %q, want sig", k.Kid, k.Use)
		}
		out[k.Kid] = k.Alg
	}
	if len(out) != len(set.Keys) {
		t.Fatalf("JWKS of %s repeats a kid: %s", base, body)
	}
	return out
}

func TestKeysList(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		out, err := s.cli("keys", "list")
		if err != nil {
			t.Fatalf("keys list: %v", err)
		}
		keys := opsParseKeys(t, out)
		var got []string
		for _, k := range keys {
			got = append(got, k.Alg+" "+k.State)
			if k.PublishUntil != "" {
				t.Errorf("%s key %s has a publication end %s", k.State, k.KID, k.PublishUntil)
			}
		}
		if want := []string{"ES256 active", "ES256 next", "RS256 active", "RS256 next"}; !slices.Equal(got, want) {
			t.Fatalf("keys list: %v, want %v:\n%s", got, want, out)
		}
		// The server signs with the listed active keys and publishes exactly the listed keys.
		jwks := opsJWKSKids(t, s.URL)
		for _, k := range keys {
			if jwks[k.KID] != k.Alg {
				t.Errorf("JWKS has %s as %q, want %s", k.KID, jwks[k.KID], k.Alg)
			}
		}
		if len(jwks) != len(keys) {
			t.Errorf("JWKS has %d keys, keys list %d", len(jwks), len(keys))
		}
		for _, alg := range []string{"ES256", "RS256"} {
			sk, err := s.app.keys.SigningKey(context.Background(), alg)
			if err != nil {
				t.Fatal(err)
			}
			if active := opsKeyIn(keys, alg, "active"); len(active) != 1 || sk.KeyID != active[0] {
				t.Errorf("server signs %s with %s, keys list says active %v", alg, sk.KeyID, active)
			}
		}
	})
}

func TestKeysCommandErrors(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	before, err := s.cli("keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "rotate", "--alg", "HS256"}, "--alg"},
		{[]string{"keys", "rotate", "--alg", "none"}, "--alg"},
	} {
		if out, err := s.cli(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%v: %q, %v; want an error naming %s", tc.args, out, err, tc.want)
		}
	}
	if after, _ := s.cli("keys", "list"); after != before {
		t.Fatalf("a rejected rotation changed the keys:\n%s\n%s", before, after)
	}
	// keys never runs on a database whose schema is behind.
	_, _, err = opsRun(t, "keys", "list", "--database", testdb.SQLiteDSN(t), "--secret-file", s.SecretFile)
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("keys list on an empty database: %v, want an error telling to run migrate up", err)
	}
}

// `keys rotate --alg RS256` rotates only RS256.
func TestKeysRotateOneAlgorithm(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	out, _ := s.cli("keys", "list")
	before := opsParseKeys(t, out)
	out, err := s.cli("keys", "rotate", "--alg", "RS256")
	if err != nil {
		t.Fatalf("keys rotate --alg RS256: %v", err)
	}
	after := opsParseKeys(t, out)
	if !slices.Equal(opsKeyIn(after, "ES256", "active"), opsKeyIn(before, "ES256", "active")) ||
		!slices.Equal(opsKeyIn(after, "ES256", "next"), opsKeyIn(before, "ES256", "next")) ||
		len(opsKeyIn(after, "ES256", "retired")) != 0 {
		t.Fatalf("rotating RS256 changed ES256:\n%v\n%v", before, after)
	}
	if !slices.Equal(opsKeyIn(after, "RS256", "active"), opsKeyIn(before, "RS256", "next")) ||
		!slices.Equal(opsKeyIn(after, "RS256", "retired"), opsKeyIn(before, "RS256", "active")) {
		t.Fatalf("RS256 not rotated:\n%v\n%v", before, after)
	}
}

// `keys rotate` through the CLI against a running server's database: a server started afterwards
// publishes the new keys and the retired ones, signs with the new active keys, and tokens signed
// before the rotation (or by the first server since) still verify.
func TestKeysRotate(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", testdb.SQLiteDSN},
		{"postgres", testdb.PostgresDSN},
	} {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			secretPath := filepath.Join(t.TempDir(), "portcullis.secret")
			s1 := startServer(t, dsn, secretPath)
			clients := map[string]registered{
				"ES256": s1.createClient("--name", "ES app", "--redirect-uri", callback),
				"RS256": s1.createClient("--name", "RS app", "--redirect-uri", callback, "--id-token-alg", "RS256"),
			}
			u := s1.createUser("ivan")
			out, err := s1.cli("keys", "list")
			if err != nil {
				t.Fatal(err)
			}
			before := opsParseKeys(t, out)
			tokens := map[string]string{}
			for alg, c := range clients {
				tokens[alg] = opsIDToken(t, s1, c, u)
				if kid, hAlg := opsJWTHeader(t, tokens[alg]); kid != opsKeyIn(before, alg, "active")[0] || hAlg != alg {
					t.Fatalf("%s ID token before the rotation signed by %s %s, want the active key %v", alg, hAlg, kid, opsKeyIn(before, alg, "active"))
				}
			}

			rotatedAt := time.Now()
			out, err = s1.cli("keys", "rotate")
			if err != nil {
				t.Fatalf("keys rotate: %v", err)
			}
			after := opsParseKeys(t, out)
			wantLine := fmt.Sprintf("rotated: now signing with [%s %s]", opsKeyIn(before, "ES256", "next")[0], opsKeyIn(before, "RS256", "next")[0])
			if !strings.HasPrefix(out, wantLine) {
				t.Fatalf("keys rotate printed %q, want it to start with %q", out, wantLine)
			}
			if len(after) != 6 {
				t.Fatalf("after rotation %d keys, want 6:\n%s", len(after), out)
			}
			for _, alg := range []string{"ES256", "RS256"} {
				active, next, retired := opsKeyIn(after, alg, "active"), opsKeyIn(after, alg, "next"), opsKeyIn(after, alg, "retired")
				if !slices.Equal(active, opsKeyIn(before, alg, "next")) || !slices.Equal(retired, opsKeyIn(before, alg, "active")) ||
					len(next) != 1 || slices.ContainsFunc(before, func(k opsKey) bool { return k.KID == next[0] }) {
					t.Fatalf("%s after rotation: active %v next %v retired %v; before %v", alg, active, next, retired, before)
				}
				for _, k := range after {
					if k.KID != retired[0] {
						continue
					}
					until, err := time.Parse(time.RFC3339, k.PublishUntil)
					want := rotatedAt.Add(provider.RetiredKeyPublish)
					if err != nil || until.Before(want.Add(-time.Minute)) || until.After(want.Add(time.Minute)) {
						t.Fatalf("retired %s key published until %q, want about %s", alg, k.PublishUntil, want.UTC().Format(time.RFC3339))
					}
				}
			}
			if n := opsCount(t, s1, "SELECT COUNT(*) FROM audit_events WHERE action = ? AND actor = ?", "keys.rotated", "cli"); n != 1 {
				t.Fatalf("%d keys.rotated audit events, want 1", n)
			}

			// A server started now publishes every key: the new active and next keys and the retired ones.
			s2 := startServer(t, dsn, secretPath)
			jwks := opsJWKSKids(t, s2.URL)
			for _, k := range after {
				if jwks[k.KID] != k.Alg {
					t.Errorf("JWKS after rotation has %s (%s %s) as %q", k.KID, k.Alg, k.State, jwks[k.KID])
				}
			}
			if len(jwks) != len(after) {
				t.Fatalf("JWKS after rotation has %d keys, want %d", len(jwks), len(after))
			}
			jwksURL := s2.URL + "/.well-known/jwks.json"
			for alg, c := range clients {
				// Signed before the rotation: verifies against the new JWKS.
				if err := opsVerifyAgainst(tokens[alg], s1.URL, jwksURL, c.ID); err != nil {
					t.Errorf("%s ID token signed before the rotation against the new JWKS: %v", alg, err)
				}
				// The first server may sign with its cached keys for up to the cache time: still published.
				tok := opsIDToken(t, s1, c, u)
				if kid, _ := opsJWTHeader(t, tok); kid != opsKeyIn(after, alg, "retired")[0] && kid != opsKeyIn(after, alg, "active")[0] {
					t.Errorf("%s ID token from the first server after the rotation has kid %s", alg, kid)
				}
				if err := opsVerifyAgainst(tok, s1.URL, jwksURL, c.ID); err != nil {
					t.Errorf("%s ID token from the first server after the rotation against the new JWKS: %v", alg, err)
				}
				// Signed after the rotation by the new server: the new active key.
				tok = opsIDToken(t, s2, c, u)
				if kid, hAlg := opsJWTHeader(t, tok); kid != opsKeyIn(after, alg, "active")[0] || hAlg != alg {
					t.Errorf("%s ID token from the new server signed by %s %s, want the new active key %s", alg, hAlg, kid, opsKeyIn(after, alg, "active")[0])
				}
			}
		})
	}
}
