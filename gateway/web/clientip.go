package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns a function that names the address a request came from:
// the peer's address, or, when the peer is one of the trusted reverse
// proxies, the nearest address in X-Forwarded-For that is not (read from
// the right, so a client cannot choose what is believed by sending the
// header itself).
func ClientIP(trusted []netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		peer, err := netip.ParseAddr(host)
		if err != nil {
			return host
		}
		addr := peer.Unmap()
		if !isTrusted(addr) {
			return addr.String()
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: believe nothing beyond it
			}
			addr = hop.Unmap()
			if !isTrusted(addr) {
				break
			}
		}
		return addr.String()
	}
}
