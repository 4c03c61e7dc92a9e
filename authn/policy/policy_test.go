package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseMode(t *testing.T) {
	cases := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"off", Off, true},
		{"optional", Optional, true},
		{"mandatory", Mandatory, true},
		{" Optional ", Optional, true},
		{"MANDATORY", Mandatory, true},
		{"", "", false},
		{"on", "", false},
		{"required", "", false},
		{"mandatory!", "", false},
	}
	for _, c := range cases {
		got, err := ParseMode(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "use off, optional or mandatory") {
			t.Errorf("ParseMode(%q) error does not say what to use: %v", c.in, err)
		}
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.Mode != Off || !p.RequireUV || !p.AllowSynced || p.PasswordsEndAt != nil || len(p.AllowedAAGUIDs) != 0 || p.RemindAfter != 0 || p.RecoveryCodes {
		t.Fatalf("Default() = %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Default() is invalid: %v", err)
	}
	if p.NeedsDirectAttestation() {
		t.Fatal("Default() needs direct attestation")
	}
}

const yubikey = "ee882879-721c-4913-9775-3dfcce97072a"

func TestValidate(t *testing.T) {
	with := func(f func(*Policy)) Policy {
		p := Default()
		f(&p)
		return p
	}
	cases := []struct {
		name string
		p    Policy
		errs []string // substrings the error must contain; none = valid
	}{
		{"default", Default(), nil},
		{"mandatory with deadline", with(func(p *Policy) { p.Mode, p.PasswordsEndAt = Mandatory, at(now) }), nil},
		{"optional with remind", with(func(p *Policy) { p.Mode, p.RemindAfter = Optional, 7*24*time.Hour }), nil},
		{"allow-list in upper case", with(func(p *Policy) { p.AllowedAAGUIDs = []string{strings.ToUpper(yubikey)} }), nil},
		{"device-bound only, no UV", with(func(p *Policy) { p.AllowSynced, p.RequireUV = false, false }), nil},
		{"empty mode", Policy{RequireUV: true, AllowSynced: true}, []string{`passkey mode ""`}},
		{"unknown mode", with(func(p *Policy) { p.Mode = "on" }), []string{`passkey mode "on"`}},
		{"deadline under optional", with(func(p *Policy) { p.Mode, p.PasswordsEndAt = Optional, at(now) }),
			[]string{"needs passkey mode mandatory"}},
		{"deadline under off", with(func(p *Policy) { p.PasswordsEndAt = at(now) }), []string{"needs passkey mode mandatory"}},
		{"zero deadline", with(func(p *Policy) { p.Mode, p.PasswordsEndAt = Mandatory, &time.Time{} }), []string{"is empty"}},
		{"negative remind", with(func(p *Policy) { p.RemindAfter = -time.Hour }), []string{"remind after -1h0m0s"}},
		{"AAGUID not a UUID", with(func(p *Policy) { p.AllowedAAGUIDs = []string{"yubikey"} }), []string{`AAGUID "yubikey"`}},
		{"AAGUID without dashes", with(func(p *Policy) { p.AllowedAAGUIDs = []string{"ee882879721c491397753dfcce97072a"} }),
			[]string{"write it as a UUID"}},
		{"AAGUID with a non-hex digit", with(func(p *Policy) { p.AllowedAAGUIDs = []string{"ee882879-721c-4913-9775-3dfcce97072g"} }),
			[]string{"write it as a UUID"}},
		{"all-zero AAGUID", with(func(p *Policy) { p.AllowedAAGUIDs = []string{zeroAAGUID} }), []string{"names no authenticator model"}},
		{"every problem reported", Policy{Mode: "x", PasswordsEndAt: at(now), RemindAfter: -1, AllowedAAGUIDs: []string{"a", "b"}},
			[]string{`passkey mode "x"`, "needs passkey mode mandatory", "remind after", `AAGUID "a"`, `AAGUID "b"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range c.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	list := []string{" EE882879-721C-4913-9775-3DFCCE97072A", "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", yubikey}
	end := time.Date(2027, 1, 31, 18, 0, 0, 0, time.FixedZone("CET", 3600))
	p := Policy{Mode: Mandatory, PasswordsEndAt: &end, RequireUV: true, AllowedAAGUIDs: list}
	n, err := p.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{yubikey, "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"}; !slices.Equal(n.AllowedAAGUIDs, want) {
		t.Errorf("AAGUIDs = %q, want %q", n.AllowedAAGUIDs, want)
	}
	if list[0] != " EE882879-721C-4913-9775-3DFCCE97072A" || len(list) != 3 {
		t.Errorf("caller's list modified: %q", list)
	}
	if n.PasswordsEndAt.Location() != time.UTC || !n.PasswordsEndAt.Equal(end) {
		t.Errorf("deadline = %v", n.PasswordsEndAt)
	}
	if end.Location() == time.UTC {
		t.Error("caller's deadline modified")
	}
	if !n.NeedsDirectAttestation() || n.Mode != Mandatory || !n.RequireUV {
		t.Errorf("normalised policy lost fields: %+v", n)
	}
	if _, err := (Policy{Mode: "x"}).Normalize(); err == nil {
		t.Error("Normalize accepted an invalid policy")
	}
}
