package export

import (
	"crypto/x509"
	"encoding/base64"
	"net"
	"sort"
	"time"
)

// The code formats (okhttp, python, dart) generate a program: the routing
// from a host to its scope follows httptrust's precedence exactly, and each
// scope is checked as the policy says, the platform's own verification
// doing the chain and name where it can.

// codeScope is what the generated code knows of one scope.
type codeScope struct {
	id    int
	sc    *scope
	label string
	// refuse, when set, is why the scope refuses every connection.
	refuse string
	// anchors are verified as CA certificates by the platform (with the
	// exact certificates when they are mixed with chain trust).
	anchors []*x509.Certificate
	system  bool
	// exactOnly: the platform's verification is off and the code compares
	// the leaf with exact byte for byte, then checks its validity and
	// names as the rule says.
	exactOnly         bool
	exact             []codeExact
	pins              []string // base64 SPKI SHA-256
	pinsEnd           string   // "2027-07-01": the first day the pins are not enforced; "" never
	enforce           bool
	allowExpired      bool
	allowNameMismatch bool
	serverName        string
	minTLS            string
}

type codeExact struct {
	cert      *x509.Certificate
	notBefore int64 // Unix seconds
	notAfter  int64
	dns       []string
	ips       []string
}

// codeRoutes is the routing table of the generated code.
type codeRoutes struct {
	exact map[string]int // "host" and "host:port" ("[v6]:port")
	one   map[string]int // "*.s" by s
	any   map[string]int // "**.s" by s, for the names below s
	apex  map[string]int // "**.s" by s, for s itself
	cidr  []codeCIDR     // narrowest first
	// def is the scope of hosts no pattern matches; -1: refuse them (an
	// export of some hosts only).
	def int
}

type codeCIDR struct {
	network string
	bits    int
	id      int
}

// codeModel builds the scopes and routes of a code format. leafPinsOnly
// says the platform sees only the leaf (pins of CA keys are dropped).
func (m *model) codeModel(leafPinsOnly bool) ([]*codeScope, *codeRoutes) {
	rt := &codeRoutes{exact: map[string]int{}, one: map[string]int{}, any: map[string]int{}, apex: map[string]int{}, def: -1}
	var out []*codeScope
	for _, sc := range m.scopes {
		cs := m.codeScope(sc, len(out), leafPinsOnly)
		out = append(out, cs)
		switch sc.kind {
		case kDefaults:
			rt.def = cs.id
		case kExact, kIP:
			key := sc.host
			if sc.port != "" {
				key = hostPortKey(sc.host, sc.port)
			}
			rt.exact[key] = cs.id
		case kOne:
			rt.one[sc.host] = cs.id
		case kAny:
			rt.any[sc.host] = cs.id
		case kApex:
			rt.apex[sc.host] = cs.id
		case kCIDR:
			rt.cidr = append(rt.cidr, codeCIDR{sc.pat.Prefix.Addr().String(), sc.pat.Prefix.Bits(), cs.id})
		}
	}
	sort.SliceStable(rt.cidr, func(i, j int) bool { return rt.cidr[i].bits > rt.cidr[j].bits })
	return out, rt
}

func hostPortKey(host, port string) string { return net.JoinHostPort(host, port) }

func (m *model) codeScope(sc *scope, id int, leafPinsOnly bool) *codeScope {
	e := sc.eff
	cs := &codeScope{id: id, sc: sc, label: sc.label, system: sc.system && !sc.noTrust, enforce: true,
		allowExpired: e.AllowExpired, allowNameMismatch: e.AllowNameMismatch, serverName: e.ServerName, minTLS: tlsName(e.MinTLS)}
	if sc.noTrust {
		cs.refuse = "the rule trusts on first use only, which this export cannot do"
		return cs
	}
	cs.anchors = sc.anchors
	switch {
	case sc.exactOnly():
		cs.exactOnly = true
		for _, c := range sc.exact {
			x := codeExact{cert: c, notBefore: c.NotBefore.Unix(), notAfter: c.NotAfter.Unix(), dns: c.DNSNames}
			for _, ip := range c.IPAddresses {
				x.ips = append(x.ips, ip.String())
			}
			cs.exact = append(cs.exact, x)
		}
	case len(sc.exact) > 0:
		// Mixed with chain trust: the exact certificates verify as anchors
		// (CA:FALSE, so only themselves), and the allowances cannot apply.
		for _, c := range sc.exact {
			m.requireLeaf(sc, c)
		}
		for _, f := range []struct {
			name string
			on   bool
		}{{"allow_expired", e.AllowExpired}, {"allow_name_mismatch", e.AllowNameMismatch}} {
			if f.on {
				m.refuse(sc, f.name, "with anchors or system roots beside the exact certificates, the platform's verification cannot be relaxed for the exact ones alone; split the rule")
			}
		}
		cs.anchors = sortCerts(append(append([]*x509.Certificate{}, sc.anchors...), sc.exact...))
	}
	if sc.pinSet != nil {
		cs.enforce = sc.pinSet.Enforce
		if !sc.pinSet.Expire.IsZero() {
			cs.pinsEnd = sc.pinSet.Expire.AddDate(0, 0, 1).Format(time.DateOnly)
		}
		for _, p := range sc.pins {
			if leafPinsOnly && p.level == pinCA {
				continue
			}
			cs.pins = append(cs.pins, base64.StdEncoding.EncodeToString(p.pin[:]))
		}
		if len(cs.pins) == 0 {
			cs.pinsEnd, cs.enforce = "", true
		}
	}
	return cs
}
