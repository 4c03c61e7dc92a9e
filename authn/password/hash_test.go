package password

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// testParams are far below production strength so tests stay fast; newHasher skips Validate.
var testParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	if want := (Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}); p != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", p, want)
	}
	h, err := NewHasher(p)
	if err != nil {
		t.Fatalf("NewHasher(DefaultParams()): %v", err)
	}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") || !phcPattern.MatchString(enc) {
		t.Fatalf("Hash() = %q, not a PHC argon2id string with the default parameters", enc)
	}
	ok, upgrade, err := h.Verify(enc, "correct horse battery staple")
	if !ok || upgrade || err != nil {
		t.Fatalf("Verify(own hash) = %v, %v, %v; want true, false, nil", ok, upgrade, err)
	}
}

func TestParamsValidate(t *testing.T) {
	d := DefaultParams()
	with := func(f func(*Params)) Params { p := d; f(&p); return p }
	cases := []struct {
		name    string
		p       Params
		wantKey string // config key the error must name; "" for valid
	}{
		{"default", d, ""},
		{"OWASP m=47104 t=1", with(func(p *Params) { p.Memory, p.Iterations = 47104, 1 }), ""},
		{"OWASP m=7168 t=5", with(func(p *Params) { p.Memory, p.Iterations = 7168, 5 }), ""},
		{"1 GiB t=4", with(func(p *Params) { p.Memory, p.Iterations = 1<<20, 4 }), ""},
		{"memory too low", with(func(p *Params) { p.Memory = 4096 }), KeyMemory},
		{"memory above 1 GiB", with(func(p *Params) { p.Memory = 1<<20 + 1 }), KeyMemory},
		{"zero iterations", with(func(p *Params) { p.Iterations = 0 }), KeyIterations},
		{"too many iterations", with(func(p *Params) { p.Iterations = 17 }), KeyIterations},
		{"m×t too weak", with(func(p *Params) { p.Memory, p.Iterations = 7168, 1 }), KeyIterations},
		{"m×t too costly", with(func(p *Params) { p.Memory, p.Iterations = 1<<20, 5 }), KeyIterations},
		{"zero parallelism", with(func(p *Params) { p.Parallelism = 0 }), KeyParallelism},
		{"too much parallelism", with(func(p *Params) { p.Parallelism = 17 }), KeyParallelism},
		{"short salt", with(func(p *Params) { p.SaltLen = 8 }), KeySaltLen},
		{"long salt", with(func(p *Params) { p.SaltLen = 65 }), KeySaltLen},
		{"short key", with(func(p *Params) { p.KeyLen = 8 }), KeyKeyLen},
		{"long key", with(func(p *Params) { p.KeyLen = 65 }), KeyKeyLen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			if c.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", c.p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantKey) {
				t.Fatalf("Validate(%+v) = %v, want an error naming %s", c.p, err, c.wantKey)
			}
			if _, err := NewHasher(c.p); err == nil {
				t.Fatalf("NewHasher(%+v) accepted invalid parameters", c.p)
			}
		})
	}
	// Several problems are all reported, so an operator fixes them in one go.
	err := Params{}.Validate()
	for _, key := range []string{KeyMemory, KeyIterations, KeyParallelism, KeySaltLen, KeyKeyLen} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate(zero Params) = %v, want it to name %s", err, key)
		}
	}
}

func TestArgon2RoundTrip(t *testing.T) {
	h := newHasher(testParams)
	const pw = "Tr0ub4dor&3 but longer ✓"
	a, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Hash(pw)
	if a == b {
		t.Fatal("two hashes of the same password are equal; the salt is not random")
	}
	m := phcPattern.FindStringSubmatch(a)
	if m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Fatalf("Hash() = %q, want $argon2id$v=19$m=64,t=1,p=1$...", a)
	}
	if err := CheckImported(a); err != nil {
		t.Fatalf("CheckImported(own hash) = %v", err)
	}
	for _, c := range []struct {
		name, pw         string
		wantOK, wantUpgr bool
	}{
		{"right password", pw, true, false},
		{"wrong password", pw + "x", false, false},
		{"case differs", strings.ToUpper(pw), false, false},
		{"empty password", "", false, false},
		{"over MaxInputBytes", strings.Repeat("a", MaxInputBytes+1), false, false},
	} {
		ok, upgrade, err := h.Verify(a, c.pw)
		if ok != c.wantOK || upgrade != c.wantUpgr || err != nil {
			t.Errorf("%s: Verify = %v, %v, %v; want %v, %v, nil", c.name, ok, upgrade, err, c.wantOK, c.wantUpgr)
		}
	}
}

// A hash made with other argon2id parameters verifies, and asks to be upgraded; the upgraded
// hash then no longer asks.
func TestArgon2UpgradeOnParamChange(t *testing.T) {
	old := newHasher(testParams)
	enc, _ := old.Hash("a long enough passphrase")
	for _, p := range []Params{
		{Memory: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 64},
	} {
		cur := newHasher(p)
		ok, upgrade, err := cur.Verify(enc, "a long enough passphrase")
		if !ok || !upgrade || err != nil {
			t.Errorf("params %+v: Verify(old hash) = %v, %v, %v; want true, true, nil", p, ok, upgrade, err)
		}
		if ok, upgrade, _ := cur.Verify(enc, "wrong"); ok || upgrade {
			t.Errorf("params %+v: wrong password gave ok=%v upgrade=%v", p, ok, upgrade)
		}
		fresh, _ := cur.Hash("a long enough passphrase")
		if ok, upgrade, err := cur.Verify(fresh, "a long enough passphrase"); !ok || upgrade || err != nil {
			t.Errorf("params %+v: Verify(re-hashed) = %v, %v, %v; want true, false, nil", p, ok, upgrade, err)
		}
	}
}

// Dummy must cost about what a real Verify costs, or the response time tells whether an account
// exists. The bound is loose (minimum of several runs, within a factor of two) to stay reliable
// on a busy machine.
func TestDummyTakesAsLongAsVerify(t *testing.T) {
	h, err := NewHasher(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := h.Hash("some password here")
	// Alternate the two and keep each one's fastest run, so a burst of load on the machine
	// slows both or is discarded.
	verify, dummy := time.Duration(1<<62), time.Duration(1<<62)
	for range 5 {
		start := time.Now()
		_, _, _ = h.Verify(enc, "some other password")
		verify = min(verify, time.Since(start))
		start = time.Now()
		h.Dummy("some other password")
		dummy = min(dummy, time.Since(start))
	}
	t.Logf("fastest Verify %v, fastest Dummy %v", verify, dummy)
	if dummy < verify/2 || dummy > verify*2 {
		t.Fatalf("Dummy took %v, Verify %v; want within a factor of two", dummy, verify)
	}
}
