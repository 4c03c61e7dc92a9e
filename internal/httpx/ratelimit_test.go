package httpx

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	l := NewRateLimit(6) // a burst of 6, then one every 10 s
	l.now = func() time.Time { return now }
	var refusals []string
	l.Refused = func(_ *http.Request, addr string) { refusals = append(refusals, addr) }
	served := 0
	h := l.Limit(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/limited") },
		func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) },
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	send := func(path, peer string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.RemoteAddr = peer
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	for i := range 6 {
		if w := send("/limited", "192.0.2.1:1000"); w.Code != http.StatusOK {
			t.Fatalf("request %d of the burst: %d", i+1, w.Code)
		}
	}
	w := send("/limited", "192.0.2.1:1001")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "10" {
		t.Fatalf("past the burst: %d, Retry-After %q (want 429, 10)", w.Code, w.Header().Get("Retry-After"))
	}
	send("/limited", "192.0.2.1:1002")
	if len(refusals) != 1 || refusals[0] != "192.0.2.1" {
		t.Fatalf("refusals reported %q, want the address once", refusals)
	}
	if w := send("/other", "192.0.2.1:1003"); w.Code != http.StatusOK {
		t.Fatalf("a path the limit does not cover: %d", w.Code)
	}
	if w := send("/limited", "192.0.2.2:1000"); w.Code != http.StatusOK {
		t.Fatalf("another address: %d", w.Code)
	}

	now = now.Add(4 * time.Second)
	if w := send("/limited", "192.0.2.1:1004"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "6" {
		t.Fatalf("4 s later: %d, Retry-After %q (want 429, 6)", w.Code, w.Header().Get("Retry-After"))
	}
	now = now.Add(6 * time.Second)
	if w := send("/limited", "192.0.2.1:1005"); w.Code != http.StatusOK {
		t.Fatalf("10 s later, one more: %d", w.Code)
	}
	if w := send("/limited", "192.0.2.1:1006"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("and only one: %d", w.Code)
	}
	if len(refusals) != 2 {
		t.Fatalf("refused again after being allowed: %d reports, want 2", len(refusals))
	}
	now = now.Add(time.Hour)
	for i := range 6 {
		if w := send("/limited", "192.0.2.1:1007"); w.Code != http.StatusOK {
			t.Fatalf("an hour later, request %d: %d (the allowance refills to the burst, no further)", i+1, w.Code)
		}
	}
	if w := send("/limited", "192.0.2.1:1008"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("an hour later, past the burst: %d", w.Code)
	}

	// An IPv6 subscriber's /64 is one address; the next /64 is another.
	for i := range 6 {
		send("/limited", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	if w := send("/limited", "[2001:db8:1:2:ffff::1]:443"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the same /64: %d", w.Code)
	}
	if w := send("/limited", "[2001:db8:1:3::1]:443"); w.Code != http.StatusOK {
		t.Fatalf("the next /64: %d", w.Code)
	}

	served = 0
	off := NewRateLimit(0).Limit(func(*http.Request) bool { return true }, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	for range 100 {
		off.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	if served != 100 {
		t.Fatalf("a limit of 0 served %d of 100", served)
	}
}

// Memory stays bounded: addresses whose allowance has refilled are forgotten when the table is
// full, and past the hard bound new addresses pass without being remembered.
func TestRateLimitMemory(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	l := NewRateLimit(60)
	l.now = func() time.Time { return now }
	for i := range softKeys {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	now = now.Add(2 * time.Minute)
	l.allow("192.0.2.1")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d addresses remembered after the refilled ones were forgotten, want 1", n)
	}
	sweeps := l.sweeps
	for i := range hardKeys + 10 {
		if i%1000 == 0 {
			now = now.Add(time.Second) // a flood over a few minutes: sweeps may run
		}
		l.allow(fmt.Sprintf("k%d", i))
	}
	// Each sweep reads the whole table: one per new address would cost quadratic time.
	if n := l.sweeps - sweeps; n > 110 {
		t.Fatalf("%d sweeps for 100,000 new addresses over 100 s, want at most one a second", n)
	}
	if n := len(l.buckets); n > hardKeys {
		t.Fatalf("%d addresses remembered, bound %d", n, hardKeys)
	}
	if ok, _, _ := l.allow("one-more"); !ok {
		t.Fatal("past the bound a new address is refused; want it let through")
	}
}
