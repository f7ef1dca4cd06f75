package export

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The python module checks the chain OpenSSL verified (Python 3.10 and
// later show it): pins against every certificate of it, as httptrust
// does, and, for every CA certificate of it, the name constraints Go
// applies where OpenSSL does not (a wildcard under an excluded name), the
// sign of the serial number and the signature algorithm.

// chainCA is a CA under parent (nil: a root) with tmpl's constraints.
func chainCA(t *testing.T, cn string, tmpl mint.Template, parent *mint.Cert) *mint.Cert {
	t.Helper()
	tmpl.CommonName, tmpl.IsCA, tmpl.MaxPathLen = cn, true, -1
	return mustMint(t, tmpl, parent)
}

// negativeSerial re-signs ca with serial -1092, which Go cannot parse and
// OpenSSL accepts. Its key and subject stay: what ca issued, it issued.
func negativeSerial(t *testing.T, ca, issuer *mint.Cert) []byte {
	t.Helper()
	neg := func(e [][]byte) [][]byte { e[1] = []byte{0x02, 0x02, 0xfb, 0xbc}; return e }
	return reissue(t, ca, issuer, neg, nil, 0).Certificate[0]
}

// chainCases are the stores and servers of the verified-chain tests; each
// runs in a world of its own.
var chainCases = []struct {
	name  string
	setup func(t *testing.T, w *world) []probe
}{
	{"a wildcard under an intermediate's excluded name", func(t *testing.T, w *world) []probe {
		p := w.pki
		inter := chainCA(t, "Excluding Intermediate", mint.Template{ExcludedDNSDomains: []string{"bad.x.test"}}, p.Root)
		plain := chainCA(t, "Plain Intermediate", mint.Template{}, p.Root)
		w.cert("root.pem", p.Root)
		w.file("rules.toml", "[[rule]]\nhosts = [\"**.x.test\"]\nanchors = [\"root.pem\"]\n")
		wild := p.LeafFrom(t, inter, "*.x.test")
		// Go holds every name of the leaf to the constraints, whichever
		// host is asked for: the wildcard is refused for good.x.test too.
		return []probe{
			w.serveOn("*.x.test under an excluded bad.x.test: good.x.test", "127.0.0.1", "good.x.test", wild, []*mint.Cert{inter}, false),
			w.serveOn("good.x.test under an excluded bad.x.test", "127.0.0.1", "good.x.test", p.LeafFrom(t, inter, "good.x.test"), []*mint.Cert{inter}, true),
			w.serveOn("*.x.test under an excluded bad.x.test: bad.x.test", "127.0.0.1", "bad.x.test", wild, []*mint.Cert{inter}, false),
			w.serveOn("bad.x.test under an excluded bad.x.test", "127.0.0.1", "bad.x.test", p.LeafFrom(t, inter, "bad.x.test"), []*mint.Cert{inter}, false),
			w.serveOn("*.x.test under an intermediate without constraints: bad.x.test", "127.0.0.1", "bad.x.test", p.LeafFrom(t, plain, "*.x.test"), []*mint.Cert{plain}, true),
		}
	}},
	{"a pin on an intermediate's key", func(t *testing.T, w *world) []probe {
		p := w.pki
		pinned := chainCA(t, "Pinned Intermediate", mint.Template{}, p.Root)
		other := chainCA(t, "Other Intermediate", mint.Template{}, p.Root)
		w.cert("root.pem", p.Root)
		w.file("rules.toml", "[[rule]]\nhosts = [\"**.ipin.test\"]\nanchors = [\"root.pem\"]\npins = [\""+pinOf(pinned)+"\", \""+randomPin(t)+"\"]\n")
		return []probe{
			w.serveOn("intermediate pin: a chain through the pinned intermediate", "127.0.0.1", "a.ipin.test", p.LeafFrom(t, pinned, "a.ipin.test"), []*mint.Cert{pinned}, true),
			w.serveOn("intermediate pin: a chain through another intermediate of the same root", "127.0.0.1", "b.ipin.test", p.LeafFrom(t, other, "b.ipin.test"), []*mint.Cert{other}, false),
		}
	}},
	{"a pin on an anchor's key", func(t *testing.T, w *world) []probe {
		p := w.pki
		other := p.OtherRoot(t)
		w.cert("root.pem", p.Root)
		w.cert("other.pem", other)
		w.file("rules.toml", "[[rule]]\nhosts = [\"**.apin.test\"]\nanchors = [\"root.pem\", \"other.pem\"]\npins = [\""+pinOf(p.Root)+"\", \""+randomPin(t)+"\"]\n")
		return []probe{
			w.serve("anchor pin: a chain to the pinned anchor", "a.apin.test", p.FullChain(p.Leaf(t, "a.apin.test")), true),
			w.serve("anchor pin: a chain to the rule's other anchor", "b.apin.test", chainOf(p.LeafFrom(t, other, "b.apin.test")), false),
		}
	}},
	{"an intermediate with a negative serial number", func(t *testing.T, w *world) []probe {
		p := w.pki
		w.cert("root.pem", p.Root)
		w.file("rules.toml", "[[rule]]\nhosts = [\"**.neg.test\"]\nanchors = [\"root.pem\"]\n")
		leaf := p.Leaf(t, "a.neg.test")
		neg := tls.Certificate{Certificate: [][]byte{leaf.DER, negativeSerial(t, p.Intermediate, p.Root)}, PrivateKey: leaf.Key}
		return []probe{
			w.serve("an intermediate with serial -1092", "a.neg.test", neg, false),
			w.serve("the same intermediate with its own serial", "a.neg.test", p.FullChain(leaf), true),
		}
	}},
	{"a pin on the leaf's key", func(t *testing.T, w *world) []probe {
		p := w.pki
		pinned := p.Leaf(t, "a.lpin.test")
		w.cert("root.pem", p.Root)
		w.file("rules.toml", "[[rule]]\nhosts = [\"**.lpin.test\"]\nanchors = [\"root.pem\"]\npins = [\""+pinOf(pinned)+"\", \""+randomPin(t)+"\"]\n")
		return []probe{
			w.serve("leaf pin: the pinned key", "a.lpin.test", p.FullChain(pinned), true),
			w.serve("leaf pin: another key", "a.lpin.test", p.FullChain(p.Leaf(t, "a.lpin.test")), false),
		}
	}},
}

// TestPythonVerifiedChain runs each case through requests, httpx, httpx
// async and a bare ssl socket, after checking that the policy itself
// decides each probe as it says.
func TestPythonVerifiedChain(t *testing.T) {
	py := findPython(t)
	for _, c := range chainCases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			probes := c.setup(t, w)
			checkPolicy(t, w, probes)
			got := runPython(t, py, w.write(Options{Format: "python"}), probes)
			for _, client := range pythonClients {
				check(t, "python "+client, probes, got[client])
			}
		})
	}
}

