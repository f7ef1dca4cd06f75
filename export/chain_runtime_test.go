package export

import (
	"bytes"
	"crypto"
	"crypto/rand"
	_ "crypto/sha1" // the SHA-1 test leaf
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The chain checks Go makes and the platforms' verifiers do not all make:
// the name constraints of an anchor, the extended key usage of a CA, the
// signature algorithms, the sign of a serial number.

func mustMint(t testing.TB, tmpl mint.Template, parent *mint.Cert) *mint.Cert {
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

// reissue returns leaf's certificate re-signed by issuer after edit has
// changed its TBSCertificate elements (version, serial, signature, ...),
// with sigAlg (DER AlgorithmIdentifier) and hash for the new signature; nil
// keeps leaf's own. Go refuses to make some of these (a negative serial).
func reissue(t testing.TB, leaf, issuer *mint.Cert, edit func(elems [][]byte) [][]byte, sigAlg []byte, hash crypto.Hash) tls.Certificate {
	t.Helper()
	var cert struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(leaf.DER, &cert); err != nil {
		t.Fatal(err)
	}
	var elems [][]byte
	for rest := cert.TBS.Bytes; len(rest) > 0; {
		var e asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &e); err != nil {
			t.Fatal(err)
		}
		elems = append(elems, e.FullBytes)
	}
	if sigAlg != nil {
		elems[2] = sigAlg // the TBS's signature field names the algorithm too
		cert.Alg = asn1.RawValue{FullBytes: sigAlg}
	}
	elems = edit(elems)
	tbs, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(elems, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if hash == 0 {
		hash = crypto.SHA256
	}
	h := hash.New()
	h.Write(tbs)
	sig, err := issuer.Key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		t.Fatal(err)
	}
	cert.TBS = asn1.RawValue{FullBytes: tbs}
	cert.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	der, err := asn1.Marshal(cert)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, issuer.DER}, PrivateKey: leaf.Key}
}

// ecdsaWithSHA1 is the DER AlgorithmIdentifier of ecdsa-with-SHA1.
var ecdsaWithSHA1 = []byte{0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01}

// TestSHA1Signatures: Go verifies no SHA-1 signature, so a leaf signed
// with ECDSA-SHA1 under the rule's own anchor is refused.
func TestSHA1Signatures(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.sha.test\"]\nanchors = [\"root.pem\"]\n")
	keep := func(e [][]byte) [][]byte { return e }
	serve := func(name, host string, c tls.Certificate, want bool) probe {
		s := testpki.StartTLS(t, "127.0.0.1", c, nil)
		return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
	}
	probes := []probe{
		serve("a leaf signed with ECDSA-SHA1", "a.sha.test", reissue(t, p.LeafFrom(t, p.Root, "a.sha.test"), p.Root, keep, ecdsaWithSHA1, crypto.SHA1), false),
		serve("the same leaf signed with ECDSA-SHA256", "b.sha.test", reissue(t, p.LeafFrom(t, p.Root, "b.sha.test"), p.Root, keep, nil, 0), true),
	}
	runCode(t, w, probes, true)
}

// TestNegativeSerial: Go's parser refuses a certificate with a negative
// serial number, so the policy refuses such a leaf under its anchor.
func TestNegativeSerial(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.neg.test\"]\nanchors = [\"root.pem\"]\n")
	serial := func(der []byte) func([][]byte) [][]byte {
		return func(e [][]byte) [][]byte { e[1] = der; return e }
	}
	serve := func(name, host string, c tls.Certificate, want bool) probe {
		s := testpki.StartTLS(t, "127.0.0.1", c, nil)
		return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
	}
	probes := []probe{
		serve("a leaf with serial -1092", "a.neg.test", reissue(t, p.LeafFrom(t, p.Root, "a.neg.test"), p.Root, serial([]byte{0x02, 0x02, 0xfb, 0xbc}), nil, 0), false),
		serve("a leaf with serial 1092", "b.neg.test", reissue(t, p.LeafFrom(t, p.Root, "b.neg.test"), p.Root, serial([]byte{0x02, 0x02, 0x04, 0x44}), nil, 0), true),
	}
	runCode(t, w, probes, true)
}

// TestPythonChecksDER: the python module's own checks of the DER, which
// hold whatever OpenSSL's settings (Debian's OpenSSL refuses a SHA-1 leaf
// itself), on the chain the server sent and the one OpenSSL verified.
func TestPythonChecksDER(t *testing.T) {
	py := findPython(t)
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.der.test\"]\nanchors = [\"root.pem\"]\n")
	keep := func(e [][]byte) [][]byte { return e }
	neg := func(e [][]byte) [][]byte { e[1] = []byte{0x02, 0x02, 0xfb, 0xbc}; return e }
	good := p.LeafFrom(t, p.Root, "a.der.test").DER
	cases := []struct {
		name  string
		chain [][]byte
		want  string
	}{
		{"a good leaf", [][]byte{good}, "ok"},
		{"a SHA-1 leaf", reissue(t, p.LeafFrom(t, p.Root, "a.der.test"), p.Root, keep, ecdsaWithSHA1, crypto.SHA1).Certificate[:1], "refused"},
		{"a leaf with a negative serial", reissue(t, p.LeafFrom(t, p.Root, "a.der.test"), p.Root, neg, nil, 0).Certificate[:1], "refused"},
		{"an intermediate with a negative serial", [][]byte{good, reissue(t, p.Intermediate, p.Root, neg, nil, 0).Certificate[0]}, "refused"},
		{"the anchor itself as the leaf", [][]byte{p.Root.DER}, "ok"},
	}
	var in strings.Builder
	for _, c := range cases {
		var hexes []string
		for _, d := range c.chain {
			hexes = append(hexes, hex.EncodeToString(d))
		}
		in.WriteString(c.name + "\t" + strings.Join(hexes, " ") + "\n")
	}
	script := `
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
i = hp.scope_for("a.der.test")
root = bytes.fromhex(sys.argv[2])
for line in sys.stdin:
    name, ders = line.rstrip("\n").split("\t")
    chain = [bytes.fromhex(h) for h in ders.split()]
    verified = chain if chain[-1] == root else chain + [root]
    try:
        hp._check(i, chain[0], "a.der.test", sent=chain, verified=verified)
        print(name + "\tok")
    except hp.RefusedError as e:
        print(name + "\trefused: " + str(e))
`
	cmd := exec.Command(py, "-c", script, w.write(Options{Format: "python"}), hex.EncodeToString(p.Root.DER))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	got := parseResults(string(out))
	for _, c := range cases {
		if res := got[c.name]; !strings.HasPrefix(res, c.want) {
			t.Errorf("%s: got %q, want %s", c.name, res, c.want)
		}
	}
}
