package webhook

import (
	"net/netip"
	"testing"
)

// TestAllowedAddresses: public unicast only; loopback only when allowed.
func TestAllowedAddresses(t *testing.T) {
	d := &Dispatcher{}
	for addr, want := range map[string]bool{"93.184.216.34": true, "2606:4700::1111": true, "10.1.2.3": false, "192.168.1.1": false,
		"172.16.0.1": false, "169.254.169.254": false, "127.0.0.1": false, "::1": false, "fd00::1": false, "0.0.0.0": false, "224.0.0.1": false} {
		if got := publicAddr(netip.MustParseAddr(addr), d.AllowLoopback); got != want {
			t.Errorf("%s allowed = %v", addr, got)
		}
	}
}
