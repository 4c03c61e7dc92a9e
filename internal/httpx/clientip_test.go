package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 192.0.2.7 ", "", "fd00::/8", "::ffff:198.51.100.1", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "198.51.100.1/32", "10.0.0.0/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("entry %d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0", "10.0.0.1:80"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClientIPThroughProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		trusted    TrustedProxies
		want       string
	}{
		{"no proxies configured: the header is ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"untrusted peer: the header is ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, proxies, "192.0.2.1"},
		{"trusted peer without a header", "10.1.1.1:5000", nil, proxies, "10.1.1.1"},
		{"trusted peer", "10.1.1.1:5000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"a client's forged entries left of the real one", "10.1.1.1:5000", []string{"198.51.100.66, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"two trusted hops", "10.1.1.1:5000", []string{"198.51.100.66, 203.0.113.9, 10.2.2.2"}, proxies, "203.0.113.9"},
		{"several headers read in order", "10.1.1.1:5000", []string{"198.51.100.66", "203.0.113.9, 10.2.2.2"}, proxies, "203.0.113.9"},
		{"every hop trusted: the left-most", "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, proxies, "10.3.3.3"},
		{"garbage stops the walk at the last trusted hop", "10.1.1.1:5000", []string{"203.0.113.9, unknown, 10.2.2.2"}, proxies, "10.2.2.2"},
		{"garbage next to the peer", "10.1.1.1:5000", []string{"203.0.113.9, <script>"}, proxies, "10.1.1.1"},
		{"entries with ports", "10.1.1.1:5000", []string{"[2001:db8::7]:443, 203.0.113.9:4711"}, proxies, "203.0.113.9"},
		{"IPv6 proxy and client", "[2001:db8:ffff::1]:5000", []string{"2001:db8:1::42"}, proxies, "2001:db8:1::42"},
		{"IPv4-mapped entries", "10.1.1.1:5000", []string{"::ffff:203.0.113.9"}, proxies, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var got string
			ClientAddresses(tc.trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = ClientIP(r)
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}
