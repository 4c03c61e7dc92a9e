package throttle

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"
)

// MaxKeyLen bounds a key in bytes; the table checks the same bound.
const MaxKeyLen = 256

// ErrInvalidKey is returned for an empty or over-long key, or one that is not printable UTF-8.
var ErrInvalidKey = errors.New("throttle: key must be 1 to 256 bytes of printable UTF-8")

// Rule says how one kind of key is limited; see the package documentation.
type Rule struct {
	Limit    int           // failures allowed within Window; the Limit-th blocks the key
	Window   time.Duration // the count is forgotten this long after the first failure (or after a block ends)
	Block    time.Duration // first block once Limit is reached
	MaxBlock time.Duration // each further failure while over the limit doubles the block, up to this
}

// Validate reports a rule that would block everything or nothing, naming the field.
func (r Rule) Validate() error {
	switch {
	case r.Limit < 1:
		return fmt.Errorf("throttle: Limit must be at least 1, got %d", r.Limit)
	case r.Window <= 0:
		return fmt.Errorf("throttle: Window must be positive, got %s", r.Window)
	case r.Block <= 0:
		return fmt.Errorf("throttle: Block must be positive, got %s", r.Block)
	case r.MaxBlock < r.Block:
		return fmt.Errorf("throttle: MaxBlock (%s) must be at least Block (%s)", r.MaxBlock, r.Block)
	}
	return nil
}

// blockFor returns how long the failures-th failure blocks the key: nothing under Limit, Block at
// Limit, then doubling per further failure up to MaxBlock (without overflowing).
func (r Rule) blockFor(failures int) time.Duration {
	if failures < r.Limit {
		return 0
	}
	d := r.Block
	for over := failures - r.Limit; over > 0 && d < r.MaxBlock; over-- {
		if d > r.MaxBlock/2 {
			return r.MaxBlock
		}
		d *= 2
	}
	return min(d, r.MaxBlock)
}

// Defaults for the limits named in issues 4 and 5; configuration starts from these.

// DefaultPasswordAccount: 5 wrong passwords per account per 15 minutes, then a delay that grows
// from one minute to an hour (issue 4). Count with Attempt, Reset on success.
func DefaultPasswordAccount() Rule {
	return Rule{Limit: 5, Window: 15 * time.Minute, Block: time.Minute, MaxBlock: time.Hour}
}

// DefaultPasswordIP: 50 wrong passwords per IP address (or IPv6 /64) per 15 minutes, then a
// growing delay; generous because many people may share one address. Count with Fail.
func DefaultPasswordIP() Rule {
	return Rule{Limit: 50, Window: 15 * time.Minute, Block: time.Minute, MaxBlock: time.Hour}
}

// DefaultCodeAccount: 5 wrong cross-device codes for an account within 10 minutes lock code entry
// for 15 minutes (issue 5). Count with Attempt, Reset on success.
func DefaultCodeAccount() Rule {
	return Rule{Limit: 5, Window: 10 * time.Minute, Block: 15 * time.Minute, MaxBlock: 15 * time.Minute}
}

// DefaultCodeIP caps code guesses per IP address (issue 5): 30 guesses per 10 minutes, right or
// wrong, then 10 minutes growing to an hour. Count every guess with Attempt and never Reset.
func DefaultCodeIP() Rule {
	return Rule{Limit: 30, Window: 10 * time.Minute, Block: 10 * time.Minute, MaxBlock: time.Hour}
}

// IPKey builds the key for an IP address under purpose (e.g. "password", "code"). IPv6 addresses
// are keyed by their /64, since one host usually holds a whole /64 and could otherwise take a fresh
// count for every guess; IPv4-mapped IPv6 addresses count as the IPv4 address.
func IPKey(purpose string, addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	switch {
	case addr.Is4():
		return purpose + ":ip:" + addr.String()
	case addr.Is6():
		p, _ := addr.Prefix(64)
		return purpose + ":ip:" + p.String()
	}
	// Unparseable remote addresses share one count: failing safe rather than unlimited.
	return purpose + ":ip:unknown"
}

func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) {
		return ErrInvalidKey
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return ErrInvalidKey
		}
	}
	return nil
}
