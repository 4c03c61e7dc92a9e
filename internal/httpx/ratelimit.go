package httpx

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Bounds of a RateLimit's memory. Past softKeys it forgets addresses whose allowance is full
// again; past hardKeys (a flood from very many addresses, which a per-address limit cannot stop
// anyway) new addresses pass unlimited rather than growing memory without bound.
const (
	softKeys = 10_000
	hardKeys = 100_000
)

// RateLimit is a token bucket per client address, in the process's memory: each address (an
// IPv6 address counts per /64, the block one subscriber usually gets) may make PerMinute requests
// in a burst, and PerMinute a minute after that. It protects the endpoints that anyone may call
// and that store something (a parked authorize request, a passkey ceremony) from a flood by one
// source. Each server process counts on its own: it is a brake on floods, not a security limit;
// guesses at secrets are counted in the database (authn/throttle).
type RateLimit struct {
	PerMinute int // 0 turns the limit off
	// Refused, when set, is called when an address is first refused after being allowed (once
	// per flood, not once per request), for the log and the audit trail.
	Refused func(r *http.Request, addr string)

	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	// The next sweep for refilled addresses: when the table reaches sweepAt entries, and not
	// before sweepAfter, so that a flood from many addresses costs amortised constant time.
	sweepAt    int
	sweepAfter time.Time
	sweeps     int // how many ran (tests)
}

type bucket struct {
	tokens  float64
	at      time.Time
	refused bool // the last request was refused
}

// NewRateLimit returns a limit of perMinute requests per address and minute (0: no limit).
func NewRateLimit(perMinute int) *RateLimit {
	return &RateLimit{PerMinute: perMinute, now: time.Now, buckets: map[string]*bucket{}, sweepAt: softKeys}
}

// rateKey is the address a request counts against.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown" // unparseable peers share one allowance: failing safe
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// allow takes one token for key; when none is left it reports how long until one is, and
// whether this is the first refusal since the address was last allowed.
func (l *RateLimit) allow(key string) (ok bool, retryAfter time.Duration, first bool) {
	now := l.now()
	capacity := float64(l.PerMinute)
	perSecond := capacity / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	b, known := l.buckets[key]
	if !known {
		if len(l.buckets) >= l.sweepAt && !now.Before(l.sweepAfter) {
			l.forgetFull(now, capacity, perSecond)
			l.sweepAt = min(max(softKeys, 2*len(l.buckets)), hardKeys)
			l.sweepAfter = now.Add(time.Second)
		}
		if len(l.buckets) >= hardKeys {
			return true, 0, false
		}
		b = &bucket{tokens: capacity, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(capacity, b.tokens+now.Sub(b.at).Seconds()*perSecond)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		b.refused = false
		return true, 0, false
	}
	first = !b.refused
	b.refused = true
	wait := time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
	return false, wait, first
}

// forgetFull drops the addresses whose allowance has refilled: they are as if never seen.
func (l *RateLimit) forgetFull(now time.Time, capacity, perSecond float64) {
	l.sweeps++
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*perSecond >= capacity {
			delete(l.buckets, k)
		}
	}
}

// Limit passes requests for which match is true through the limit: a refused one gets 429 Too
// Many Requests with Retry-After (RFC 6585 section 4), written by refuse.
func (l *RateLimit) Limit(match func(*http.Request) bool, refuse func(http.ResponseWriter, *http.Request), next http.Handler) http.Handler {
	if l == nil || l.PerMinute <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !match(r) {
			next.ServeHTTP(w, r)
			return
		}
		ip := ClientIP(r)
		ok, wait, first := l.allow(rateKey(ip))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if first && l.Refused != nil {
			l.Refused(r, ip)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		refuse(w, r)
	})
}
