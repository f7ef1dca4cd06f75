package export

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// nestedPatterns are rules nested in every way whose precedence matters:
// "*." and "**." under each other, exact names with and without a port
// below both, and networks with narrower networks and addresses.
var nestedPatterns = []string{
	"*.w.test", "**.b.w.test", "c.b.w.test", "p.b.w.test", "d.b.w.test:8443", "*.e.b.w.test", "**.f.b.w.test",
	"**.corp.test", "*.corp.test", "a.corp.test", "a.corp.test:8443", "**.x.corp.test", "*.b.corp.test",
	"**.b.corp.test", "c.b.corp.test", "x.corp.test:8443", "*.d.x.corp.test", "y.d.x.corp.test",
	"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "10.1.2.3:8443", "fd00::/32", "fd00:1::/48", "fd00::1", "[fd00::1]:8443",
}

// nestedStore writes one rule per pattern, each with pins of its own, so
// that every scope trusts something the others do not.
func nestedStore(w *world) {
	var b strings.Builder
	for _, h := range nestedPatterns {
		b.WriteString("[[rule]]\nhosts = [\"" + h + "\"]\npins = [\"" + randomPin(w.t) + "\", \"" + randomPin(w.t) + "\"]\n\n")
	}
	w.file("rules.toml", b.String())
}

