package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Vectors made by other implementations, so the formats are checked against the tools users
// import from, not only against this package's reading of them. Produced with Debian bookworm's
// python3-passlib 1.7.4, python3-bcrypt 3.2.2 and python3-argon2 21.1.0:
//
//	pw = "correct horse battery staple ✓"
//	passlib.hash.pbkdf2_sha256.using(rounds=1200, salt=bytes(range(16))).hash(pw)
//	passlib.hash.django_pbkdf2_sha256.using(rounds=1200, salt="Rz4TI4Rmrx9BWLmQEmFFd1").hash(pw)
//	bcrypt.hashpw(pw.encode(), b"$2b$05$abcdefghijklmnopqrstuu")
//	argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=2, hash_len=32, type=argon2.Type.ID).hash(pw)
const externalPassword = "correct horse battery staple ✓"

var externalVectors = []struct{ name, encoded string }{
	{"passlib pbkdf2_sha256", "$pbkdf2-sha256$1200$AAECAwQFBgcICQoLDA0ODw$bQ6bPSatuImqjFkYGzODas9KgEj0lcuRlgsSyd03.mw"},
	{"django pbkdf2_sha256", "pbkdf2_sha256$1200$Rz4TI4Rmrx9BWLmQEmFFd1$xh2UVKDq10UzgPj/nOsSQLs01XIMkMmB49EPZ8vl8XA="},
	{"pyca bcrypt $2b$", "$2b$05$abcdefghijklmnopqrstuuEJyUQEKYkyFPvNvJnkW/5eX8iqVRohS"},
	{"pyca bcrypt $2a$", "$2a$05$abcdefghijklmnopqrstuuEJyUQEKYkyFPvNvJnkW/5eX8iqVRohS"},
	// PHP's $2y$ is the same algorithm as $2b$ under another name.
	{"php-style bcrypt $2y$", "$2y$05$abcdefghijklmnopqrstuuEJyUQEKYkyFPvNvJnkW/5eX8iqVRohS"},
	{"argon2-cffi argon2id", "$argon2id$v=19$m=64,t=1,p=2$vEODkNgckbKCL07Ko5UuwA$Zl2273FlPNvWys2kZWO14o1Jda/9dLPs1nsb4OOnf84"},
}

func TestExternalVectors(t *testing.T) {
	h := newHasher(testParams)
	for _, v := range externalVectors {
		t.Run(v.name, func(t *testing.T) {
			if err := CheckImported(v.encoded); err != nil {
				t.Fatalf("CheckImported = %v", err)
			}
			ok, upgrade, err := h.Verify(v.encoded, externalPassword)
			if !ok || !upgrade || err != nil {
				t.Fatalf("Verify(right password) = %v, %v, %v; want true, true, nil", ok, upgrade, err)
			}
			ok, upgrade, err = h.Verify(v.encoded, "correct horse battery staple")
			if ok || upgrade || err != nil {
				t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, upgrade, err)
			}
		})
	}
}

// importedHashes builds one hash of pw per accepted imported format, with x/crypto/bcrypt and
// the standard library's PBKDF2 as the reference implementations.
func importedHashes(t *testing.T, pw string) map[string]string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bc := string(b)
	if !strings.HasPrefix(bc, "$2a$") {
		t.Fatalf("x/crypto/bcrypt wrote %q, expected a $2a$ hash", bc[:4])
	}
	salt := []byte("sixteen byte sal")
	key, err := pbkdf2.Key(sha256.New, pw, salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	djangoSalt := "b8ZLqUtW4fFdTpXzV2uM3k"
	djangoKey, err := pbkdf2.Key(sha256.New, pw, []byte(djangoSalt), 2000, 32)
	if err != nil {
		t.Fatal(err)
	}
	ab64 := func(b []byte) string { return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".") }
	return map[string]string{
		"bcrypt $2a$":    bc,
		"bcrypt $2b$":    "$2b$" + bc[4:],
		"bcrypt $2y$":    "$2y$" + bc[4:],
		"django pbkdf2":  fmt.Sprintf("pbkdf2_sha256$2000$%s$%s", djangoSalt, base64.StdEncoding.EncodeToString(djangoKey)),
		"passlib pbkdf2": fmt.Sprintf("$pbkdf2-sha256$1000$%s$%s", ab64(salt), ab64(key)),
	}
}

