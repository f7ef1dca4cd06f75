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
	Host   string
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
	default:
		return p.Host
	}
}

// IsExact reports whether p names exactly one host (a name or an IP literal).
func (p Pattern) IsExact() bool { return p.Kind == PatternExact || p.Kind == PatternIP }

// ErrPatternTooBroad is wrapped by ParsePattern for a pattern that would cover
// everything or a public suffix. Trusting an anchor for all hosts takes the
// separate all_hosts setting.
var ErrPatternTooBroad = errors.New("pattern covers a public suffix or every host")

// ParsePattern parses a host pattern: "device.local" (exact), "192.168.1.20"
// or "fd00::1" (IP literal), "192.168.1.0/24" (CIDR), "*.corp.example"
// (exactly one label below) or "**.corp.example" (the domain and any depth
// below). Names are normalised (IDNA, lower case, no trailing dot). A pattern
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
// (IPv6).
func ParsePattern(s string) (Pattern, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Pattern{}, errors.New("httptrust: empty host pattern")
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

func parseCIDR(orig, in string) (Pattern, error) {
	pfx, err := netip.ParsePrefix(in)
	if err != nil {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: not a CIDR network", orig)
	}
	if pfx.Addr().Zone() != "" {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: a CIDR network has no zone", orig)
	}
	if pfx.Addr().Is4In6() {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		if pfx.Bits() < 0 {
			return Pattern{}, fmt.Errorf("httptrust: host pattern %q: not a CIDR network", orig)
		}
	}
	if m := pfx.Masked(); m != pfx {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: host bits are set; did you mean %s?", orig, m)
	}
	if min := minCIDRBits(pfx); pfx.Bits() < min {
		return Pattern{}, fmt.Errorf("httptrust: host pattern %q: %w (a network wider than /%d); name the network you control; to trust an anchor for all hosts use all_hosts = true", orig, ErrPatternTooBroad, min)
	}
	return Pattern{Kind: PatternCIDR, Host: pfx.String(), Prefix: pfx}, nil
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