// hostsOfPatterns returns host:port pairs of every pattern: the name
// itself, names one and two labels below a wildcard, the first and some
// later address of a network, on port 443 and on the pattern's port.
func hostsOfPatterns(t *testing.T, patterns []string) [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	add := func(h, port string) {
		k := [2]string{h, port}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, s := range patterns {
		host, port := s, ""
		if h, p, ok := strings.Cut(strings.TrimPrefix(s, "["), "]:"); ok {
			host, port = h, p
		} else if strings.Count(s, ":") == 1 {
			host, port, _ = strings.Cut(s, ":")
		}
		var names []string
		switch {
		case strings.HasPrefix(host, "**."):
			sfx := host[3:]
			names = []string{sfx, "q1." + sfx, "q2.q1." + sfx}
		case strings.HasPrefix(host, "*."):
			sfx := host[2:]
			names = []string{sfx, "q1." + sfx, "q2.q1." + sfx}
		case strings.Contains(host, "/"):
			pfx, err := netip.ParsePrefix(host)
			if err != nil {
				t.Fatal(err)
			}
			a := pfx.Addr()
			names = []string{a.String(), a.Next().String(), a.Next().Next().Next().String()}
		default:
			names = []string{host}
		}
		for _, n := range names {
			add(n, "443")
			if port != "" {
				add(n, port)
			}
		}
	}
	return out
}

// routeCode is the routing of the generated code (okhttp, dart, python:
// scopeFor / scope_for), on the table codeModel builds; -1 is a refusal.
func routeCode(rt *codeRoutes, host, port string) int {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := netip.ParseAddr(h); err == nil {
		h = a.Unmap().String()
	}
	if i, ok := rt.exact[hostPortKey(h, port)]; ok {
		return i
	}
	if i, ok := rt.exact[h]; ok {
		return i
	}
	if a, err := netip.ParseAddr(h); err == nil {
		for _, c := range rt.cidr {
			if netip.PrefixFrom(netip.MustParseAddr(c.network), c.bits).Contains(a.Unmap()) {
				return c.id
			}
		}
		return rt.def
	}
	if i, ok := rt.apex[h]; ok {
		return i
	}
	labels := strings.Split(h, ".")
	for n := 1; n < len(labels); n++ {
		parent := strings.Join(labels[n:], ".")
		if i, ok := rt.one[parent]; n == 1 && ok {
			return i
		}
		if i, ok := rt.any[parent]; ok {
			return i
		}
	}
	return rt.def
}

// lookupPattern is the scope pattern httptrust's own lookup gives
// host:port ("apex:s" for the name s of "**.s", "" for the defaults).
func lookupPattern(t *testing.T, w *world, host, port string) string {
	t.Helper()
	h := host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	eff, err := w.policy().Lookup(h + ":" + port)
	if err != nil {
		t.Fatal(err)
	}
	pat := eff.Pattern
	switch {
	case pat == "all_hosts":
		return ""
	case strings.HasPrefix(pat, "**.") && pat[3:] == strings.ToLower(strings.TrimSuffix(host, ".")):
		return "apex:" + pat[3:]
	}
	return pat
}

// nestedSelections are the --host selections the property tests try:
// every pattern alone, and some together.
func nestedSelections() [][]string {
	var out [][]string
	for _, p := range nestedPatterns {
		out = append(out, []string{p})
	}
	return append(out, []string{"*.w.test", "**.corp.test"}, []string{"*.corp.test", "10.1.0.0/16"}, []string{"c.b.w.test", "*.b.corp.test"})
}

// TestSelectionRoutesAsLookup: whatever --host selects, every host of
// every rule of the store that the generated code (okhttp, dart, python)
// routes to a scope is routed to the scope httptrust's own lookup gives
// it; the others are refused.
func TestSelectionRoutesAsLookup(t *testing.T) {
	w := newWorld(t)
	nestedStore(w)
	p := w.policy()
	hosts := hostsOfPatterns(t, nestedPatterns)
	want := map[[2]string]string{}
	for _, hp := range hosts {
		want[hp] = lookupPattern(t, w, hp[0], hp[1])
	}
	for _, format := range []string{"okhttp", "dart", "python"} {
		for _, sel := range append(nestedSelections(), nil) {
			m, err := newModel(p, Options{Format: format, Hosts: sel})
			if err != nil {
				t.Fatalf("%s %v: %v", format, sel, err)
			}
			scopes, rt := m.codeModel(false)
			for _, hp := range hosts {
				i := routeCode(rt, hp[0], hp[1])
				if i < 0 {
					if sel == nil {
						t.Errorf("%s, every host: %s port %s is refused", format, hp[0], hp[1])
					}
					continue
				}
				if got := scopes[i].sc.pattern; got != want[hp] {
					t.Errorf("%s --host %v: %s port %s goes to %q, httptrust gives it %q", format, sel, hp[0], hp[1], got, want[hp])
				}
			}
		}
	}
}

// TestSelectionTakesRulesUnderPulledScopes: "--host *.x" exports the
// name b.x that "**.b.x" decides, and never "**.b.x" without the rules
// under b.x (c.b.x would get "**.b.x"'s trust).
func TestSelectionTakesRulesUnderPulledScopes(t *testing.T) {
	w := newWorld(t)
	nestedStore(w)
	res := w.build(Options{Format: "python", Hosts: []string{"*.w.test"}})
	got := strings.Join(res.Exported, " ")
	if want := "*.w.test apex:b.w.test"; got != want {
		t.Errorf("--host *.w.test exported %q, want %q", got, want)
	}
	res = w.build(Options{Format: "python", Hosts: []string{"**.b.w.test"}})
	got = strings.Join(res.Exported, " ")
	if want := "**.b.w.test **.f.b.w.test *.e.b.w.test apex:b.w.test apex:f.b.w.test c.b.w.test d.b.w.test:8443 p.b.w.test"; got != want {
		t.Errorf("--host **.b.w.test exported %q, want %q", got, want)
	}
}

// androidStore is a store Android can write whole: "*.w.test" may be
// written as w.test and every name below it (w.test and deeper names get
// the same trust), with rules under b.w.test that trust otherwise.
func androidStore(w *world) {
	w.cert("rootA.pem", w.pki.Root)
	w.cert("rootB.pem", w.pki.OtherRoot(w.t))
	w.file("rules.toml", `
[[rule]]
all_hosts = true
anchors = ["rootA.pem"]
system_roots = false

[[rule]]
hosts = ["*.w.test"]
anchors = ["rootA.pem"]

[[rule]]
hosts = ["**.b.w.test"]
anchors = ["rootA.pem"]

[[rule]]
hosts = ["c.b.w.test"]
anchors = ["rootB.pem"]

[[rule]]
hosts = ["p.b.w.test"]
pins = ["`+randomPin(w.t)+`", "`+randomPin(w.t)+`"]

[[rule]]
hosts = ["**.e.b.w.test"]
anchors = ["rootB.pem"]
`)
}

// nscEntry is one domain of a Network Security Config, with its trust.
type nscEntry struct {
	name       string
	subdomains bool
	trust      string
}

// nscTrustText is trust as the config writes it, for comparisons: the
// certificate sources and pins, sorted.
func nscTrustText(n xmlNode) string {
	var parts []string
	var walk func(xmlNode)
	walk = func(n xmlNode) {
		switch n.XMLName.Local {
		case "certificates":
			src, _ := n.attr("src")
			parts = append(parts, "cert "+src)
		case "pin":
			parts = append(parts, "pin "+strings.TrimSpace(n.Text))
		case "pin-set":
			exp, _ := n.attr("expiration")
			parts = append(parts, "expiration "+exp)
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	walk(n)
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// nscRoute returns the trust Android gives host: the domain-config of the
// most specific domain that matches it, else the base-config.
func nscRoute(root xmlNode, host string) string {
	best, bestLen, base := "", -1, ""
	for _, n := range root.Nodes {
		switch n.XMLName.Local {
		case "base-config":
			base = nscTrustText(n)
		case "domain-config":
			var e nscEntry
			for _, c := range n.Nodes {
				if c.XMLName.Local == "domain" {
					e.name = strings.TrimSpace(c.Text)
					v, _ := c.attr("includeSubdomains")
					e.subdomains = v == "true"
				}
			}
			e.trust = nscTrustText(n)
			if (host == e.name || e.subdomains && under(host, e.name)) && len(e.name) > bestLen {
				best, bestLen = e.trust, len(e.name)
			}
		}
	}
	if bestLen < 0 {
		return base
	}
	return best
}

// TestAndroidSelectionRoutesAsLookup: whatever --host selects, Android's
// most specific domain gives every host of the store the trust of its own
// rule, or none at all.
func TestAndroidSelectionRoutesAsLookup(t *testing.T) {
	w := newWorld(t)
	androidStore(w)
	full := checkNSC(t, w.write(Options{Format: "android"}))
	hosts := hostsOfPatterns(t, []string{"*.w.test", "**.b.w.test", "c.b.w.test", "p.b.w.test", "**.e.b.w.test"})
	for _, sel := range [][]string{{"*.w.test"}, {"**.b.w.test"}, {"c.b.w.test"}, {"**.e.b.w.test"}, {"p.b.w.test"}} {
		res, err := w.tryBuild(Options{Format: "android", Hosts: sel})
		if err != nil {
			// A refusal is sound; this store's selections should not need one.
			t.Errorf("--host %v: %v", sel, err)
			continue
		}
		dir := t.TempDir()
		if err := WriteDir(dir, res, false); err != nil {
			t.Fatal(err)
		}
		root := checkNSC(t, dir)
		for _, hp := range hosts {
			got, want := nscRoute(root, hp[0]), nscRoute(full, hp[0])
			if got != "" && got != want {
				t.Errorf("--host %v: %s gets %q, its rule %q", sel, hp[0], got, want)
			}
		}
	}
}

// TestSelectionRoutingRuntime runs the generated routing of a --host
// export (python's scope_for, okhttp's scopeFor) for every host of the
// nested store: each goes to httptrust's own scope or is refused.
func TestSelectionRoutingRuntime(t *testing.T) {
	w := newWorld(t)
	nestedStore(w)
	hosts := hostsOfPatterns(t, nestedPatterns)
	var in strings.Builder
	want := map[string]string{}
	for _, hp := range hosts {
		in.WriteString(hp[0] + " " + hp[1] + "\n")
		want[hp[0]+" "+hp[1]] = lookupPattern(t, w, hp[0], hp[1])
	}
	sel := []string{"*.w.test", "*.corp.test", "10.1.0.0/16"}
	m, err := newModel(w.policy(), Options{Format: "python", Hosts: sel})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, sc := range m.scopes {
		labels[sc.label] = sc.pattern
	}
	compare := func(runtime string, out map[string]string) {
		for k, label := range out {
			if strings.HasPrefix(label, "refused") {
				continue
			}
			if got, ok := labels[label]; !ok || got != want[k] {
				t.Errorf("%s --host %v: %s goes to %q (%q), httptrust gives it %q", runtime, sel, k, label, got, want[k])
			}
		}
		if len(out) != len(hosts) {
			t.Errorf("%s: %d results for %d hosts", runtime, len(out), len(hosts))
		}
	}
	t.Run("python", func(t *testing.T) {
		py := findPython(t)
		dir := w.write(Options{Format: "python", Hosts: sel})
		script := filepath.Join(t.TempDir(), "route.py")
		os.WriteFile(script, []byte(`
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for line in sys.stdin:
    host, port = line.split()
    try:
        print("%s %s\t%s" % (host, port, hp._SCOPES[hp.scope_for(host, int(port))]["label"]))
    except Exception as e:
        print("%s %s\trefused: %s" % (host, port, e))
`), 0o600)
		cmd := exec.Command(py, script, dir)
		cmd.Stdin = strings.NewReader(in.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		compare("python", parseResults(string(out)))
	})
	t.Run("okhttp", func(t *testing.T) {
		javac := need(t, "javac")
		java := need(t, "java")
		cp := okhttpClasspath(t)
		dir := w.write(Options{Format: "okhttp", Hosts: sel})
		src := filepath.Join(t.TempDir(), "Route.java")
		os.WriteFile(src, []byte(strings.Replace(javaRouting, "Object s = ((Object[]) sf.get(null))[HttptrustPolicy.scopeFor(f[0], Integer.parseInt(f[1]))];",
			"int idx;\n            try { idx = HttptrustPolicy.scopeFor(f[0], Integer.parseInt(f[1])); } catch (Exception e) { System.out.println(f[0] + \" \" + f[1] + \"\\trefused: \" + e); continue; }\n            Object s = ((Object[]) sf.get(null))[idx];", 1)), 0o600)
		classes := t.TempDir()
		if out, err := exec.Command(javac, "-cp", cp, "-d", classes, filepath.Join(dir, "httptrust", "export", OkHttpClass+".java"), src).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
		cmd := exec.Command(java, "-cp", classes+":"+cp, "httptrust.export.Route")
		cmd.Stdin = strings.NewReader(in.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		compare("okhttp", parseResults(string(out)))
	})
}
