package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestGeneratedSecretMatchesReloaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	first, created, err := Load(path, true)
	if err != nil || !created {
		t.Fatalf("generate: %v %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	again, created, err := Load(path, true)
	if err != nil || created {
		t.Fatalf("reload: %v %v", created, err)
	}
	if !bytes.Equal(first.Key("x"), again.Key("x")) {
		t.Fatal("a generated secret derives other keys once reloaded")
	}
	if bytes.Equal(first.Key("x"), first.Key("y")) {
		t.Fatal("purposes share a key")
	}
}

func TestMissingSecretRefusedOutsideDevelopment(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "none"), false); err == nil {
		t.Fatal("missing secret accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad")
	_ = os.WriteFile(bad, []byte("short"), 0o600)
	if _, _, err := Load(bad, false); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestSealerAndHasher(t *testing.T) {
	a, b := FromBytes([]byte("one")), FromBytes([]byte("two"))
	sealed := a.Sealer("k").Seal([]byte("private"))
	if pt, err := a.Sealer("k").Open(sealed); err != nil || string(pt) != "private" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := b.Sealer("k").Open(sealed); err == nil {
		t.Fatal("opened with another secret")
	}
	if _, err := a.Sealer("other").Open(sealed); err == nil {
		t.Fatal("opened for another purpose")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := a.Sealer("k").Open(sealed); err == nil {
		t.Fatal("opened altered data")
	}
	h := a.Hasher("p")
	if !h.Equal(h.Sum([]byte("s")), []byte("s")) || h.Equal(h.Sum([]byte("s")), []byte("t")) {
		t.Fatal("hasher compare")
	}
	if bytes.Equal(h.Sum([]byte("s")), b.Hasher("p").Sum([]byte("s"))) {
		t.Fatal("hash does not depend on the secret")
	}
}
