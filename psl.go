package httptrust

import (
	"cmp"
	"strings"
)

//go:generate go run ./internal/pslgen -o psl_table.go

// pslEntryAtOrUnder returns an entry of the public suffix list for name or
// for a name at any depth below it, which "**.name" would cover: name's own
// entry, else the first of those below by pslNearer. Names are in punycode
// and lower case, as normalizeHost gives them. When there is none it costs
// one binary search.
func pslEntryAtOrUnder(name string) (string, bool) {
	own, below := pslFind(name)
	if own != "" {
		return own, true
	}
	best := ""
	for _, e := range below {
		if best == "" || pslNearer(e, best) {
			best = e
		}
	}
	return best, best != ""
}

// pslEntryOneLabel returns an entry of the public suffix list for name
// itself or for a name exactly one label below it ("x.name", "!x.name", or
// the wildcard rule "*.name"): the names "*.name" matches, and name, whose
// entry says what its children are. An entry two or more labels below name
// ("a.x.name") is not covered by "*.name", which matches "x.name" only.
func pslEntryOneLabel(name string) (string, bool) {
	own, below := pslFind(name)
	if own != "" {
		return own, true
	}
	best := ""
	for _, e := range below {
		if parent(pslKey(e)) == name && (best == "" || pslNearer(e, best)) {
			best = e
		}
	}
	return best, best != ""
}

// pslNearer orders the entries an error may name: fewer labels first, then
// shorter, then by their bytes. It makes the entry named independent of the
// table's order.
func pslNearer(a, b string) bool {
	if la, lb := strings.Count(a, "."), strings.Count(b, "."); la != lb {
		return la < lb
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// pslFind returns name's own entry of pslEntries ("" for none) and the run
// of entries below it, those that end in "." + name.
func pslFind(name string) (own string, below []string) {
	i := pslSearch(pslEntries[:], name, false)
	if i == len(pslEntries) || !strings.HasSuffix(pslEntries[i], name) {
		return "", nil // no entry ends in name: the common case
	}
	if pslKey(pslEntries[i]) == name { // "name" sorts first, then "!name"
		own = pslEntries[i]
	}
	run := pslEntries[i:]
	j := pslSearch(run, name, true)
	k := j
	for k < len(run) && strings.HasSuffix(run[k], name) && run[k][len(run[k])-len(name)-1] == '.' {
		k++
	}
	return own, run[j:k]
}

// pslSearch returns the index of the first entry that sorts at or after
// name (with dot, "." + name) in the order of comparePSL.
func pslSearch(entries []string, name string, dot bool) int {
	lo, hi := 0, len(entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if comparePSL(entries[m], name, dot) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// pslKey is the name an entry is for: the entry without the "!" of an
// exception. A wildcard entry "*.x" keeps its "*" as a label below x.
func pslKey(entry string) string { return strings.TrimPrefix(entry, "!") }

// comparePSL compares a with b (with dot, with "." + b) byte by byte from
// the last byte: the order of pslEntries. Every entry that ends in b sorts at
// or after b, b's own entry first ("b", then "!b", as '!' sorts before every
// byte of a name), and those that end in "." + b, the entries below b, are
// one run. pslgen sorts the table in the same order.
func comparePSL(a, b string, dot bool) int {
	n := min(len(a), len(b))
	ta, tb := a[len(a)-n:], b[len(b)-n:]
	for i := n - 1; i >= 0; i-- {
		if ta[i] != tb[i] {
			return cmp.Compare(ta[i], tb[i])
		}
	}
	switch {
	case !dot || len(a) <= len(b):
		return cmp.Compare(len(a), len(b)+btoi(dot))
	case a[len(a)-len(b)-1] != '.':
		return cmp.Compare(a[len(a)-len(b)-1], '.')
	}
	return cmp.Compare(len(a), len(b)+1)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
