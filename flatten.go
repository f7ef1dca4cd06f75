package httptrust

import (
	"crypto/x509"
	"net/netip"
	"sort"
	"strconv"
)

// A PatternRule is the effective rule of the hosts one pattern decides:
// what a host gets whose most specific matching pattern is Pattern, with
// everything it inherits from wider patterns, the all_hosts rule and the
// defaults. It is what a tool that writes another platform's configuration
// (httptrust export) emits for the pattern.
type PatternRule struct {
	Pattern Pattern
	// Rule is the rule that wrote the pattern.
	Rule *Rule
	// Effective is the effective rule of the hosts Pattern decides. For
	// "**.s" these are the names below s.
	Effective *Effective
	// Apex is, for "**.s", the effective rule of the name s itself, which
	// may differ from Effective when a "*." pattern one label above s
	// matches it too; nil for other patterns, and when a rule names s
	// exactly (s is then a pattern of its own).
	Apex *Effective
}

// PatternRules returns the effective rule of every pattern of the policy,
// sorted by pattern (the all_hosts rule is in Defaults). Overrides
// (Policy.Override) are not patterns and are not included.
func (p *Policy) PatternRules() []PatternRule {
	if p.usable() != nil {
		return nil
	}
	var out []PatternRule
	for _, c := range p.compiled {
		for _, pat := range c.patterns {
			out = append(out, p.patternRule(c, pat))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern.String() < out[j].Pattern.String() })
	return out
}

// Defaults returns the effective rule of the hosts no pattern matches:
// the all_hosts rule, if any, over the defaults.
func (p *Policy) Defaults() *Effective {
	if p.usable() != nil {
		return nil
	}
	slot := p.ix.none
	var chain []*entry
	if p.ix.all != nil {
		slot, chain = &p.ix.all.eff, []*entry{p.ix.all}
	}
	slot.once.Do(func() { slot.eff = merge(chain) })
	return slot.eff
}

// Certificates returns the certificates refs name, read and parsed from
// the policy's store as verification reads them (once, through the same
// guarded file system).
func (p *Policy) Certificates(refs []CertRef) ([]*x509.Certificate, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, ref := range refs {
		if ref.Cert != nil {
			out = append(out, ref.Cert)
			continue
		}
		cs, err := p.certFile(ref.File)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

func (p *Policy) patternRule(c *compiled, pat Pattern) PatternRule {
	pr := PatternRule{Pattern: pat, Rule: c.rule}
	ix := p.ix
	switch pat.Kind {
	case PatternExact, PatternIP:
		pr.Effective = ix.effective(pat.Host, pat.Port, pat.Addr)
	case PatternCIDR:
		// The hosts of a network that no narrower network or exact IP
		// takes: they match it and every wider network around it.
		var chain []*entry
		for pfx, e := range ix.cidr {
			if pfx.Bits() <= pat.Prefix.Bits() && pfx.Contains(pat.Prefix.Addr()) {
				chain = append(chain, e)
			}
		}
		sort.Slice(chain, func(i, j int) bool { return chain[i].pattern.Prefix.Bits() > chain[j].pattern.Prefix.Bits() })
		if ix.all != nil {
			chain = append(chain, ix.all)
		}
		pr.Effective = merge(chain)
	case PatternOneLabel:
		pr.Effective = ix.effective(ix.probe(pat.Host, 1), "", netip.Addr{})
	case PatternAnyDepth:
		pr.Effective = ix.effective(ix.probe(pat.Host, 2), "", netip.Addr{})
		if n := ix.names[pat.Host]; n == nil || n.exact == nil {
			pr.Apex = ix.effective(pat.Host, "", netip.Addr{})
		}
	}
	return pr
}

// probe returns a name depth labels below suffix that no pattern names
// (so its most specific match is a wildcard on suffix).
func (ix *index) probe(suffix string, depth int) string {
	for i := 0; ; i++ {
		label := "httptrust-probe"
		if i > 0 {
			label += strconv.Itoa(i)
		}
		name, free := suffix, true
		for d := 0; d < depth; d++ {
			name = label + "." + name
			if ix.names[name] != nil {
				free = false
			}
		}
		if free {
			return name
		}
	}
}
