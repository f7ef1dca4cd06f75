package export

import (
	"testing"
)

// runCode runs the probes through every client of the okhttp and python
// outputs (okhttp only when withOkHttp).
func runCode(t *testing.T, w *world, probes []probe, withOkHttp bool) {
	t.Helper()
	py := findPython(t)
	got := runPython(t, py, w.write(Options{Format: "python"}), probes)
	for _, client := range []string{"requests", "httpx", "httpx-async", "ssl"} {
		check(t, "python "+client, probes, got[client])
	}
	if withOkHttp {
		check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
	}
}

// TestIDNARouting: httptrust maps a name by UTS-46 (non-transitional), so
// straße.test is xn--strae-oqa.test, not strasse.test (IDNA 2003, Python's
// "idna" codec). A CA for strasse.test must not vouch for the other name,
// whichever spelling the URL uses and whichever client connects.
func TestIDNARouting(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"strasse.test\"]\nanchors = [\"root.pem\"]\n")
	probes := []probe{
		w.serve("strasse.test: through the anchor", "strasse.test", p.FullChain(p.Leaf(t, "strasse.test")), true),
		w.serve("straße.test: a leaf for xn--strae-oqa.test under strasse.test's anchor", "straße.test", p.FullChain(p.Leaf(t, "xn--strae-oqa.test")), false),
		w.serve("xn--strae-oqa.test: under strasse.test's anchor", "xn--strae-oqa.test", p.FullChain(p.Leaf(t, "xn--strae-oqa.test")), false),
		w.serve("straße.test: a leaf for strasse.test", "straße.test", p.FullChain(p.Leaf(t, "strasse.test")), false),
	}
	runCode(t, w, probes, false)
	// OkHttp's HttpUrl maps a non-ASCII host with java.net.IDN (IDNA 2003)
	// when the URL is parsed, before the generated code sees it: straße.test
	// becomes strasse.test and is connected to and judged as that host
	// (docs/export.md says so). The code sees only ASCII names.
	check(t, "okhttp", probes[:3], runOkHttp(t, w.write(Options{Format: "okhttp"}), probes[:3]))
}
