// Package testpki is the test PKI and the loopback servers the httptrust
// tests are built on: a root and an intermediate made fresh for each test,
// leaves and the usual broken variants (expired, not yet valid, self-signed,
// wrong usage, CN-only, name-constrained, unrelated root), the chains a
// server may present, HTTPS, HTTP and silent servers, a CONNECT proxy, and a
// dialer that maps names to loopback addresses like curl --resolve. Nothing
// here reaches beyond the machine, and nothing is read from disk.
//
// Certificates use ECDSA P-256 keys, so a PKI costs well under a millisecond.
// Every validity period is relative to PKI.Now; verify against that time
// (VerifyOptions.CurrentTime) or a clock derived from it.
package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/httptrust/httptrust/mint"
)

// Validity periods relative to PKI.Now.
const (
	// CABackdate is how long before Now the root and intermediate begin, so
	// that a test may move its clock back to check an expired leaf.
	CABackdate = 30 * 24 * time.Hour
	// LeafValidity is how long after Now a valid leaf ends.
	LeafValidity = 90 * 24 * time.Hour
)

// PKI is a root CA, an intermediate under it, and the time both were made.
// Leaves come from the intermediate unless a method says otherwise.
type PKI struct {
	Root         *mint.Cert // self-signed, no path length limit
	Intermediate *mint.Cert // issued by Root, path length 0
	Now          time.Time  // the reference time, truncated to the second
}

// New makes a fresh root and intermediate. It fails the test on error.
func New(t testing.TB) *PKI {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	p := &PKI{Now: now}
	p.Root = mustMint(t, mint.Template{
		CommonName:   "httptrust Test Root",
		Organization: "httptrust tests",
		IsCA:         true,
		MaxPathLen:   -1,
		NotBefore:    now.Add(-CABackdate),
		NotAfter:     now.AddDate(10, 0, 0),
	}, nil)
	p.Intermediate = mustMint(t, mint.Template{
		CommonName:   "httptrust Test Intermediate",
		Organization: "httptrust tests",
		IsCA:         true,
		MaxPathLen:   0,
		NotBefore:    now.Add(-CABackdate),
		NotAfter:     now.AddDate(5, 0, 0),
	}, p.Root)
	return p
}

func mustMint(t testing.TB, tmpl mint.Template, parent *mint.Cert) *mint.Cert {
	t.Helper()
	c, err := mint.New(tmpl, parent)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return c
}

// leaf returns a leaf template for names, valid from an hour before Now to
// LeafValidity after it.
func (p *PKI) leaf(names []string) mint.Template {
	return mint.Template{
		Names:     names,
		NotBefore: p.Now.Add(-time.Hour),
		NotAfter:  p.Now.Add(LeafValidity),
	}
}

// Leaf returns a valid server certificate for names, issued by Intermediate.
func (p *PKI) Leaf(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	return mustMint(t, p.leaf(names), p.Intermediate)
}

// LeafFrom returns a valid server certificate for names issued by issuer,
// such as a NameConstrainedCA or an OtherRoot.
func (p *PKI) LeafFrom(t testing.TB, issuer *mint.Cert, names ...string) *mint.Cert {
	t.Helper()
	return mustMint(t, p.leaf(names), issuer)
}

// Expired returns a leaf for names that was valid from three days to one day
// before Now.
func (p *PKI) Expired(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(names)
	tmpl.NotBefore, tmpl.NotAfter = p.Now.Add(-72*time.Hour), p.Now.Add(-24*time.Hour)
	return mustMint(t, tmpl, p.Intermediate)
}

// NotYetValid returns a leaf for names valid from one day to three days after
// Now.
func (p *PKI) NotYetValid(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(names)
	tmpl.NotBefore, tmpl.NotAfter = p.Now.Add(24*time.Hour), p.Now.Add(72*time.Hour)
	return mustMint(t, tmpl, p.Intermediate)
}

// SelfSigned returns a self-signed leaf for names with its own key and
// CA:FALSE, the way many devices make their certificate.
func (p *PKI) SelfSigned(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	return mustMint(t, p.leaf(names), nil)
}

// SelfSignedCA returns a self-signed certificate for names with CA:TRUE and
// no keyUsage extension, as `openssl req -x509` makes one. Its common name
// is the first name.
func (p *PKI) SelfSignedCA(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(names)
	tmpl.IsCA, tmpl.MaxPathLen, tmpl.OmitKeyUsage = true, -1, true
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{}
	if len(names) > 0 {
		tmpl.CommonName = names[0]
	}
	return mustMint(t, tmpl, nil)
}

