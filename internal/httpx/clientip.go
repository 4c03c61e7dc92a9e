package httpx

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies (TLS terminators, load balancers) in front of the
// server. Portcullis serves plain HTTP, so an https issuer always has one; its address is the peer
// of every request, and the person's address comes in the X-Forwarded-For header it adds. That
// header is believed only from a trusted proxy: anyone else could write any address in it.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads addresses and CIDR ranges ("10.0.0.0/8", "192.0.2.7", "fd00::/8").
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	out := make(TrustedProxies, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or a CIDR range", s)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR range", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the address of the client that sent r: the peer, or, when the peer is a trusted
// proxy, the right-most address in X-Forwarded-For that is not itself a trusted proxy (each proxy
// appends the address it received the request from, so the entries left of the first untrusted
// one are whatever the client chose to send). An entry that is not an address ends the walk at
// the last trusted hop.
func (t TrustedProxies) Resolve(r *http.Request) string {
	peer := peerIP(r)
	addr, err := netip.ParseAddr(peer)
	if err != nil || len(t) == 0 || !t.trusts(addr.Unmap()) {
		return peer
	}
	client := addr.Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = hop
		if !t.trusts(hop) {
			break
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port ("192.0.2.1:4711",
// "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

type clientIPKey struct{}

// ClientAddresses records each request's client address, as t resolves it, for ClientIP.
func ClientAddresses(t TrustedProxies, next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, t.Resolve(r))))
	})
}

// ClientIP is the address of the client that sent r, without a port: the peer's, or the one
// ClientAddresses resolved through trusted proxies.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return peerIP(r)
}

func peerIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
