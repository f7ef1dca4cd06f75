package httptrust

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestIssuerAddrClasses: every class of address an issuer URL must never
// lead to is refused and named, in all its forms (IPv4, IPv6, IPv4-mapped,
// IPv4-compatible, 6to4, NAT64); public unicast is allowed.
func TestIssuerAddrClasses(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want string // "" = allowed; else a part of the error
	}{
		// Public unicast, and the edges of the refused blocks.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"126.255.255.255", ""},
		{"128.0.0.0", ""},
		{"169.253.255.255", ""},
		{"169.255.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"191.255.255.255", ""},
		{"192.0.1.0", ""},
		{"192.0.3.0", ""},
		{"192.88.98.255", ""},
		{"192.88.100.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"198.51.99.255", ""},
		{"203.0.112.255", ""},
		{"223.255.255.255", ""},
		{"168.63.129.15", ""},
		{"168.63.129.17", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"2001:200::1", ""},
		{"2001:db7:ffff::1", ""},
		{"2001:db9::1", ""},
		{"3ffe:ffff::1", ""},
		{"3fff:1000::1", ""},
		{"::ffff:8.8.8.8", ""},
		{"2002:808:808::1", ""},

		// IPv4.
		{"0.0.0.0", "0.0.0.0 is the unspecified address"},
		{"0.1.2.3", `0.1.2.3 is a "this network" address`},
		{"10.1.2.3", "10.1.2.3 is a private (RFC 1918) address"},
		{"172.16.0.1", "172.16.0.1 is a private (RFC 1918) address"},
		{"172.31.255.255", "private (RFC 1918)"},
		{"192.168.1.1", "192.168.1.1 is a private (RFC 1918) address"},
		{"100.64.0.1", "100.64.0.1 is a carrier-grade NAT (RFC 6598) address"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"100.100.100.200", "cloud metadata endpoint (Alibaba Cloud)"},
		{"127.0.0.1", "127.0.0.1 is a loopback address"},
		{"127.255.255.254", "loopback"},
		{"169.254.1.1", "169.254.1.1 is a link-local address"},
		{"169.254.169.254", "169.254.169.254 is a cloud metadata endpoint"},
		{"168.63.129.16", "168.63.129.16 is a cloud platform endpoint (Azure WireServer)"},
		{"192.0.0.9", "192.0.0.9 is an IETF protocol assignment"},
		{"192.0.0.170", "IETF protocol assignment"},
		{"192.0.2.1", "192.0.2.1 is a documentation address"},
		{"198.51.100.1", "documentation"},
		{"203.0.113.255", "documentation"},
		{"192.88.99.1", "192.88.99.1 is a 6to4 relay anycast address"},
		{"198.18.0.1", "198.18.0.1 is a benchmarking address"},
		{"198.19.255.255", "benchmarking"},
		{"224.0.0.1", "224.0.0.1 is a multicast address"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "240.0.0.1 is a reserved address"},
		{"254.255.255.255", "reserved"},
		{"255.255.255.255", "255.255.255.255 is the limited broadcast address"},

		// IPv6.
		{"::", ":: is the unspecified address"},
		{"::1", "::1 is a loopback address"},
		{"fe80::1", "fe80::1 is a link-local address"},
		{"fe80::1%eth0", "fe80::1%eth0 is a link-local address"},
		{"febf:ffff::1", "link-local"},
		{"fc00::1", "fc00::1 is a unique local (ULA) address"},
		{"fdff:ffff::1", "unique local"},
		{"fd00:ec2::254", "fd00:ec2::254 is a cloud metadata endpoint (AWS"},
		{"fd00:ec2::253", "unique local"},
		{"fec0::1", "fec0::1 is a site-local address"},
		{"ff02::1", "ff02::1 is a multicast address"},
		{"ff05::1:3", "multicast"},
		{"2001:db8::1", "2001:db8::1 is a documentation address"},
		{"3fff::1", "3fff::1 is a documentation address"},
		{"3fff:fff::1", "documentation"},
		{"2001:2::1", "2001:2::1 is a benchmarking address"},
		{"100::1", "100::1 is a discard-only address"},
		{"100:0:0:1::1", "dummy"},
		{"2001:10::1", "2001:10::1 is an ORCHID address"},
		{"2001:20::1", "2001:20::1 is an ORCHIDv2 address"},
		{"2001::1", "2001::1 is a Teredo address"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001:1::1", "IETF protocol assignment"},
		{"2001:3::1", "IETF protocol assignment"},
		{"5f00::1", "segment routing"},
		{"4000::1", "reserved"},
		{"1::1", "reserved"},
		{"::1:0:0:0", "reserved"},

		// IPv4-mapped: judged by the IPv4 address.
		{"::ffff:10.1.2.3", "::ffff:10.1.2.3 is the IPv4-mapped form of 10.1.2.3, a private (RFC 1918) address"},
		{"::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, a loopback address"},
		{"::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a cloud metadata endpoint"},
		{"::ffff:0.0.0.0", "IPv4-mapped form of 0.0.0.0, the unspecified address"},
		{"::ffff:100.64.0.1", "carrier-grade NAT"},
		{"::ffff:168.63.129.16", "Azure"},
		{"::ffff:224.0.0.1", "multicast"},
		{"::ffff:255.255.255.255", "limited broadcast"},
		{"::ffff:192.0.2.1", "documentation"},
		// IPv4-compatible (deprecated): refused, named by the IPv4 address.
		{"::10.1.2.3", "::a01:203 is the IPv4-compatible form of 10.1.2.3, a private (RFC 1918) address"},
		{"::127.0.0.1", "IPv4-compatible form of 127.0.0.1, a loopback address"},
		{"::169.254.169.254", "IPv4-compatible form of 169.254.169.254"},
		{"::8.8.8.8", "an IPv4-compatible address (deprecated"},
		// 6to4: refused when the IPv4 address is.
		{"2002:a01:203::1", "2002:a01:203::1 is the 6to4 form of 10.1.2.3, a private (RFC 1918) address"},
		{"2002:7f00:1::", "6to4 form of 127.0.0.1, a loopback address"},
		{"2002:a9fe:a9fe::", "6to4 form of 169.254.169.254"},
		{"2002:c000:204::", "6to4 form of 192.0.2.4, a documentation address"},
		{"2002:a83f:8110::", "6to4 form of 168.63.129.16"},
		// NAT64: always refused (the translator reaches any IPv4 address,
		// private ones on its own network included).
		{"64:ff9b::7f00:1", "64:ff9b::7f00:1 is a NAT64 address (RFC 6052), for 127.0.0.1"},
		{"64:ff9b::a9fe:a9fe", "NAT64 address (RFC 6052), for 169.254.169.254"},
		{"64:ff9b::808:808", "NAT64"},
		{"64:ff9b:1::a01:203", "64:ff9b:1::a01:203 is a local-use NAT64 address"},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkIssuerAddr(netip.MustParseAddr(tt.addr), false)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("allowed")
			}
			if !errors.Is(err, ErrAIAForbidden) {
				t.Errorf("%v does not wrap ErrAIAForbidden", err)
			}
			if got := err.Error(); !strings.HasPrefix(got, "httptrust: issuer URL not allowed: ") || !strings.Contains(got, tt.want) {
				t.Errorf("error %q, want it to say %q", got, tt.want)
			}
		})
	}
}

