package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/httptrust/httptrust"
)

// selectScopes returns the scopes hosts select (every scope when hosts is
// empty), with every scope a selected pattern covers, sorted with the
// defaults first.
func selectScopes(all []*scope, hosts []string) ([]*scope, error) {
	if len(hosts) == 0 {
		return sortScopes(all), nil
	}
	var sel []*scope
	for _, h := range hosts {
		pat, err := httptrust.ParsePattern(h)
		if err != nil {
			return nil, fmt.Errorf("export: --host %q: %w", h, err)
		}
		var found *scope
		for _, sc := range all {
			if sc.kind != kDefaults && sc.kind != kApex && sc.pattern == pat.String() {
				found = sc
			}
		}
		if found == nil {
			return nil, fmt.Errorf("export: --host %q: no rule of the store has this pattern; httptrust trust list shows them", h)
		}
		sel = append(sel, found)
	}
	chosen := map[*scope]bool{}
	for _, s := range sel {
		for _, sc := range all {
			if sc == s || (sc.kind != kDefaults && covers(s.pat, sc)) {
				chosen[sc] = true
			}
		}
	}
	var out []*scope
	for sc := range chosen {
		out = append(out, sc)
	}
	return sortScopes(out), nil
}

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

// covers reports whether sel matches some host that sc decides: such a
// narrower rule must be exported with the wider one, or the platform
// would apply the wider rule to its hosts.
func covers(sel httptrust.Pattern, sc *scope) bool {
	switch sc.kind {
	case kExact, kIP:
		if sel.Kind == httptrust.PatternExact || sel.Kind == httptrust.PatternIP {
			return sel.Port == "" && sel.Host == sc.host
		}
		return matches(sel, sc.pat)
	case kApex:
		return sel.Kind != httptrust.PatternAnyDepth && matches(sel, httptrust.Pattern{Kind: httptrust.PatternExact, Host: sc.host}) ||
			sel.Kind == httptrust.PatternAnyDepth && sel.Host == sc.host
	case kAny:
		// "**.t" decides t (apex) and the names below it.
		return matches(sel, httptrust.Pattern{Kind: httptrust.PatternExact, Host: sc.host}) ||
			sel.Kind == httptrust.PatternAnyDepth && under(sc.host, sel.Host)
	case kOne:
		return sel.Kind == httptrust.PatternAnyDepth && (sc.host == sel.Host || under(sc.host, sel.Host))
	case kCIDR:
		return sel.Kind == httptrust.PatternCIDR && sel.Prefix.Bits() <= sc.pat.Prefix.Bits() && sel.Prefix.Contains(sc.pat.Prefix.Addr())
	}
	return false
}

// matches reports whether the pattern sel matches the exact host or IP of
// target.
func matches(sel, target httptrust.Pattern) bool {
	h := target.Host
	switch sel.Kind {
	case httptrust.PatternOneLabel:
		return target.Kind == httptrust.PatternExact && under(h, sel.Host) && !strings.Contains(strings.TrimSuffix(h, "."+sel.Host), ".")
	case httptrust.PatternAnyDepth:
		return target.Kind == httptrust.PatternExact && (h == sel.Host || under(h, sel.Host))
	case httptrust.PatternCIDR:
		return target.Kind == httptrust.PatternIP && sel.Prefix.Contains(target.Addr)
	}
	return false
}

// under reports whether name is strictly below suffix.
func under(name, suffix string) bool { return strings.HasSuffix(name, "."+suffix) }
