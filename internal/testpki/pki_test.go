package testpki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/httptrust/httptrust/mint"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLeafVerifies(t *testing.T) {
	p := New(t)
	leaf := p.Leaf(t, "device.test", "127.0.0.1", "::1")
	for _, name := range []string{"device.test", "127.0.0.1", "::1"} {
		if err := p.Verify(leaf, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !leaf.Cert.NotBefore.Before(p.Now) || !leaf.Cert.NotAfter.Equal(p.Now.Add(LeafValidity)) {
		t.Errorf("leaf valid %v to %v, want around Now %v", leaf.Cert.NotBefore, leaf.Cert.NotAfter, p.Now)
	}
	if !bytes.Equal(leaf.Cert.RawIssuer, p.Intermediate.Cert.RawSubject) {
		t.Error("leaf is not issued by the intermediate")
	}
	if p.Intermediate.Cert.MaxPathLen != 0 || !p.Intermediate.Cert.MaxPathLenZero {
		t.Error("intermediate is not pathlen:0")
	}
	// An expired leaf verifies at a clock moved back into its validity.
	exp := p.Expired(t, "device.test")
	opts := x509.VerifyOptions{Roots: p.Pool(), Intermediates: x509.NewCertPool(), CurrentTime: exp.Cert.NotBefore.Add(1)}
	opts.Intermediates.AddCert(p.Intermediate.Cert)
	if _, err := exp.Cert.Verify(opts); err != nil {
		t.Errorf("expired leaf within its own window: %v", err)
	}
}

// reason classifies an x509 verification error for the table below.
func reason(err error) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "expired"
		case x509.IncompatibleUsage:
			return "usage"
		case x509.CANotAuthorizedForThisName:
			return "constraint"
		}
		return "invalid:" + err.Error()
	case errors.As(err, &unknown):
		return "unknown authority"
	case errors.As(err, &host):
		return "name mismatch"
	}
	return "other:" + err.Error()
}

func verifyWith(c *mint.Cert, root *mint.Cert, name string, inters ...*mint.Cert) error {
	opts := x509.VerifyOptions{Roots: root.Pool(), Intermediates: x509.NewCertPool(), DNSName: name}
	for _, i := range inters {
		opts.Intermediates.AddCert(i.Cert)
	}
	_, err := c.Cert.Verify(opts)
	return err
}

