package httptrust

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"
)

// TestPSLTableMatchesGoMod fails when go.mod requires another version of
// golang.org/x/net than the one psl_table.go was generated from: after an
// upgrade, run "go generate ." in the module root.
func TestPSLTableMatchesGoMod(t *testing.T) {
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var version string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "golang.org/x/net") && strings.Contains(line, "=>") {
			t.Errorf("go.mod replaces golang.org/x/net (%q); psl_table.go holds the list of a released version", line)
		}
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == "golang.org/x/net" {
			version = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if version != pslXNetVersion {
		t.Errorf("go.mod requires golang.org/x/net %s, psl_table.go holds the public suffix list of %s; run \"go generate .\" in the module root", version, pslXNetVersion)
	}
	if got := publicsuffix.List.String(); got != pslListVersion {
		t.Errorf("golang.org/x/net/publicsuffix holds %q, psl_table.go holds %q; run \"go generate .\" in the module root", got, pslListVersion)
	}
}

// TestPSLTableSorted checks the order pslRun relies on, and that every entry
// is a name in the form normalizeHost gives (with its "*." or "!").
func TestPSLTableSorted(t *testing.T) {
	if len(pslEntries) < 5000 {
		t.Fatalf("pslEntries has %d entries; the public suffix list has about 10,000", len(pslEntries))
	}
	for i, e := range pslEntries {
		if i > 0 && comparePSL(pslEntries[i-1], e, false) >= 0 {
			t.Errorf("pslEntries[%d] = %q is not after %q", i, e, pslEntries[i-1])
		}
		if name := strings.TrimPrefix(pslKey(e), "*."); !isNormalName(name) {
			t.Errorf("pslEntries[%d] = %q: %q is not a normalised name", i, e, name)
		}
	}
}

// TestPSLTableAgreesWithPublicSuffix checks the decoded table against
// golang.org/x/net/publicsuffix itself: an entry "x" is a public suffix,
// under "*.x" every "y.x" is one, and "!x" is not one.
func TestPSLTableAgreesWithPublicSuffix(t *testing.T) {
	for _, e := range pslEntries {
		var name, want string
		switch {
		case strings.HasPrefix(e, "!"):
			name, want = e[1:], parent(e[1:])
		case strings.HasPrefix(e, "*."):
			name = "zz-httptrust-probe." + e[2:]
			want = name
		default:
			name, want = e, e
		}
		if got, _ := publicsuffix.PublicSuffix(name); got != want {
			t.Errorf("entry %q: PublicSuffix(%q) = %q, want %q", e, name, got, want)
		}
	}
}

// TestParsePatternRefusesEveryPSLEntry tries, for every entry of the list,
// "**." over the entry's name and over each of its parents, and "*." over
// the entry's name and its parent: each must be refused.
func TestParsePatternRefusesEveryPSLEntry(t *testing.T) {
	for _, e := range pslEntries {
		name := pslKey(e)
		oneLabel := []string{parent(name)}
		if !strings.HasPrefix(name, "*.") {
			oneLabel = append(oneLabel, name)
		}
		var anyDepth []string
		for n := strings.TrimPrefix(name, "*."); n != ""; n = parent(n) {
			anyDepth = append(anyDepth, n)
		}
		for _, pat := range slices.Concat(prefixAll("*.", oneLabel), prefixAll("**.", anyDepth)) {
			if _, err := ParsePattern(pat); !errors.Is(err, ErrPatternTooBroad) {
				t.Errorf("entry %q: ParsePattern(%q) = %v, want ErrPatternTooBroad", e, pat, err)
			}
		}
	}
}

func prefixAll(prefix string, names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			out = append(out, prefix+n)
		}
	}
	return out
}

// pslCoveredBruteForce returns an entry of the public suffix list that the
// wildcard p covers in the sense of ParsePattern, found by a scan of the
// whole list: for "**.S" an entry at or at any depth below S, for "*.S" an
// entry at S or exactly one label below it.
func pslCoveredBruteForce(p Pattern) (string, bool) {
	if p.Kind != PatternAnyDepth && p.Kind != PatternOneLabel {
		return "", false
	}
	if ps, _ := publicsuffix.PublicSuffix(p.Host); ps == p.Host {
		return ps, true
	}
	for _, e := range pslEntries {
		k := pslKey(e)
		switch {
		case k == p.Host, p.Kind == PatternOneLabel && parent(k) == p.Host,
			p.Kind == PatternAnyDepth && strings.HasSuffix(k, "."+p.Host):
			return e, true
		}
	}
	return "", false
}

// TestPSLBruteForceAgrees runs the brute-force check of the fuzz target over
// the patterns of TestParsePatternPublicSuffixBelow, so that it is known to
// find what ParsePattern refuses.
func TestPSLBruteForceAgrees(t *testing.T) {
	for _, s := range []string{"**.amazonaws.com", "*.compute-1.amazonaws.com", "**.core.windows.net", "**.airflow.amazonaws.com", "**.www.ck", "*.www.ck"} {
		h, _ := NormalizeHost(strings.TrimLeft(s, "*."))
		kind := PatternAnyDepth
		if !strings.HasPrefix(s, "**.") {
			kind = PatternOneLabel
		}
		if _, ok := pslCoveredBruteForce(Pattern{Kind: kind, Host: h}); !ok {
			t.Errorf("pslCoveredBruteForce(%q) found nothing", s)
		}
	}
	if e, ok := pslCoveredBruteForce(Pattern{Kind: PatternOneLabel, Host: "airflow.amazonaws.com"}); ok {
		t.Errorf("pslCoveredBruteForce(*.airflow.amazonaws.com) = %q, want nothing", e)
	}
}

// TestComparePSL checks the order of pslEntries on names that end alike,
// with and without the "." that pslFind searches for.
func TestComparePSL(t *testing.T) {
	tests := []struct {
		a, b string
		dot  bool
		want int
	}{
		{"com", "com", false, 0},
		{"amazonaws.com", "com", false, 1},
		{"com", "amazonaws.com", false, -1},
		{"ck", "com", false, -1},
		{"!www.ck", "www.ck", false, 1},
		{"!www.ck", "a.www.ck", false, -1},
		{"s3.amazonaws.com", "s3-1.amazonaws.com", false, 1},
		{"com", "com", true, -1},
		{"amazonaws.com", "com", true, 1},
		{"xcom", "com", true, 1},
		{"-com", "com", true, -1},
		{"om", "com", true, -1},
		{".com", "com", true, 0},
		{"a.com", "com", true, 1},
		{"!www.ck", "www.ck", true, -1},
	}
	for _, tt := range tests {
		if got := comparePSL(tt.a, tt.b, tt.dot); got != tt.want {
			t.Errorf("comparePSL(%q, %q, %v) = %d, want %d", tt.a, tt.b, tt.dot, got, tt.want)
		}
	}
}
