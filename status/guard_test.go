package status

import (
	"net"
	"testing"
)

// TestAddressGuardRanges: the webhook address guard refuses every range
// that reaches inside a network (carrier-grade NAT, the benchmarking range,
// NAT64 and 6to4, which embed private IPv4 addresses) and lets public
// addresses through.
func TestAddressGuardRanges(t *testing.T) {
	for _, a := range []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1", "fc00::1",
		"100.64.0.1", "100.127.255.254", "198.18.0.1", "198.19.255.255", "64:ff9b::a00:1", "64:ff9b::7f00:1",
		"64:ff9b:1::1", "2002:a00:1::1", "::ffff:10.0.0.1", "::ffff:100.64.0.1", "240.0.0.1", "192.0.0.8",
	} {
		if !privateIP(net.ParseIP(a)) {
			t.Errorf("%s passes the address guard", a)
		}
	}
	for _, a := range []string{"93.184.216.34", "1.1.1.1", "2606:4700::1111", "100.128.0.1", "198.20.0.1"} {
		if privateIP(net.ParseIP(a)) {
			t.Errorf("public address %s is refused", a)
		}
	}
}