// TestIssuerAddrAllowLoopback: AllowLoopback lets loopback through and
// nothing else, not even the other forms that lead to a loopback address.
func TestIssuerAddrAllowLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.3.4.5", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"8.8.8.8", true},
		{"::127.0.0.1", false},
		{"2002:7f00:1::", false},
		{"64:ff9b::7f00:1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fd00:ec2::254", false},
	} {
		if got := checkIssuerAddr(netip.MustParseAddr(tt.addr), true) == nil; got != tt.ok {
			t.Errorf("%s with AllowLoopback: allowed %v, want %v", tt.addr, got, tt.ok)
		}
	}
}

// TestIssuerControl: the dial hook judges the address and port actually
// dialled; only port 80, except for loopback with AllowLoopback.
func TestIssuerControl(t *testing.T) {
	for _, tt := range []struct {
		network, addr string
		allowLoopback bool
		want          string // "" = allowed
	}{
		{"tcp4", "8.8.8.8:80", false, ""},
		{"tcp6", "[2001:4860:4860::8888]:80", false, ""},
		{"tcp4", "8.8.8.8:443", false, "port 443: issuer URLs are plain http on port 80"},
		{"tcp4", "8.8.8.8:8080", true, "port 8080"},
		{"tcp4", "127.0.0.1:8080", true, ""},
		{"tcp6", "[::1]:8080", true, ""},
		{"tcp4", "127.0.0.1:80", false, "127.0.0.1 is a loopback address"},
		{"tcp4", "10.1.2.3:80", false, "10.1.2.3 is a private (RFC 1918) address"},
		{"tcp4", "10.1.2.3:80", true, "10.1.2.3 is a private (RFC 1918) address"},
		{"tcp6", "[fe80::1%eth0]:80", true, "link-local"},
		{"tcp6", "[::ffff:192.168.0.1]:80", false, "IPv4-mapped form of 192.168.0.1"},
		{"udp4", "8.8.8.8:80", false, "not a TCP address"},
		{"tcp4", "example.com:80", false, "not a TCP address"},
	} {
		f := &AIAFetcher{AllowLoopback: tt.allowLoopback}
		err := f.control(tt.network, tt.addr, nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %s: refused: %v", tt.network, tt.addr, err)
		case tt.want != "" && (err == nil || !errors.Is(err, ErrAIAForbidden) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %s (AllowLoopback %v): error %v, want %q", tt.network, tt.addr, tt.allowLoopback, err, tt.want)
		}
	}
}

// FuzzIssuerAddr: no address that netip calls loopback, private,
// link-local, multicast or unspecified (in itself or as the IPv4 address
// it maps) is ever allowed; AllowLoopback adds loopback and nothing else;
// the IPv4-mapped form is judged like the IPv4 address; the dial hook
// agrees with the check.
func FuzzIssuerAddr(f *testing.F) {
	for _, s := range []string{
		"8.8.8.8", "10.1.2.3", "127.0.0.1", "0.0.0.0", "169.254.169.254", "100.100.100.200",
		"168.63.129.16", "255.255.255.255", "224.0.0.251", "192.0.0.9",
		"::", "::1", "fe80::1%eth0", "fd00:ec2::254", "fec0::1", "ff02::1", "2001::1",
		"2002:a01:203::", "2002:808:808::", "64:ff9b::7f00:1", "64:ff9b:1::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::10.0.0.1", "::8.8.8.8", "2001:db8::1", "3fff::1", "2606:4700::1111",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, allowLoopback bool) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		strict := checkIssuerAddr(a, false)
		got := checkIssuerAddr(a, allowLoopback)
		if got != nil && !errors.Is(got, ErrAIAForbidden) {
			t.Fatalf("%s: %v does not wrap ErrAIAForbidden", a, got)
		}
		for _, b := range []netip.Addr{a.WithZone(""), a.WithZone("").Unmap()} {
			if strict == nil && (b.IsLoopback() || b.IsPrivate() || b.IsLinkLocalUnicast() || b.IsLinkLocalMulticast() ||
				b.IsInterfaceLocalMulticast() || b.IsMulticast() || b.IsUnspecified() || !b.IsGlobalUnicast()) {
				t.Fatalf("%s allowed (as %s)", a, b)
			}
		}
		if got == nil && strict != nil && !(allowLoopback && a.Unmap().IsLoopback()) {
			t.Fatalf("%s: AllowLoopback allowed what is not loopback: %v", a, strict)
		}
		if a.Is4() {
			mapped := netip.AddrFrom16(a.As16())
			if (checkIssuerAddr(mapped, allowLoopback) == nil) != (got == nil) {
				t.Fatalf("%s and %s judged apart", a, mapped)
			}
			b := mapped.As16()
			compat := netip.AddrFrom16([16]byte{12: b[12], 13: b[13], 14: b[14], 15: b[15]})
			sixToFour := netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: b[12], 3: b[13], 4: b[14], 5: b[15]})
			nat64 := netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: b[12], 13: b[13], 14: b[14], 15: b[15]})
			if compat == netip.IPv6Loopback() { // ::0.0.0.1 is ::1
				compat = netip.IPv6Unspecified()
			}
			if strict != nil && (checkIssuerAddr(compat, allowLoopback) == nil || checkIssuerAddr(sixToFour, allowLoopback) == nil) {
				t.Fatalf("%s refused, but a form of it (%s, %s) allowed", a, compat, sixToFour)
			}
			if checkIssuerAddr(nat64, allowLoopback) == nil {
				t.Fatalf("NAT64 %s allowed", nat64)
			}
		}
		network := "tcp6"
		if a.Is4() {
			network = "tcp4"
		}
		cerr := (&AIAFetcher{AllowLoopback: allowLoopback}).control(network, netip.AddrPortFrom(a, 80).String(), nil)
		if (cerr == nil) != (got == nil) {
			t.Fatalf("%s: the dial hook says %v, the check %v", a, cerr, got)
		}
	})
}