// TestPythonWithoutVerifiedChain: where Python shows no verified chain
// (before 3.10), a rule whose checks need it is refused with the reason,
// and a rule of exact certificates alone still works. The module's
// lookup of the chain is replaced by one that finds none.
func TestPythonWithoutVerifiedChain(t *testing.T) {
	py := findPython(t)
	w := newWorld(t)
	probes := w.scenario("")
	for i := range probes {
		if !strings.HasPrefix(probes[i].name, "device:") {
			probes[i].want = false
		}
	}
	const hook = "import httptrust_policy as hp\n"
	driver := strings.Replace(pythonDriver, hook, hook+"hp._chain = lambda conn, method: None\n", 1)
	if driver == pythonDriver {
		t.Fatal("the driver no longer imports the module as the test expects")
	}
	got := runPythonDriver(t, py, driver, w.write(Options{Format: "python"}), probes)
	for _, client := range pythonClients {
		check(t, "python "+client, probes, got[client])
		if r := got[client]["anchor: chain to the anchor"]; !strings.Contains(r, "does not show the verified chain") {
			t.Errorf("python %s: the refusal does not say why: %q", client, r)
		}
	}
}

// sslDriver connects to each probe with a bare ssl socket only: it needs
// neither requests nor httpx, so it runs on any Python 3 found.
const sslDriver = `
import json, socket, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for p in json.load(sys.stdin):
    try:
        ctx = hp.context_for(p["host"], int(p["port"]))
        with socket.create_connection((p["ip"], int(p["port"])), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=p["host"]) as t:
                t.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                t.recv(10)
        res = "ok"
    except Exception as e:
        res = "refused: %s: %s" % (type(e).__name__, str(e).replace("\n", " ")[:200])
    print("ssl\t%s\t%s" % (p["name"], res))
`

