package export

import (
	"crypto/x509"
	"net"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The chain checks Go makes and the platforms' verifiers do not all make:
// the name constraints of an anchor, the extended key usage of a CA, the
// signature algorithms, the sign of a serial number.

func mustMint(t *testing.T, tmpl mint.Template, parent *mint.Cert) *mint.Cert {
	t.Helper()
	c, err := mint.New(tmpl, parent)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) serveOn(name, ip, host string, cert *mint.Cert, rest []*mint.Cert, want bool) probe {
	s := testpki.StartTLS(w.t, ip, testpki.Chain(cert, rest...), nil)
	return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
}

// TestNameConstraints: the name constraints of every CA of the chain, the
// anchor's own too, bind the leaf's DNS and IP names (permitted and
// excluded), as Go applies them.
func TestNameConstraints(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	ca := func(cn string, tmpl mint.Template) *mint.Cert {
		tmpl.CommonName, tmpl.IsCA, tmpl.MaxPathLen = cn, true, -1
		return mustMint(t, tmpl, nil)
	}
	_, v4, _ := net.ParseCIDR("127.0.0.2/32")
	permitted := ca("Permitted Root", mint.Template{PermittedDNSDomains: []string{"ok.nc.test"}})
	excluded := ca("Excluded Root", mint.Template{ExcludedDNSDomains: []string{"bad.ex.test"}})
	ipRoot := ca("IP Root", mint.Template{PermittedIPRanges: []*net.IPNet{v4}})
	inter := p.NameConstrainedCA(t, "ok.ic.test")
	w.cert("permitted.pem", permitted)
	w.cert("excluded.pem", excluded)
	w.cert("ip.pem", ipRoot)
	w.cert("root.pem", p.Root)
	w.file("rules.toml", `
[[rule]]
hosts = ["**.nc.test"]
anchors = ["permitted.pem"]

[[rule]]
hosts = ["**.ex.test"]
anchors = ["excluded.pem"]

[[rule]]
hosts = ["127.0.0.0/8"]
anchors = ["ip.pem"]

[[rule]]
hosts = ["**.ic.test"]
anchors = ["root.pem"]
`)
	leaf := func(issuer *mint.Cert, name string) *mint.Cert { return p.LeafFrom(t, issuer, name) }
	probes := []probe{
		w.serveOn("anchor permits ok.nc.test: ok.nc.test", "127.0.0.1", "ok.nc.test", leaf(permitted, "ok.nc.test"), nil, true),
		w.serveOn("anchor permits ok.nc.test: bad.nc.test", "127.0.0.1", "bad.nc.test", leaf(permitted, "bad.nc.test"), nil, false),
		w.serveOn("anchor excludes bad.ex.test: good.ex.test", "127.0.0.1", "good.ex.test", leaf(excluded, "good.ex.test"), nil, true),
		w.serveOn("anchor excludes bad.ex.test: x.bad.ex.test", "127.0.0.1", "x.bad.ex.test", leaf(excluded, "x.bad.ex.test"), nil, false),
		w.serveOn("anchor permits 127.0.0.2: 127.0.0.2", "127.0.0.2", "127.0.0.2", leaf(ipRoot, "127.0.0.2"), nil, true),
		w.serveOn("anchor permits 127.0.0.2: 127.0.0.3", "127.0.0.3", "127.0.0.3", leaf(ipRoot, "127.0.0.3"), nil, false),
		w.serveOn("intermediate permits ok.ic.test: bad.ic.test", "127.0.0.1", "bad.ic.test", leaf(inter, "bad.ic.test"), []*mint.Cert{inter}, false),
		w.serveOn("intermediate permits ok.ic.test: ok.ic.test", "127.0.0.1", "ok.ic.test", leaf(inter, "ok.ic.test"), []*mint.Cert{inter}, true),
	}
	runCode(t, w, probes, true)
}

// TestCAKeyUsage: a CA certificate (an intermediate or the anchor) whose
// extended key usage lacks serverAuth and anyExtendedKeyUsage does not
// vouch for a server, as Go decides.
func TestCAKeyUsage(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	ca := func(cn string, eku []x509.ExtKeyUsage, parent *mint.Cert) *mint.Cert {
		return mustMint(t, mint.Template{CommonName: cn, IsCA: true, MaxPathLen: -1, ExtKeyUsage: eku}, parent)
	}
	clientInter := ca("Client-only Intermediate", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, p.Root)
	serverInter := ca("Server Intermediate", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, p.Root)
	anyInter := ca("Any-usage Intermediate", []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, p.Root)
	clientRoot := ca("Client-only Root", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil)
	w.cert("root.pem", p.Root)
	w.cert("client-root.pem", clientRoot)
	w.file("rules.toml", `
[[rule]]
hosts = ["**.eku.test"]
anchors = ["root.pem"]

[[rule]]
hosts = ["**.ekuroot.test"]
anchors = ["client-root.pem"]
`)
	via := func(name, host string, inter *mint.Cert, want bool) probe {
		return w.serveOn(name, "127.0.0.1", host, p.LeafFrom(t, inter, host), []*mint.Cert{inter}, want)
	}
	probes := []probe{
		via("via a clientAuth-only intermediate", "a.eku.test", clientInter, false),
		via("via a serverAuth intermediate", "b.eku.test", serverInter, true),
		w.serveOn("under a clientAuth-only anchor", "127.0.0.1", "d.ekuroot.test", p.LeafFrom(t, clientRoot, "d.ekuroot.test"), nil, false),
		via("via an anyExtendedKeyUsage intermediate", "c.eku.test", anyInter, true),
	}
	checkPolicy(t, w, probes)
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
	// OpenSSL refuses a CA whose only extended key usage is
	// anyExtendedKeyUsage ("unsuitable certificate purpose"): stricter.
	runPythonClients(t, w, probes[:len(probes)-1], pythonClients)
}