func TestBrokenVariants(t *testing.T) {
	p := New(t)
	nc := p.NameConstrainedCA(t, "corp.test", "10.0.0.0/8")
	other := p.OtherRoot(t)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"leaf", p.Verify(p.Leaf(t, "a.test"), "a.test"), "ok"},
		{"wrong name", p.Verify(p.Leaf(t, "a.test"), "b.test"), "name mismatch"},
		{"expired", p.Verify(p.Expired(t, "a.test"), "a.test"), "expired"},
		{"not yet valid", p.Verify(p.NotYetValid(t, "a.test"), "a.test"), "expired"},
		{"self-signed", p.Verify(p.SelfSigned(t, "a.test"), "a.test"), "unknown authority"},
		{"self-signed CA", p.Verify(p.SelfSignedCA(t, "a.test"), "a.test"), "unknown authority"},
		{"client auth only", p.Verify(p.ClientAuthOnly(t, "a.test"), "a.test"), "usage"},
		{"CN only", p.Verify(p.CNOnly(t, "a.test"), "a.test"), "name mismatch"},
		{"client cert as server", p.Verify(p.ClientCert(t, "alice"), ""), "usage"},
		{"other root", verifyWith(p.LeafFrom(t, other, "a.test"), p.Root, "a.test"), "unknown authority"},
		{"other root, own pool", verifyWith(p.LeafFrom(t, other, "a.test"), other, "a.test"), "ok"},
		{"incomplete chain", verifyWith(p.Leaf(t, "a.test"), p.Root, "a.test"), "unknown authority"},
		{"constrained, inside", verifyWith(p.LeafFrom(t, nc, "x.corp.test"), p.Root, "x.corp.test", nc), "ok"},
		{"constrained, IP inside", verifyWith(p.LeafFrom(t, nc, "10.1.2.3"), p.Root, "10.1.2.3", nc), "ok"},
		{"constrained, outside", verifyWith(p.LeafFrom(t, nc, "bank.test"), p.Root, "bank.test", nc), "constraint"},
		{"constrained, IP outside", verifyWith(p.LeafFrom(t, nc, "192.168.1.1"), p.Root, "192.168.1.1", nc), "constraint"},
	}
	for _, tt := range tests {
		if got := reason(tt.err); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestVariantShapes(t *testing.T) {
	p := New(t)
	ss := p.SelfSigned(t, "device.test").Cert
	signedBySelf := ss.CheckSignature(ss.SignatureAlgorithm, ss.RawTBSCertificate, ss.Signature) == nil
	if ss.IsCA || !bytes.Equal(ss.RawIssuer, ss.RawSubject) || !signedBySelf {
		t.Errorf("SelfSigned: IsCA=%v, self-issued=%v, signed by own key=%v", ss.IsCA, bytes.Equal(ss.RawIssuer, ss.RawSubject), signedBySelf)
	}
	sca := p.SelfSignedCA(t, "device.test")
	if !sca.Cert.IsCA || sca.Cert.KeyUsage != 0 || len(sca.Cert.ExtKeyUsage) != 0 || sca.Cert.Subject.CommonName != "device.test" {
		t.Errorf("SelfSignedCA: IsCA=%v KeyUsage=%v EKU=%v CN=%q", sca.Cert.IsCA, sca.Cert.KeyUsage, sca.Cert.ExtKeyUsage, sca.Cert.Subject.CommonName)
	}
	if err := verifyWith(sca, sca, "device.test"); err != nil {
		t.Errorf("SelfSignedCA trusted as itself: %v", err)
	}
	cn := p.CNOnly(t, "legacy.test").Cert
	if cn.Subject.CommonName != "legacy.test" || len(cn.DNSNames)+len(cn.IPAddresses) != 0 {
		t.Errorf("CNOnly: CN=%q SANs=%q %v", cn.Subject.CommonName, cn.DNSNames, cn.IPAddresses)
	}
	aia := p.WithIssuerURL(t, "http://127.0.0.1:9/inter.der", "a.test").Cert
	if !slices.Equal(aia.IssuingCertificateURL, []string{"http://127.0.0.1:9/inter.der"}) {
		t.Errorf("WithIssuerURL: %q", aia.IssuingCertificateURL)
	}
	client := p.ClientCert(t, "alice")
	if client.Cert.Subject.CommonName != "alice" || !slices.Equal(client.Cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ClientCert: CN=%q EKU=%v", client.Cert.Subject.CommonName, client.Cert.ExtKeyUsage)
	}
	opts := x509.VerifyOptions{Roots: p.Pool(), Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	opts.Intermediates.AddCert(p.Intermediate.Cert)
	if _, err := client.Cert.Verify(opts); err != nil {
		t.Errorf("ClientCert for client auth: %v", err)
	}
	nc := p.NameConstrainedCA(t, "corp.test", "10.0.0.0/8").Cert
	if !slices.Equal(nc.PermittedDNSDomains, []string{"corp.test"}) || len(nc.PermittedIPRanges) != 1 ||
		nc.PermittedIPRanges[0].String() != "10.0.0.0/8" || !bytes.Equal(nc.RawIssuer, p.Root.Cert.RawSubject) {
		t.Errorf("NameConstrainedCA: %q %v", nc.PermittedDNSDomains, nc.PermittedIPRanges)
	}
}

func TestChains(t *testing.T) {
	p := New(t)
	leaf := p.Leaf(t, "a.test")
	tests := []struct {
		name string
		got  [][]byte
		want []*mint.Cert
	}{
		{"FullChain", p.FullChain(leaf).Certificate, []*mint.Cert{leaf, p.Intermediate}},
		{"LeafOnly", LeafOnly(leaf).Certificate, []*mint.Cert{leaf}},
		{"ChainWithRoot", p.ChainWithRoot(leaf).Certificate, []*mint.Cert{leaf, p.Intermediate, p.Root}},
		{"ReversedChain", p.ReversedChain(leaf).Certificate, []*mint.Cert{leaf, p.Root, p.Intermediate}},
		{"Chain", Chain(leaf, p.Root).Certificate, []*mint.Cert{leaf, p.Root}},
	}
	for _, tt := range tests {
		if len(tt.got) != len(tt.want) {
			t.Errorf("%s: %d certificates, want %d", tt.name, len(tt.got), len(tt.want))
			continue
		}
		for i := range tt.got {
			if !bytes.Equal(tt.got[i], tt.want[i].DER) {
				t.Errorf("%s: certificate %d is %v", tt.name, i, tt.want[i])
			}
		}
	}
	if p.FullChain(leaf).PrivateKey != leaf.Key {
		t.Error("FullChain does not carry the leaf's key")
	}
}

func TestFreshPKIs(t *testing.T) {
	a, b := New(t), New(t)
	if bytes.Equal(a.Root.DER, b.Root.DER) {
		t.Error("two PKIs share a root")
	}
	if err := verifyWith(a.Leaf(t, "a.test"), b.Root, "a.test", a.Intermediate); reason(err) != "unknown authority" {
		t.Errorf("leaf of one PKI under another's root: %v", err)
	}
}