// TestPythonVersions runs the cases with a bare ssl socket on every Python
// 3.9 to 3.13 on PATH (python3.9, ...; Debian has only its own python3,
// run by the tests above): 3.10 to 3.12 show the verified chain through
// the ssl object beneath the socket, 3.13 through the socket's own
// method; 3.9 shows none, and the rules that need it are refused.
func TestPythonVersions(t *testing.T) {
	for _, v := range []string{"3.9", "3.10", "3.11", "3.12", "3.13"} {
		t.Run(v, func(t *testing.T) {
			py, err := exec.LookPath("python" + v)
			if err == nil {
				err = exec.Command(py, "-c", "import ssl").Run()
			}
			if err != nil {
				t.Skipf("no python%s on PATH: skipping (this test adds versions to the runtime tests, which use Debian's python3)", v)
			}
			old := v == "3.9"
			for _, c := range chainCases {
				w := newWorld(t)
				probes := c.setup(t, w)
				accepted := map[string]bool{}
				if old {
					for i := range probes {
						accepted[probes[i].name] = probes[i].want
						probes[i].want = false
					}
				}
				got := runPythonDriver(t, py, sslDriver, w.write(Options{Format: "python"}), probes)
				check(t, "python"+v+" ssl", probes, got["ssl"])
				for _, pr := range probes {
					if r := got["ssl"][pr.name]; accepted[pr.name] && !strings.Contains(r, "does not show the verified chain") {
						t.Errorf("python%s ssl: %s: %q, want the refusal of a Python without the verified chain", v, pr.name, r)
					}
				}
			}
			// Exact certificates need no chain, on every version.
			w := newWorld(t)
			dev := w.pki.SelfSigned(t, "device.test")
			w.cert("device.pem", dev)
			w.file("rules.toml", "[[rule]]\nhosts = [\"device.test\"]\ncertificates = [\"device.pem\"]\n")
			probes := []probe{
				w.serve("device: the exact certificate", "device.test", testpki.Chain(dev), true),
				w.serve("device: another self-signed certificate", "device.test", testpki.Chain(w.pki.SelfSigned(t, "device.test")), false),
			}
			check(t, "python"+v+" ssl", probes, runPythonDriver(t, py, sslDriver, w.write(Options{Format: "python"}), probes)["ssl"])
		})
	}
}

// runPythonDriver is runPython with another driver.
func runPythonDriver(t *testing.T, py, driver, dir string, probes []probe) map[string]map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "driver.py")
	if err := os.WriteFile(path, []byte(driver), 0o600); err != nil {
		t.Fatal(err)
	}
	return runPythonFile(t, py, path, dir, probes)
}

// TestPythonResumedSession: OpenSSL shows no verified chain for a resumed
// session, so the module refuses one under a rule that needs the chain,
// and takes one under a rule of exact certificates.
func TestPythonResumedSession(t *testing.T) {
	w := newWorld(t)
	probes := w.scenario("")
	ports := map[string]string{}
	for _, p := range probes {
		switch p.name {
		case "anchor: chain to the anchor", "device: the exact certificate":
			ports[p.host] = p.port
		}
	}
	got := pythonSnippet(t, w, `
import socket, ssl, sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for host, port in [("anchor.test", int(sys.argv[2])), ("device.test", int(sys.argv[3]))]:
    ctx = hp.context_for(host, port)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the session is known after the handshake
    with socket.create_connection(("127.0.0.1", port)) as s:
        with ctx.wrap_socket(s, server_hostname=host) as t:
            session = t.session
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            with ctx.wrap_socket(s, server_hostname=host, session=session) as t:
                print("%s\tok %s" % (host, t.session_reused))
    except ssl.SSLError as e:
        print("%s\trefused: %s" % (host, e))
`, []string{ports["anchor.test"], ports["device.test"]}, nil)
	if r := got["anchor.test"]; !strings.Contains(r, "no verified chain") {
		t.Errorf("a resumed session under anchors: %q, want refused for want of the verified chain", r)
	}
	if r := got["device.test"]; r != "ok True" {
		t.Errorf("a resumed session under an exact certificate: %q, want ok True", r)
	}
}
