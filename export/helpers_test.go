package export

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// world is a store and the loopback servers of a test.
type world struct {
	t     *testing.T
	pki   *testpki.PKI
	store string
	certs map[string]*mint.Cert
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, pki: testpki.New(t), store: dir, certs: map[string]*mint.Cert{}}
}

// file writes a store file.
func (w *world) file(name, data string) {
	w.t.Helper()
	p := filepath.Join(w.store, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// cert writes c into the store as name (PEM).
func (w *world) cert(name string, c *mint.Cert) {
	w.t.Helper()
	w.certs[name] = c
	w.file(name, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})))
}

func (w *world) policy() *httptrust.Policy {
	w.t.Helper()
	p, err := httptrust.LoadDir(w.store, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// build exports the store; it fails the test on error.
func (w *world) build(o Options) *Result {
	w.t.Helper()
	res, err := w.tryBuild(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

func (w *world) tryBuild(o Options) (*Result, error) {
	o.Store = w.store
	o.Version = "v0.0.0-test"
	return Build(w.policy(), o)
}

// write exports into a new folder and returns it.
func (w *world) write(o Options) string {
	w.t.Helper()
	out := filepath.Join(w.t.TempDir(), "out")
	o.OutDir = out
	if err := WriteDir(out, w.build(o), false); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// pinOf is the OkHttp form of c's key.
func pinOf(c *mint.Cert) string { return certs.SPKIPin(c.Cert).String() }

// randomPin is the pin of a key nobody has.
func randomPin(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &x509.Certificate{RawSubjectPublicKeyInfo: der}
	return certs.SPKIPin(c).String()
}

// A probe is one connection a runtime test makes, and whether the policy
// accepts it.
type probe struct {
	name string // what it shows
	host string // the URL's host
	addr string // where it really goes ("127.0.0.1:PORT")
	port string
	want bool
	// cnOnly: a certificate whose name is only in the common name, which
	// the formats that leave name checks to the client (curl, pem, java)
	// cannot refuse (docs/export.md, "What the platforms still decide").
	cnOnly bool
}

// serve starts a server presenting cert and returns a probe for host.
func (w *world) serve(name, host string, cert tls.Certificate, want bool) probe {
	s := testpki.StartTLS(w.t, "127.0.0.1", cert, nil)
	return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
}

// scenario is the store and servers most runtime tests share: an anchor
// for one host, pins for another, an exact certificate for a device, and
// a host no rule covers. exactExtra is added to the device's rule.
func (w *world) scenario(exactExtra string) []probe {
	t, p := w.t, w.pki
	w.cert("root.pem", p.Root)
	pinnedLeaf := p.Leaf(t, "pinned.test")
	device := p.SelfSigned(t, "device.test")
	w.cert("device.pem", device)
	w.file("rules.toml", `
[[rule]]
hosts = ["anchor.test"]
anchors = ["root.pem"]

[[rule]]
hosts = ["pinned.test"]
anchors = ["root.pem"]
pins = ["`+pinOf(pinnedLeaf)+`", "`+randomPin(t)+`"]

[[rule]]
hosts = ["device.test"]
certificates = ["device.pem"]
`+exactExtra+`
`)
	other := p.OtherRoot(t)
	return []probe{
		w.serve("anchor: chain to the anchor", "anchor.test", p.FullChain(p.Leaf(t, "anchor.test")), true),
		w.serve("anchor: another CA", "anchor.test", testpki.Chain(p.LeafFrom(t, other, "anchor.test")), false),
		w.serve("anchor: expired", "anchor.test", p.FullChain(p.Expired(t, "anchor.test")), false),
		w.serve("anchor: wrong name", "anchor.test", p.FullChain(p.Leaf(t, "elsewhere.test")), false),
		cnOnly(w.serve("anchor: the name only in the common name", "anchor.test", p.FullChain(p.CNOnly(t, "anchor.test")), false)),
		w.serve("pinned: the pinned key", "pinned.test", p.FullChain(pinnedLeaf), true),
		w.serve("pinned: a wrong pin", "pinned.test", p.FullChain(p.Leaf(t, "pinned.test")), false),
		w.serve("device: the exact certificate", "device.test", testpki.Chain(device), true),
		w.serve("device: another self-signed certificate", "device.test", testpki.Chain(p.SelfSigned(t, "device.test")), false),
		w.serve("uncovered: the anchor vouches only for its hosts", "uncovered.test", p.FullChain(p.Leaf(t, "uncovered.test")), false),
	}
}

// need skips the test unless the command exists.
func need(t *testing.T, cmd string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI must run this test (.ci/run installs it)", cmd)
		}
		t.Skipf("%s is not installed (.ci/run installs it): skipping this runtime test", cmd)
	}
	return p
}

// skipOrFail skips the test with msg, or fails it under CI, where every
// runtime must be there.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s, and CI must run this test (.ci/run installs it)", msg)
	}
	t.Skip(msg + ": skipping this runtime test")
}

// check compares what a runtime did with each probe with what the policy
// says.
func check(t *testing.T, runtime string, probes []probe, got map[string]string) {
	t.Helper()
	for _, pr := range probes {
		res, ok := got[pr.name]
		switch {
		case !ok:
			t.Errorf("%s: %s: no result", runtime, pr.name)
		case pr.want && res != "ok":
			t.Errorf("%s: %s: refused, the policy accepts it: %s", runtime, pr.name, res)
		case !pr.want && res == "ok":
			t.Errorf("%s: %s: ACCEPTED, the policy refuses it (trust widened)", runtime, pr.name)
		}
	}
}

// parseResults reads "name\tok" or "name\trefused: why" lines.
func parseResults(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if name, res, ok := strings.Cut(line, "\t"); ok {
			got[name] = res
		}
	}
	return got
}

// chainOf is a server chain of the leaf alone.
func chainOf(leaf *mint.Cert) tls.Certificate { return testpki.Chain(leaf) }

func cnOnly(p probe) probe { p.cnOnly = true; return p }

// withoutCNOnly drops the common-name-only probe, for the formats that
// leave the name check to the client.
func withoutCNOnly(ps []probe) []probe {
	var out []probe
	for _, p := range ps {
		if !p.cnOnly {
			out = append(out, p)
		}
	}
	return out
}