func TestImportedFormats(t *testing.T) {
	const pw = "imported user's password"
	h := newHasher(testParams)
	for name, enc := range importedHashes(t, pw) {
		t.Run(name, func(t *testing.T) {
			if err := CheckImported(enc); err != nil {
				t.Fatalf("CheckImported = %v", err)
			}
			// Every imported format other than argon2id with our parameters is upgraded.
			if ok, upgrade, err := h.Verify(enc, pw); !ok || !upgrade || err != nil {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, upgrade, err)
			}
			for _, wrong := range []string{pw + " ", "Imported user's password", "", pw[:len(pw)-1]} {
				if ok, upgrade, err := h.Verify(enc, wrong); ok || upgrade || err != nil {
					t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, upgrade, err)
				}
			}
			// Changing one character of the hash must break the match, not the parse.
			i := len(enc) - 5
			flip := byte('A')
			if enc[i] == 'A' {
				flip = 'B'
			}
			tampered := enc[:i] + string(flip) + enc[i+1:]
			if ok, _, err := h.Verify(tampered, pw); ok || err != nil {
				t.Fatalf("Verify(tampered hash) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestMalformedAndAbsurdHashes(t *testing.T) {
	good := importedHashes(t, "whatever it is")
	bc := good["bcrypt $2a$"]
	salt16 := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key32 := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt16 + "$" + key32 }
	django := func(iter, salt, key string) string { return "pbkdf2_sha256$" + iter + "$" + salt + "$" + key }
	passlib := func(iter, salt, key string) string { return "$pbkdf2-sha256$" + iter + "$" + salt + "$" + key }
	dKey := base64.StdEncoding.EncodeToString(make([]byte, 32))
	pSalt, pKey := "AAECAwQFBgcICQoLDA0ODw", "bQ6bPSatuImqjFkYGzODas9KgEj0lcuRlgsSyd03.mw"

	unsupported := []string{
		"", "hunter2", "plain text password", "$1$saltsalt$hash", "$5$rounds=5000$salt$hash",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32,
		"$2x$05$" + bc[7:], "$2$05$" + bc[7:],
		"pbkdf2_sha1$1000$salt$" + dKey, "$pbkdf2-sha512$1000$" + pSalt + "$" + pKey,
		"{SSHA}abc", " " + bc,
	}
	for _, enc := range unsupported {
		err := CheckImported(enc)
		if !errors.Is(err, ErrUnsupportedHash) {
			t.Errorf("CheckImported(%q) = %v, want ErrUnsupportedHash", enc, err)
			continue
		}
		for _, name := range []string{"bcrypt", "argon2id", "Django", "passlib"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("unsupported-format error %q does not mention %s", err, name)
			}
		}
	}

	malformed := map[string]string{
		"bcrypt too short":          bc[:59],
		"bcrypt too long":           bc + "a",
		"bcrypt cost 17":            bc[:4] + "17" + bc[6:],
		"bcrypt cost 31":            bc[:4] + "31" + bc[6:],
		"bcrypt cost 03":            bc[:4] + "03" + bc[6:],
		"bcrypt cost not digits":    bc[:4] + "1a" + bc[6:],
		"bcrypt bad alphabet":       bc[:20] + "+" + bc[21:],
		"bcrypt missing separator":  bc[:6] + "x" + bc[7:],
		"bcrypt trailing newline":   bc[:59] + "\n",
		"argon2 no version":         "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32,
		"argon2 old version":        "$argon2id$v=16$m=64,t=1,p=1$" + salt16 + "$" + key32,
		"argon2 memory over 1 GiB":  argon("m=1048577,t=1,p=1"),
		"argon2 memory 2 GiB":       argon("m=2097152,t=1,p=1"),
		"argon2 work too high":      argon("m=1048576,t=5,p=1"),
		"argon2 t=0":                argon("m=64,t=0,p=1"),
		"argon2 t=17":               argon("m=64,t=17,p=1"),
		"argon2 p=0":                argon("m=64,t=1,p=0"),
		"argon2 p=17":               argon("m=1024,t=1,p=17"),
		"argon2 m below 8p":         argon("m=15,t=1,p=2"),
		"argon2 missing p":          argon("m=64,t=1"),
		"argon2 repeated t":         argon("m=64,t=1,t=1"),
		"argon2 extra data param":   argon("m=64,t=1,p=1,data=YWJj"),
		"argon2 leading zero":       argon("m=064,t=1,p=1"),
		"argon2 signed number":      argon("m=+64,t=1,p=1"),
		"argon2 huge number":        argon("m=99999999999999999999999,t=1,p=1"),
		"argon2 padded salt":        "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "==$" + key32,
		"argon2 salt too short":     "$argon2id$v=19$m=64,t=1,p=1$YWJjZA$" + key32,
		"argon2 key too short":      "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$YWJjZA",
		"argon2 missing hash":       "$argon2id$v=19$m=64,t=1,p=1$" + salt16,
		"argon2 extra field":        argon("m=64,t=1,p=1") + "$x",
		"django iterations 999":     django("999", "salt", dKey),
		"django iterations 10M+1":   django("10000001", "salt", dKey),
		"django iterations not num": django("1e6", "salt", dKey),
		"django empty salt":         django("1000", "", dKey),
		"django salt with space":    django("1000", "a salt", dKey),
		"django unpadded hash":      django("1000", "salt", strings.TrimRight(dKey, "=")),
		"django short hash":         django("1000", "salt", base64.StdEncoding.EncodeToString(make([]byte, 8))),
		"django extra field":        django("1000", "salt", dKey) + "$x",
		"passlib iterations 999":    passlib("999", pSalt, pKey),
		"passlib iterations 10M+1":  passlib("10000001", pSalt, pKey),
		"passlib plus in hash":      passlib("1000", pSalt, strings.ReplaceAll(pKey, ".", "+")),
		"passlib padded salt":       passlib("1000", pSalt+"==", pKey),
		"passlib empty salt":        passlib("1000", "", pKey),
		"passlib short hash":        passlib("1000", pSalt, "AAECAwQFBgc"),
		"passlib missing hash":      "$pbkdf2-sha256$1000$" + pSalt,
	}
	h := newHasher(testParams)
	for name, enc := range malformed {
		err := CheckImported(enc)
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: CheckImported = %v, want ErrMalformedHash", name, err)
			continue
		}
		if _, _, verr := h.Verify(enc, "whatever it is"); verr == nil {
			t.Errorf("%s: Verify accepted a hash CheckImported refuses", name)
		}
		// Errors may be logged: they must not repeat the stored salt or hash.
		for _, secret := range []string{salt16, key32, pKey, bc[7:29], dKey} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q repeats part of the hash", name, err)
			}
		}
	}

	// The bounds are inclusive: the largest accepted parameters still parse.
	for _, enc := range []string{
		argon("m=1048576,t=4,p=1"), argon("m=16,t=1,p=2"),
		bc[:4] + "16" + bc[6:], bc[:4] + "04" + bc[6:],
		django("10000000", "salt", dKey), passlib("1000", pSalt, pKey),
	} {
		if err := CheckImported(enc); err != nil {
			t.Errorf("CheckImported(%q) = %v, want nil", enc, err)
		}
	}
}
