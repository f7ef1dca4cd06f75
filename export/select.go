package export

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/httptrust/httptrust"
)

// selectScopes returns the scopes hosts select (every scope when hosts is
// empty), sorted with the defaults first.
//
// A selected pattern brings every scope it writes ("**.s": the names below
// s and s itself). The selection is then closed: while some chosen scope
// would take a host (as format routes hosts) that another scope of the
// store takes first, that scope is chosen too, until nothing changes.
// The output then gives each host it routes the scope httptrust's own
// lookup gives it; the hosts it does not route are refused.
func selectScopes(all []*scope, hosts []string, format string) ([]*scope, error) {
	if len(hosts) == 0 {
		return sortScopes(all), nil
	}
	chosen := map[*scope]bool{}
	var work []*scope
	choose := func(sc *scope) {
		if !chosen[sc] {
			chosen[sc] = true
			work = append(work, sc)
		}
	}
	for _, h := range hosts {
		pat, err := httptrust.ParsePattern(h)
		if err != nil {
			return nil, fmt.Errorf("export: --host %q: %w", h, err)
		}
		found := false
		for _, sc := range all {
			if sc.kind != kDefaults && sc.pat.String() == pat.String() {
				choose(sc) // for "**.s", its apex scope too
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("export: --host %q: no rule of the store has this pattern; httptrust trust list shows them", h)
		}
	}
	domain := domainFormats[format]
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for _, y := range all {
			if y.kind != kDefaults && !chosen[y] && takesFirst(y, x, domain) {
				choose(y)
			}
		}
	}
	var out []*scope
	for sc := range chosen {
		out = append(out, sc)
	}
	return sortScopes(out), nil
}

// domainFormats write a domain and every name below it as one entry
// (Android's includeSubdomains, the plists' subdomain flag): the most
// specific domain decides a host there.
var domainFormats = map[string]bool{"android": true, "ios-ats": true, "trustkit": true}

func sortScopes(s []*scope) []*scope {
	out := append([]*scope{}, s...)
	sort.Slice(out, func(i, j int) bool {
		if (out[i].kind == kDefaults) != (out[j].kind == kDefaults) {
			return out[i].kind == kDefaults
		}
		return out[i].pattern < out[j].pattern
	})
	return out
}

// takesFirst reports whether some host that x's entry would take is taken
// by y's entry before it, as the format routes: y must then be exported
// with x, or x would decide that host. Scopes of equal rank that share a
// host are taken together (the format then refuses or writes them as one).
func takesFirst(y, x *scope, domain bool) bool {
	if !overlap(hostsOf(x, domain), hostsOf(y, domain)) {
		return false
	}
	ry, rx := rank(y, domain), rank(x, domain)
	for i := range ry {
		if ry[i] != rx[i] {
			return ry[i] > rx[i]
		}
	}
	return true
}

// rank orders the scopes that share a host: the higher decides it. In
// httptrust (and the code formats, whose routing is httptrust's) an exact
// host and port comes first, then the exact host, then the name s of
// "**.s", then the wildcard of the longest suffix, "*." before "**."; the
// narrowest network decides an address. In the domain formats the longest
// domain decides, an exact entry before a subdomain entry of that name.
func rank(sc *scope, domain bool) [3]int {
	labels := strings.Count(sc.host, ".") + 1
	if domain {
		switch sc.kind {
		case kExact, kIP:
			return [3]int{1, labels, 1}
		case kCIDR:
			return [3]int{1, sc.pat.Prefix.Bits(), 0}
		}
		return [3]int{1, labels, 0}
	}
	switch sc.kind {
	case kExact, kIP:
		if sc.port != "" {
			return [3]int{4, 0, 0}
		}
		return [3]int{3, 0, 0}
	case kApex:
		return [3]int{2, 0, 0}
	case kOne:
		return [3]int{1, labels, 1}
	case kAny:
		return [3]int{1, labels, 0}
	case kCIDR:
		return [3]int{1, sc.pat.Prefix.Bits(), 0}
	}
	return [3]int{}
}

// A region is a set of hosts: one name or address (on one port, or on
// every port when port is ""), the names one label below a suffix, the
// names at any depth below it, or the addresses of a network.
type region struct {
	kind regionKind
	host string
	port string
	addr netip.Addr
	net  netip.Prefix
}

type regionKind int

const (
	rName  regionKind = iota // host (and port)
	rOne                     // one label below host
	rBelow                   // any depth below host
	rAddr                    // addr (and port)
	rNet                     // the addresses of net
)

// hostsOf returns the hosts a scope's entry takes. In the code formats
// these are the hosts of its pattern; a domain format's entry for "*.s" or
// "**.s" takes s and every name below it, and one for a name takes it on
// every port.
func hostsOf(sc *scope, domain bool) []region {
	switch sc.kind {
	case kExact, kApex:
		port := sc.port
		if domain {
			port = ""
		}
		return []region{{kind: rName, host: sc.host, port: port}}
	case kIP:
		port := sc.port
		if domain {
			port = ""
		}
		return []region{{kind: rAddr, addr: sc.pat.Addr, port: port}}
	case kCIDR:
		return []region{{kind: rNet, net: sc.pat.Prefix}}
	case kOne, kAny:
		if domain {
			return []region{{kind: rName, host: sc.host}, {kind: rBelow, host: sc.host}}
		}
		if sc.kind == kOne {
			return []region{{kind: rOne, host: sc.host}}
		}
		return []region{{kind: rBelow, host: sc.host}}
	}
	return nil
}

// overlap reports whether some host is in a region of a and one of b.
func overlap(a, b []region) bool {
	for _, x := range a {
		for _, y := range b {
			if x.kind > y.kind {
				x, y = y, x
			}
			if regionsMeet(x, y) {
				return true
			}
		}
	}
	return false
}

// regionsMeet reports whether x and y share a host; x.kind <= y.kind.
func regionsMeet(x, y region) bool {
	ports := x.port == "" || y.port == "" || x.port == y.port
	switch {
	case x.kind == rName && y.kind == rName:
		return x.host == y.host && ports
	case x.kind == rName && y.kind == rOne:
		return oneBelow(x.host, y.host)
	case x.kind == rName && y.kind == rBelow:
		return under(x.host, y.host)
	case x.kind == rOne && y.kind == rOne:
		return x.host == y.host
	case x.kind == rOne && y.kind == rBelow:
		return x.host == y.host || under(x.host, y.host)
	case x.kind == rBelow && y.kind == rBelow:
		return x.host == y.host || under(x.host, y.host) || under(y.host, x.host)
	case x.kind == rAddr && y.kind == rAddr:
		return x.addr == y.addr && ports
	case x.kind == rAddr && y.kind == rNet:
		return y.net.Contains(x.addr)
	case x.kind == rNet && y.kind == rNet:
		return x.net.Overlaps(y.net)
	}
	return false
}

// oneBelow reports whether name is exactly one label below suffix.
func oneBelow(name, suffix string) bool {
	return under(name, suffix) && !strings.Contains(strings.TrimSuffix(name, "."+suffix), ".")
}

// under reports whether name is strictly below suffix.
func under(name, suffix string) bool { return strings.HasSuffix(name, "."+suffix) }
