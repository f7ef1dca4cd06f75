package main

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

// plan is what fetch would write for a captured chain.
type plan struct {
	Kind store.Kind
	Cert *x509.Certificate
	Why  string
	// NameMismatch and Expired say the certificate needs
	// allow_name_mismatch or allow_expired to be trusted.
	NameMismatch bool
	Expired      bool
}

// relaxed reports whether the plan's certificate is trusted only with an
// allowance (allow_name_mismatch, allow_expired), which a rule may hold
// for one exact host only.
func (p *plan) relaxed() bool { return p.NameMismatch || p.Expired }

// relaxFlags are the flags of fetch that allow what the plan needs.
func (p *plan) relaxFlags() []string {
	var flags []string
	if p.NameMismatch {
		flags = append(flags, "--allow-name-mismatch")
	}
	if p.Expired {
		flags = append(flags, "--allow-expired")
	}
	return flags
}

// relaxRemedy returns rem with the plan's relaxFlags added to each of its
// fetch commands that lacks them: the library's remedy names the fetch
// that replaces trust, and this is what that fetch will need to write.
func (p *plan) relaxRemedy(rem httptrust.Remedy) httptrust.Remedy {
	cmds := make([]httptrust.Command, len(rem.Commands))
	for i, c := range rem.Commands {
		cmds[i] = c
		if c.Name != "fetch" || len(c.Args) == 0 {
			continue
		}
		args := slices.Clone(c.Args[:len(c.Args)-1])
		for _, f := range p.relaxFlags() {
			if !slices.Contains(args, f) {
				args = append([]string{f}, args...)
			}
		}
		cmds[i].Args = append(args, c.Args[len(c.Args)-1])
	}
	rem.Commands = cmds
	return rem
}

// planView is a plan as --json prints it.
type planView struct {
	Kind              string `json:"kind"`
	Subject           string `json:"subject"`
	SHA256            string `json:"sha256"`
	Why               string `json:"why"`
	AllowNameMismatch bool   `json:"allow_name_mismatch"`
	AllowExpired      bool   `json:"allow_expired"`
}

func (p *plan) view() *planView {
	return &planView{Kind: p.Kind.String(), Subject: p.Cert.Subject.String(), SHA256: certs.CertFingerprint(p.Cert).String(),
		Why: p.Why, AllowNameMismatch: p.NameMismatch, AllowExpired: p.Expired}
}

// planTrust decides what to trust for a chain presented for name: a
// self-signed leaf as an exact certificate; otherwise the last certificate
// of a path built from the presented certificates, if it is a CA that the
// system roots do not already vouch for and the leaf verifies under it for
// name and now; failing that, the leaf as an exact certificate, with the
// relaxations it needs.
func planTrust(chain []*x509.Certificate, name string, now time.Time, sys *x509.CertPool) *plan {
	leaf := chain[0]
	if certs.IsSelfSigned(leaf) {
		return exactPlan(leaf, name, now, "the server's certificate is self-signed: trust exactly this certificate")
	}
	anchor := pathAnchor(chain, now, sys)
	if anchor == nil {
		return exactPlan(leaf, name, now, "the server sent no CA certificate that issues its certificate: trust exactly the server's certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return exactPlan(leaf, name, now, fmt.Sprintf("the certificate does not verify under its CA %q for %s now (%v): trust exactly the server's certificate instead", anchor.Subject, name, err))
	}
	return &plan{Kind: store.Anchor, Cert: anchor,
		Why: fmt.Sprintf("the server's certificate is issued through %q, which the system roots do not trust: trust that CA for this host only", anchor.Subject)}
}

// exactPlan trusts the leaf exactly, with the relaxations it needs.
func exactPlan(leaf *x509.Certificate, name string, now time.Time, why string) *plan {
	return &plan{Kind: store.Certificate, Cert: leaf, Why: why,
		NameMismatch: leaf.VerifyHostname(name) != nil,
		Expired:      now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)}
}

// pathAnchor returns the highest presented certificate that is a CA, not
// vouched for by the system roots, and through which the presented
// certificates build a path to the leaf (validity aside). nil if none.
func pathAnchor(chain []*x509.Certificate, now time.Time, sys *x509.CertPool) *x509.Certificate {
	leaf := chain[0]
	for i := len(chain) - 1; i >= 1; i-- {
		c := chain[i]
		if !c.IsCA || !c.BasicConstraintsValid || (c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0) {
			continue
		}
		if sys != nil {
			if _, err := c.Verify(x509.VerifyOptions{Roots: sys, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
				continue // a public CA: anchoring it would add nothing but risk
			}
		}
		roots := x509.NewCertPool()
		roots.AddCert(c)
		inter := x509.NewCertPool()
		for _, m := range chain[1:i] {
			inter.AddCert(m)
		}
		// Judge the path at the leaf's mid-life: validity is checked later.
		mid := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: mid,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
			return c
		}
	}
	return nil
}
