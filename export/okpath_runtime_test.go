package export

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// serveDER starts a server that sends chain as it stands (DER), with key.
func (w *world) serveDER(name, host string, key crypto.Signer, want bool, chain ...[]byte) probe {
	s := testpki.StartTLS(w.t, "127.0.0.1", tls.Certificate{Certificate: chain, PrivateKey: key}, nil)
	return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
}

// TestDivergentPaths: the extended key usage and signature checks run on
// the path Java verified. A certificate with the subject and key of a
// restricted intermediate, but CA:FALSE, sent before it, is the first
// issuer OkHttp's chain cleaner finds, while Java, given the list out of
// order, builds its own path through the restricted intermediate; both
// paths are refused by Go.
func TestDivergentPaths(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.pd.test\"]\nanchors = [\"root.pem\"]\n")
	twin := func(of *mint.Cert) *mint.Cert {
		return mustMint(t, mint.Template{CommonName: of.Cert.Subject.CommonName, Names: []string{"twin.pd.test"}, Key: of.Key,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, p.Root)
	}
	keep := func(e [][]byte) [][]byte { return e }

	// A clientAuth-only sub-CA, and its key certified again as an end entity.
	eku := mustMint(t, mint.Template{CommonName: "Inter EKU", IsCA: true, MaxPathLen: -1,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, p.Root)
	ekuLeaf := p.LeafFrom(t, eku, "eku.pd.test")
	// A sub-CA signed with ECDSA-SHA1, and a CA:FALSE twin signed with SHA-256.
	sha := mustMint(t, mint.Template{CommonName: "Inter SHA1", IsCA: true, MaxPathLen: -1}, p.Root)
	sha1DER := reissue(t, sha, p.Root, keep, ecdsaWithSHA1, crypto.SHA1).Certificate[0]
	shaLeaf := p.LeafFrom(t, sha, "sha1.pd.test")

	probes := []probe{
		w.serveDER("[leaf, clientAuth-only CA]", "eku.pd.test", ekuLeaf.Key, false, ekuLeaf.DER, eku.DER),
		w.serveDER("[leaf, CA:FALSE twin, clientAuth-only CA]", "eku.pd.test", ekuLeaf.Key, false, ekuLeaf.DER, twin(eku).DER, eku.DER),
		w.serveDER("[leaf, CA signed with SHA-1]", "sha1.pd.test", shaLeaf.Key, false, shaLeaf.DER, sha1DER),
		w.serveDER("[leaf, CA:FALSE twin signed with SHA-256, CA signed with SHA-1]", "sha1.pd.test", shaLeaf.Key, false, shaLeaf.DER, twin(sha).DER, sha1DER),
		w.serve("[leaf, intermediate]", "ok.pd.test", p.FullChain(p.Leaf(t, "ok.pd.test")), true),
	}
	runCode(t, w, probes, true)
}

// leafDNS is a leaf with these DNS names as they stand (mint would refuse
// some), signed by issuer.
func leafDNS(t *testing.T, issuer *mint.Cert, names ...string) tls.Certificate {
	t.Helper()
	key, err := mint.NewKey(mint.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, key.Public(), issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestNameConstraintsAsMatched: a leaf's DNS names are held to an
// anchor's excluded subtrees as the host name check matches them:
// OkHostnameVerifier matches "bad.nc2.test." to bad.nc2.test, and
// "*.nc3.test" to bad.nc3.test; Go refuses both.
func TestNameConstraintsAsMatched(t *testing.T) {
	w := newWorld(t)
	ca := func(cn string, excluded ...string) *mint.Cert {
		return mustMint(t, mint.Template{CommonName: cn, IsCA: true, MaxPathLen: -1, ExcludedDNSDomains: excluded}, nil)
	}
	nc2, nc3 := ca("Excludes nc2.test", "nc2.test"), ca("Excludes bad.nc3.test", "bad.nc3.test")
	w.cert("nc2.pem", nc2)
	w.cert("nc3.pem", nc3)
	w.file("rules.toml", `
[[rule]]
hosts = ["**.nc2.test"]
anchors = ["nc2.pem"]

[[rule]]
hosts = ["**.nc3.test"]
anchors = ["nc3.pem"]
`)
	serve := func(name, host string, c tls.Certificate, want bool) probe {
		return w.serveDER(name, host, c.PrivateKey.(crypto.Signer), want, c.Certificate...)
	}
	probes := []probe{
		serve("excluded nc2.test: leaf bad.nc2.test.", "bad.nc2.test", leafDNS(t, nc2, "bad.nc2.test."), false),
		serve("excluded nc2.test: leaf BAD.nc2.test", "bad.nc2.test", leafDNS(t, nc2, "BAD.nc2.test"), false),
		serve("excluded bad.nc3.test: leaf *.nc3.test", "bad.nc3.test", leafDNS(t, nc3, "*.nc3.test"), false),
		serve("excluded bad.nc3.test: leaf bad.nc3.test.", "bad.nc3.test", leafDNS(t, nc3, "bad.nc3.test."), false),
		serve("excluded bad.nc3.test: leaf good.nc3.test", "good.nc3.test", leafDNS(t, nc3, "good.nc3.test"), true),
	}
	runCode(t, w, probes, true)
}