// ClientAuthOnly returns a leaf for names whose only extended key usage is
// client authentication, so a client must refuse it as a server certificate.
func (p *PKI) ClientAuthOnly(t testing.TB, names ...string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(names)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return mustMint(t, tmpl, p.Intermediate)
}

// CNOnly returns a leaf that names its host only in the common name, with no
// subjectAltName; Go refuses it for every host name.
func (p *PKI) CNOnly(t testing.TB, name string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf([]string{name})
	tmpl.OmitSAN = true
	return mustMint(t, tmpl, p.Intermediate)
}

// WithIssuerURL returns a leaf for names whose Authority Information Access
// points at url for its issuer (the intermediate), for AIA fetching tests.
func (p *PKI) WithIssuerURL(t testing.TB, url string, names ...string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(names)
	tmpl.IssuingCertificateURL = []string{url}
	return mustMint(t, tmpl, p.Intermediate)
}

// ClientCert returns a client certificate with common name cn and only the
// client authentication extended key usage, issued by Intermediate.
func (p *PKI) ClientCert(t testing.TB, cn string) *mint.Cert {
	t.Helper()
	tmpl := p.leaf(nil)
	tmpl.CommonName, tmpl.Client = cn, true
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return mustMint(t, tmpl, p.Intermediate)
}

// NameConstrainedCA returns an intermediate under Root (not under
// Intermediate) limited to permitted: DNS domains ("corp.test" covers it and
// every name below) or CIDR ranges ("10.0.0.0/8"). Issue leaves from it with
// LeafFrom and serve them with Chain(leaf, ca).
func (p *PKI) NameConstrainedCA(t testing.TB, permitted ...string) *mint.Cert {
	t.Helper()
	tmpl := mint.Template{
		CommonName: "httptrust Test Constrained CA",
		IsCA:       true,
		NotBefore:  p.Now.Add(-CABackdate),
		NotAfter:   p.Now.AddDate(5, 0, 0),
	}
	for _, s := range permitted {
		if _, n, err := net.ParseCIDR(s); err == nil {
			tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, n)
		} else {
			tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, s)
		}
	}
	return mustMint(t, tmpl, p.Root)
}

// OtherRoot returns a root CA unrelated to p, for "unknown authority" tests.
func (p *PKI) OtherRoot(t testing.TB) *mint.Cert {
	t.Helper()
	return mustMint(t, mint.Template{
		CommonName: "httptrust Other Root",
		IsCA:       true,
		MaxPathLen: -1,
		NotBefore:  p.Now.Add(-CABackdate),
		NotAfter:   p.Now.AddDate(10, 0, 0),
	}, nil)
}

// Pool returns a certificate pool holding just Root.
func (p *PKI) Pool() *x509.CertPool { return p.Root.Pool() }

// Verify verifies c for name at Now, with Root as the only root and
// Intermediate available as an intermediate. It returns the x509 error.
func (p *PKI) Verify(c *mint.Cert, name string) error {
	inters := x509.NewCertPool()
	inters.AddCert(p.Intermediate.Cert)
	_, err := c.Cert.Verify(x509.VerifyOptions{
		Roots:         p.Root.Pool(),
		Intermediates: inters,
		DNSName:       name,
		CurrentTime:   p.Now,
	})
	return err
}

// Chain returns leaf and its key as a tls.Certificate, followed by rest in the
// order given: what a server configured with that chain sends.
func Chain(leaf *mint.Cert, rest ...*mint.Cert) tls.Certificate {
	return leaf.TLSCertificate(rest...)
}

// FullChain is leaf followed by Intermediate: a correctly configured server.
func (p *PKI) FullChain(leaf *mint.Cert) tls.Certificate { return Chain(leaf, p.Intermediate) }

// LeafOnly is leaf alone: a server that forgot its intermediate (an
// incomplete chain).
func LeafOnly(leaf *mint.Cert) tls.Certificate { return Chain(leaf) }

// ChainWithRoot is leaf, Intermediate and Root: a server that also sends its
// root, which clients ignore.
func (p *PKI) ChainWithRoot(leaf *mint.Cert) tls.Certificate {
	return Chain(leaf, p.Intermediate, p.Root)
}

// ReversedChain is leaf, Root, Intermediate: the rest of the chain in the
// wrong order, which Go's path building tolerates.
func (p *PKI) ReversedChain(leaf *mint.Cert) tls.Certificate {
	return Chain(leaf, p.Root, p.Intermediate)
}
