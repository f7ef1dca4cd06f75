package httptrust

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// PatternKind says how a host pattern matches.
type PatternKind int

const (
	// PatternExact matches one host name.
	PatternExact PatternKind = iota
	// PatternIP matches one IP literal.
	PatternIP
	// PatternCIDR matches the IP hosts inside a network.
	PatternCIDR
	// PatternOneLabel is "*.suffix": exactly one label below suffix.
	PatternOneLabel
	// PatternAnyDepth is "**.suffix": suffix itself and any depth below it.
	PatternAnyDepth
)

// Pattern is a parsed, normalised host pattern.
type Pattern struct {
	Kind PatternKind
	// Host is the normalised name or IP for exact patterns, and the fixed
	// suffix for wildcard patterns.
	Host string
	// Port, for an exact name or IP, limits the pattern to that port
	// ("192.168.1.20:5001"); "" covers every port.
	Port   string
	Prefix netip.Prefix // for PatternCIDR
	Addr   netip.Addr   // for PatternIP
}

// String returns the pattern in its canonical written form.
func (p Pattern) String() string {
	switch p.Kind {
	case PatternOneLabel:
		return "*." + p.Host
	case PatternAnyDepth:
		return "**." + p.Host
	case PatternCIDR:
		return p.Prefix.String()
	}
	if p.Port != "" {
		return hostPort(p.Host, p.Port)
	}
	return p.Host
}

// IsExact reports whether p names exactly one host (a name or an IP literal).
func (p Pattern) IsExact() bool { return p.Kind == PatternExact || p.Kind == PatternIP }

// ErrPatternTooBroad is wrapped by ParsePattern for a pattern that would cover
// everything or a public suffix, or IPv6 space that stands for all IPv4 hosts
// (or a large share of them). Trusting an anchor for all hosts takes the
// separate all_hosts setting.
var ErrPatternTooBroad = errors.New("pattern covers a public suffix or every host")

// ParsePattern parses a host pattern: "device.local" (exact), "192.168.1.20"
// or "fd00::1" (IP literal), "192.168.1.0/24" (CIDR), "*.corp.example"
// (exactly one label below) or "**.corp.example" (the domain and any depth
// below). An exact name or IP may carry a port ("nas.local:5001",
// "192.168.1.20:5001", "[fd00::1]:8443"): the pattern then covers that port
// only. Names are normalised (IDNA, lower case, no trailing dot). A pattern
// that covers everything or a public suffix is refused with ErrPatternTooBroad:
//
//   - "*", "**", and a wildcard whose suffix is itself a public suffix
//     ("**.com", "*.co.uk", "**.github.io", "*.foo.ck" under the rule "*.ck",
//     or an unlisted top-level domain such as "**.local").
//   - "**.S" when the public suffix list (ICANN and private entries, as
//     compiled into golang.org/x/net/publicsuffix) has any entry for S or
//     for a name at any depth below S: "**.amazonaws.com" ("s3.amazonaws.com"),
//     "**.core.windows.net" ("blob.core.windows.net").
//   - "*.S" when the list has an entry for S or for a name exactly one label
//     below S, the wildcard rule "*.S" included: "*.compute-1.amazonaws.com".
//     "*.S" matches "x.S" only, so an entry two labels below S ("a.x.S") is
//     not covered by it and does not refuse it.
//
// An exception entry ("!www.ck") counts as an entry: it is refused like the
// others. An exact name is never refused for being on the list: "github.io"
// names one host. A CIDR is refused when it is wider than /8 (IPv4) or /32
// (IPv6), or when it covers or lies in IPv6 space whose addresses stand for
// IPv4 hosts; see parseCIDR.
func ParsePattern(s string) (Pattern, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Pattern{}, errors.New("httptrust: empty host pattern")
	}
	if host, port, ok := patternPort(in); ok {
		if strings.ContainsAny(host, "*/") {
			return Pattern{}, fmt.Errorf("httptrust: host pattern %q: a port goes only with an exact host name or IP address, not a wildcard or CIDR", s)
		}
		p, err := ParsePattern(host)
		if err != nil {
			return Pattern{}, err
		}
		if port == "" {
			return Pattern{}, fmt.Errorf("httptrust: host pattern %q: no port after the colon (a port in its plain form, 1-65535)", s)
		}
		if p.Port, err = canonicalPort(port); err != nil {
			return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w", s, err)
		}
		return p, nil
	}
	switch {
	case in == "*" || in == "**" || in == "*." || in == "**.":
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w; to trust an anchor for all hosts use all_hosts = true", s, ErrPatternTooBroad)
	case strings.HasPrefix(in, "**."):
		return parseWildcard(s, in[3:], PatternAnyDepth)
	case strings.HasPrefix(in, "*."):
		return parseWildcard(s, in[2:], PatternOneLabel)
	case strings.Contains(in, "*"):
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: a wildcard may only be a leading \"*.\" or \"**.\"", s)
	case strings.Contains(in, "/"):
		return parseCIDR(s, in)
	}
	h, addr, err := normalizeHost(in)
	if err != nil {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w", s, err)
	}
	if addr.IsValid() {
		return Pattern{Kind: PatternIP, Host: h, Addr: addr}, nil
	}
	return Pattern{Kind: PatternExact, Host: h}, nil
}

