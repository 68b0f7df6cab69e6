package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxy configured: the peer", "203.0.113.9:5000", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"untrusted peer: its header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, proxies, "203.0.113.9"},
		{"trusted proxy: the client it saw", "10.0.0.2:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"a forged first hop is not believed", "10.0.0.2:80", []string{"1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.2:80", []string{"198.51.100.1, 10.0.0.7"}, proxies, "198.51.100.1"},
		{"several header lines", "10.0.0.2:80", []string{"1.2.3.4", "198.51.100.1"}, proxies, "198.51.100.1"},
		{"malformed hop: stop at the proxy", "10.0.0.2:80", []string{"junk, 10.0.0.9"}, proxies, "10.0.0.9"},
		{"no header from a proxy: the proxy", "10.0.0.2:80", nil, proxies, "10.0.0.2"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, proxies, "2001:db8::1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(tt.trusted)(r); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
