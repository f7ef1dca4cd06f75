package httptrust

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"
)

// entry is one pattern of one rule in the index.
type entry struct {
	pattern Pattern
	rule    *compiled
	// alone marks an override that inherits nothing (Policy.Isolate).
	alone bool
	// eff memoises the effective rule. The chain of less specific matches
	// is fixed by the most specific entry, except for "**.s" where the
	// host s itself also matches "*.parent(s)": effSelf serves that host.
	eff, effSelf effOnce
}

type effOnce struct {
	once sync.Once
	eff  *Effective
}

// index finds the most specific rule for a host in one map lookup per
// label of the host (or per distinct CIDR length), whatever the number of
// rules.
type index struct {
	// names holds, for each name or IP literal S, the entries of the
	// patterns "S", "*.S" and "**.S": one lookup serves all three.
	names map[string]*nameNode
	cidr  map[netip.Prefix]*entry
	bits4 []int // distinct IPv4 prefix lengths, longest first
	bits6 []int
	all   *entry   // the all_hosts rule, if any
	none  *effOnce // the defaults, for hosts no rule matches
	// over holds the overrides of one host (Policy.Override), newest
	// first: more specific than any rule.
	over map[string][]*entry
	// lazy, when set, holds the names and networks instead of the maps:
	// a store's index, read on demand (see cache.go).
	lazy *cacheIndex
}

// node returns what the index knows of name, or nil.
func (ix *index) node(name string) *nameNode {
	if ix.lazy != nil {
		return ix.lazy.node(name)
	}
	return ix.names[name]
}

// network returns the entry of the rule for prefix, or nil.
func (ix *index) network(p netip.Prefix) *entry {
	if ix.lazy != nil {
		return ix.lazy.network(p)
	}
	return ix.cidr[p]
}

// nameNode is what the index knows of one name: its exact rule, its
// exact rules for one port, and the wildcards "*.name" and "**.name".
type nameNode struct {
	exact, one, any *entry
	ports           map[string]*entry
}

func newIndex(rules []*compiled) (*index, error) {
	ix := &index{names: map[string]*nameNode{}, cidr: map[netip.Prefix]*entry{}, none: &effOnce{}}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for _, c := range rules {
		if c.rule.AllHosts {
			if ix.all != nil {
				return nil, dupErr("all_hosts", ix.all.rule.rule, c.rule)
			}
			ix.all = &entry{rule: c}
			continue
		}
		for _, p := range c.patterns {
			e := &entry{pattern: p, rule: c}
			if p.Kind == PatternCIDR {
				if old := ix.cidr[p.Prefix]; old != nil {
					return nil, dupErr(p.String(), old.rule.rule, c.rule)
				}
				ix.cidr[p.Prefix] = e
				if p.Prefix.Addr().Is4() {
					seen4[p.Prefix.Bits()] = true
				} else {
					seen6[p.Prefix.Bits()] = true
				}
				continue
			}
			n := ix.names[p.Host]
			if n == nil {
				n = &nameNode{}
				ix.names[p.Host] = n
			}
			if p.Port != "" {
				if n.ports == nil {
					n.ports = map[string]*entry{}
				}
				if old := n.ports[p.Port]; old != nil {
					return nil, dupErr(p.String(), old.rule.rule, c.rule)
				}
				n.ports[p.Port] = e
				continue
			}
			slot := &n.exact
			switch p.Kind {
			case PatternOneLabel:
				slot = &n.one
			case PatternAnyDepth:
				slot = &n.any
			}
			if *slot != nil {
				return nil, dupErr(p.String(), (*slot).rule.rule, c.rule)
			}
			*slot = e
		}
	}
	ix.bits4, ix.bits6 = sortedDesc(seen4), sortedDesc(seen6)
	return ix, nil
}

func dupErr(pattern string, a, b *Rule) error {
	return fieldErr(b, "hosts", fmt.Errorf("pattern %q is already used by the rule at %s; two rules may not share a pattern", pattern, a.Where()))
}

func sortedDesc(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for b := range m {
		out = append(out, b)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// walk calls visit with each entry that matches host (normalised) on port
// ("" for none), most specific first, until visit returns false: exact
// host or IP with the port, then without it; then the longest fixed
// suffix, "*." before "**." at equal suffix, or for IPs the narrowest CIDR
// first; all_hosts last. Overrides come before all of them.
func (ix *index) walk(host, port string, addr netip.Addr, visit func(*entry) bool) {
	try := func(e *entry) bool { return e == nil || visit(e) }
	for _, e := range ix.over[host] {
		if !try(e) || e.alone {
			return
		}
	}
	n := ix.node(host)
	if n != nil && port != "" && n.ports != nil && !try(n.ports[port]) {
		return
	}
	if n != nil && !try(n.exact) {
		return
	}
	if addr.IsValid() {
		bits := ix.bits6
		if addr.Is4() {
			bits = ix.bits4
		}
		for _, b := range bits {
			if p, err := addr.Prefix(b); err == nil && !try(ix.network(p)) {
				return
			}
		}
	} else {
		if n != nil && !try(n.any) {
			return
		}
		if p := parent(host); p != "" {
			if pn := ix.node(p); pn != nil && (!try(pn.one) || !try(pn.any)) {
				return
			}
			for p = parent(p); p != ""; p = parent(p) {
				if pn := ix.node(p); pn != nil && !try(pn.any) {
					return
				}
			}
		}
	}
	try(ix.all)
}

// withOverride returns a copy of ix in which e, an override for host, is
// the most specific entry. The rule entries and their memoised effective
// rules are shared: an override changes the effective rule of its host
// only.
func (ix *index) withOverride(host string, e *entry) *index {
	d := *ix
	d.over = make(map[string][]*entry, len(ix.over)+1)
	for h, es := range ix.over {
		d.over[h] = es
	}
	d.over[host] = append([]*entry{e}, ix.over[host]...)
	return &d
}

// matches returns every entry that matches host, most specific first.
func (ix *index) matches(host, port string, addr netip.Addr) []*entry {
	var out []*entry
	ix.walk(host, port, addr, func(e *entry) bool { out = append(out, e); return true })
	return out
}

// mostSpecific returns the pattern entry that decides for host, or nil when
// only all_hosts or the defaults apply.
func (ix *index) mostSpecific(host, port string, addr netip.Addr) *entry {
	var found *entry
	ix.walk(host, port, addr, func(e *entry) bool { found = e; return false })
	if found == ix.all {
		return nil
	}
	return found
}