// patternPort splits "host:port", "[v6]:port" and "ipv4:port"; a bare IPv6
// literal ("fd00::1") has no port.
func patternPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		if i := strings.LastIndex(s, "]:"); i > 0 {
			return s[1:i], s[i+2:], true
		}
		return "", "", false
	}
	if strings.Count(s, ":") != 1 {
		return "", "", false
	}
	h, p, _ := strings.Cut(s, ":")
	return h, p, true
}

func parseWildcard(orig, suffix string, kind PatternKind) (Pattern, error) {
	h, addr, err := normalizeHost(suffix)
	if err != nil {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w", orig, err)
	}
	if addr.IsValid() {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: wildcards apply to names; for IP hosts use a CIDR such as 192.168.1.0/24", orig)
	}
	if ps, _ := publicsuffix.PublicSuffix(h); ps == h {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w (%q is a public suffix); name a domain you control", orig, ErrPatternTooBroad, h)
	}
	lookup := pslEntryAtOrUnder
	if kind == PatternOneLabel {
		lookup = pslEntryOneLabel
	}
	if entry, found := lookup(h); found {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w (%q is on the public suffix list); name a domain you control", orig, ErrPatternTooBroad, entry)
	}
	return Pattern{Kind: kind, Host: h}, nil
}

// parseCIDR parses a CIDR network. An IPv4-mapped network of /96 or
// narrower (::ffff:10.0.0.0/104) is the IPv4 network it maps (10.0.0.0/8)
// and is checked as one. A network is refused when it is wider than
// minCIDRBits, and when it covers or lies in IPv6 space whose addresses
// stand for IPv4 hosts (see ipv4InIPv6).
func parseCIDR(orig, in string) (Pattern, error) {
	pfx, err := netip.ParsePrefix(in)
	if err != nil {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: not a CIDR network", orig)
	}
	if pfx.Addr().Zone() != "" {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: a CIDR network has no zone", orig)
	}
	if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
	}
	if m := pfx.Masked(); m != pfx {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: host bits are set; did you mean %s?", orig, m)
	}
	if min := minCIDRBits(pfx); pfx.Bits() < min {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w (a network wider than /%d); name the network you control; to trust an anchor for all hosts use all_hosts = true", orig, ErrPatternTooBroad, min)
	}
	if err := checkIPv4InIPv6(pfx); err != nil {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w", orig, err)
	}
	return Pattern{Kind: PatternCIDR, Host: pfx.String(), Prefix: pfx}, nil
}

// ipv4InIPv6 lists the IPv6 ranges whose addresses stand for IPv4 hosts or
// for tunnels to them. A CIDR pattern that covers one of them names every
// IPv4 host, or a large share of them, under another spelling. One that lies
// inside NAT64 or IPv4-compatible space names IPv4 hosts, which a rule must
// name by their IPv4 form, and one inside Teredo space names the tunnel
// endpoints of unrelated hosts. Inside 6to4 space a /48 or narrower is the
// network of the one site at its IPv4 address and is allowed.
var ipv4InIPv6 = []struct {
	name string
	pfx  netip.Prefix
	what string
	site int  // a network inside pfx this narrow or narrower is allowed; 0: none is
	tail bool // an address inside pfx holds an IPv4 address in its last 32 bits
}{
	{"NAT64", netip.MustParsePrefix("64:ff9b::/96"), "whose addresses stand for IPv4 hosts", 0, true},                           // RFC 6052
	{"local-use NAT64", netip.MustParsePrefix("64:ff9b:1::/48"), "whose addresses stand for IPv4 hosts", 0, false},              // RFC 8215
	{"IPv4-mapped", netip.MustParsePrefix("::ffff:0:0/96"), "whose addresses are IPv4 hosts", 0, true},                          // RFC 4291
	{"IPv4-compatible", netip.MustParsePrefix("::/96"), "whose addresses stand for IPv4 hosts", 0, true},                        // RFC 4291
	{"Teredo", netip.MustParsePrefix("2001::/32"), "whose addresses are tunnel endpoints of unrelated hosts", 0, false},         // RFC 4380
	{"6to4", netip.MustParsePrefix("2002::/16"), "in which each /48 is the network of the site at one IPv4 address", 48, false}, // RFC 3056
}

