package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
)

// certView is one certificate as every command shows it; --json prints the
// same struct.
type certView struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Names              []string  `json:"names"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	Key                string    `json:"key"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	SHA256             string    `json:"sha256"`
	Pin                string    `json:"pin"`
	IsCA               bool      `json:"is_ca"`
	SelfSigned         bool      `json:"self_signed"`
	Warnings           []string  `json:"warnings,omitempty"`
}

// expiringSoon is how close to its end a certificate is warned about.
const expiringSoon = 30 * 24 * time.Hour

// viewCert describes c at now; leaf says it is the first of its chain.
func viewCert(c *x509.Certificate, leaf bool, now time.Time) certView {
	info := httptrust.Describe(c)
	v := certView{
		Subject: info.Subject, Issuer: info.Issuer, Names: info.Names,
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		Key: keyDescription(c.PublicKey), SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256: info.SHA256, Pin: info.Pin, IsCA: c.IsCA, SelfSigned: info.SelfSigned,
	}
	if v.Names == nil {
		v.Names = []string{}
	}
	v.Warnings = certWarnings(c, leaf, now)
	return v
}

// certWarnings lists what a person should know about c.
func certWarnings(c *x509.Certificate, leaf bool, now time.Time) []string {
	var w []string
	switch {
	case now.After(c.NotAfter):
		w = append(w, "expired on "+c.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(c.NotBefore):
		w = append(w, "not valid until "+c.NotBefore.UTC().Format(time.DateOnly))
	case c.NotAfter.Sub(now) < expiringSoon:
		w = append(w, fmt.Sprintf("expires within 30 days (%s)", c.NotAfter.UTC().Format(time.DateOnly)))
	}
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		w = append(w, "signed with SHA-1, which Go and browsers refuse")
	case x509.MD5WithRSA, x509.MD2WithRSA:
		w = append(w, "signed with MD5 or MD2, which nothing accepts")
	}
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		w = append(w, fmt.Sprintf("RSA key of %d bits; 2048 is the minimum", k.N.BitLen()))
	}
	isAuthority := c.IsCA && c.KeyUsage&x509.KeyUsageCertSign != 0
	if leaf && !isAuthority && len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 {
		w = append(w, "no subjectAltName: Go and browsers match no host name against it")
	}
	if leaf && c.IsCA && (len(c.DNSNames) > 0 || len(c.IPAddresses) > 0 || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0) {
		w = append(w, "CA:TRUE on a server certificate (openssl req -x509 does this); trust it as an exact certificate, not an anchor")
	}
	return w
}

// keyDescription names a public key: "ECDSA P-256", "RSA 2048", "Ed25519".
func keyDescription(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// viewChain describes a chain, leaf first.
func viewChain(chain []*x509.Certificate, now time.Time) []certView {
	out := make([]certView, 0, len(chain))
	for i, c := range chain {
		out = append(out, viewCert(c, i == 0, now))
	}
	return out
}

// printCert writes v as indented lines; prefix starts every line.
func printCert(w io.Writer, prefix string, i int, v certView) {
	fmt.Fprintf(w, "%s%d  subject:   %s\n", prefix, i, v.Subject)
	p := prefix + "   "
	fmt.Fprintf(w, "%sissuer:    %s\n", p, v.Issuer)
	if len(v.Names) > 0 {
		fmt.Fprintf(w, "%snames:     %s\n", p, strings.Join(v.Names, ", "))
	}
	fmt.Fprintf(w, "%svalid:     %s to %s\n", p, v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
	fmt.Fprintf(w, "%skey:       %s, signed with %s\n", p, v.Key, v.SignatureAlgorithm)
	var flags []string
	if v.IsCA {
		flags = append(flags, "CA:TRUE")
	}
	if v.SelfSigned {
		flags = append(flags, "self-signed")
	}
	if len(flags) > 0 {
		fmt.Fprintf(w, "%s           %s\n", p, strings.Join(flags, ", "))
	}
	fmt.Fprintf(w, "%ssha256:    %s\n", p, v.SHA256)
	fmt.Fprintf(w, "%spin:       %s\n", p, v.Pin)
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "%swarning:   %s\n", p, warn)
	}
}

// printChain writes every certificate of views.
func printChain(w io.Writer, prefix string, views []certView) {
	for i, v := range views {
		printCert(w, prefix, i, v)
	}
}
