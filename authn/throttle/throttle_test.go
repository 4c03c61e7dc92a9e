package throttle

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBlockFor(t *testing.T) {
	r := Rule{Limit: 5, Window: time.Minute, Block: time.Minute, MaxBlock: time.Hour}
	for _, c := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, time.Minute}, {6, 2 * time.Minute}, {7, 4 * time.Minute},
		{10, 32 * time.Minute}, {11, time.Hour}, {1 << 40, time.Hour},
	} {
		if got := r.blockFor(c.failures); got != c.want {
			t.Errorf("blockFor(%d) = %s, want %s", c.failures, got, c.want)
		}
	}
	// Doubling near the top of the range must not overflow into a negative block.
	huge := Rule{Limit: 1, Window: time.Minute, Block: time.Duration(1) << 61, MaxBlock: time.Duration(1<<63 - 1)}
	if got := huge.blockFor(10); got != huge.MaxBlock {
		t.Errorf("huge blockFor = %d, want MaxBlock %d", got, huge.MaxBlock)
	}
	fixed := DefaultCodeAccount()
	if got := fixed.blockFor(fixed.Limit + 3); got != 15*time.Minute {
		t.Errorf("fixed lock-out grew to %s", got)
	}
}

func TestRuleValidate(t *testing.T) {
	ok := Rule{Limit: 1, Window: time.Second, Block: time.Second, MaxBlock: time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
	for _, d := range []func() Rule{DefaultPasswordAccount, DefaultPasswordIP, DefaultCodeAccount, DefaultCodeIP} {
		if err := d().Validate(); err != nil {
			t.Errorf("default %+v: %v", d(), err)
		}
	}
	for name, c := range map[string]struct {
		r     Rule
		field string
	}{
		"zero limit":      {Rule{Limit: 0, Window: time.Second, Block: time.Second, MaxBlock: time.Second}, "Limit"},
		"no window":       {Rule{Limit: 1, Block: time.Second, MaxBlock: time.Second}, "Window"},
		"no block":        {Rule{Limit: 1, Window: time.Second, MaxBlock: time.Second}, "Block"},
		"max under block": {Rule{Limit: 1, Window: time.Second, Block: time.Minute, MaxBlock: time.Second}, "MaxBlock"},
	} {
		err := c.r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: err %v, want one naming %s", name, err, c.field)
		}
	}
}

func TestIPKey(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7", "password:ip:192.0.2.7"},
		{"::ffff:192.0.2.7", "password:ip:192.0.2.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "password:ip:2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "password:ip:2001:db8:1:2::/64"},
		{"fe80::1%eth0", "password:ip:fe80::/64"},
	} {
		if got := IPKey("password", netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("IPKey(%s) = %q, want %q", c.addr, got, c.want)
		}
		if err := checkKey(IPKey("password", netip.MustParseAddr(c.addr))); err != nil {
			t.Errorf("IPKey(%s) is not a valid key: %v", c.addr, err)
		}
	}
	if got := IPKey("code", netip.Addr{}); got != "code:ip:unknown" {
		t.Errorf("IPKey(invalid) = %q", got)
	}
}