// loopback6 is the one network inside IPv4-compatible space that is allowed.
var loopback6 = netip.MustParsePrefix("::1/128")

// checkIPv4InIPv6 refuses an IPv6 network that covers or lies in one of the
// ranges of ipv4InIPv6 (prefixes either nest or are disjoint, so an overlap
// is one or the other). One that covers a range, or that spans several
// sites in 6to4 space, wraps ErrPatternTooBroad. (An IPv4-mapped network
// of /96 or narrower was made IPv4 before.)
func checkIPv4InIPv6(pfx netip.Prefix) error {
	if !pfx.Addr().Is6() || pfx == loopback6 {
		return nil
	}
	for _, r := range ipv4InIPv6 {
		switch {
		case !pfx.Overlaps(r.pfx), r.site > 0 && pfx.Bits() >= r.site:
			// outside r, or one site's network inside it
		case pfx.Bits() <= r.pfx.Bits():
			return fmt.Errorf("%w (it covers %s space %s, %s); name the network you control", ErrPatternTooBroad, r.name, r.pfx, r.what)
		case r.site > 0:
			return fmt.Errorf("%w (a network wider than /%d in %s space %s, %s); name the /%d of your site", ErrPatternTooBroad, r.site, r.name, r.pfx, r.what, r.site)
		case r.tail:
			a := pfx.Addr().As16()
			v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte(a[12:])), pfx.Bits()-96)
			return fmt.Errorf("the network lies in %s space %s, %s; name them by their IPv4 form, %s", r.name, r.pfx, r.what, v4)
		default:
			return fmt.Errorf("the network lies in %s space %s, %s; name each host by its own address or name", r.name, r.pfx, r.what)
		}
	}
	return nil
}

// NormalizeHost returns the form in which hosts are compared: an IP literal
// in canonical form (without brackets; IPv4-mapped IPv6 as IPv4), or a name
// in lower-case ASCII (IDNA) without a trailing dot.
func NormalizeHost(host string) (string, error) {
	h, _, err := normalizeHost(host)
	if err != nil {
		return "", fmt.Errorf("httptrust: host %q: %w", host, err)
	}
	return h, nil
}

// normalizeHost returns the comparable form of host and, for IP literals, the
// address. It allocates only when the input is not already normal.
func normalizeHost(host string) (string, netip.Addr, error) {
	if isNormalName(host) {
		return host, netip.Addr{}, nil
	}
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if addr, err := netip.ParseAddr(h); err == nil {
		if addr.Zone() != "" {
			return "", netip.Addr{}, errors.New("an IP literal with a zone cannot be matched")
		}
		addr = addr.Unmap()
		var buf [64]byte
		if canon := addr.AppendTo(buf[:0]); string(canon) == h {
			return h, addr, nil // already canonical: no allocation
		}
		return addr.String(), addr, nil
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", netip.Addr{}, errors.New("empty host name")
	}
	ascii, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("not a valid host name: %v", err)
	}
	ascii = strings.ToLower(ascii)
	if !isNormalName(ascii) {
		return "", netip.Addr{}, errors.New("not a valid host name")
	}
	return ascii, netip.Addr{}, nil
}

// isNormalName reports whether s is a lower-case ASCII DNS name with
// non-empty labels of at most 63 bytes, no trailing dot, and not an IP
// literal (an all-numeric last label).
func isNormalName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	label, digitsOnly := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 || s[i-1] == '-' {
				return false
			}
			label, digitsOnly = 0, true
			continue
		case c >= 'a' && c <= 'z', c == '_':
			digitsOnly = false
		case c == '-':
			if label == 0 {
				return false
			}
			digitsOnly = false
		case c >= '0' && c <= '9':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0 && s[len(s)-1] != '-' && !digitsOnly
}

// parent returns the name without its first label, or "" for a single label.
func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return ""
	}
	return name[i+1:]
}

// minCIDRBits is the widest network a CIDR pattern may name: /8 for IPv4,
// /32 for IPv6. Wider ones cover a large part of the internet.
func minCIDRBits(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 8
	}
	return 32
}
