package certs

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// Info describes one certificate for people and programs alike: the
// httptrust CLI prints it as text and as JSON, and a refused connection
// carries one per certificate the server presented.
//
// Its strings are the certificate's own. A certificate from the network can
// put control characters and bidirectional overrides in its subject,
// issuer and names, so whatever prints an Info to a terminal must escape
// them (encoding/json does so for JSON).
type Info struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// Names are the DNS and IP subject alternative names, at most
	// MaxNamesShown of them; MoreNames counts the rest.
	Names              []string  `json:"names"`
	MoreNames          int       `json:"more_names,omitempty"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	Key                string    `json:"key"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	SHA256             string    `json:"sha256"`
	Pin                string    `json:"pin"`
	IsCA               bool      `json:"is_ca"`
	SelfSigned         bool      `json:"self_signed"`
	// Warnings say what a person should know about the certificate at the
	// time it was described: expiry, weak algorithms, a missing SAN.
	Warnings []string `json:"warnings,omitempty"`

	// Certificate is the certificate described.
	Certificate *x509.Certificate `json:"-"`
}

// MaxNamesShown bounds the names an Info keeps: a certificate may carry
// thousands.
const MaxNamesShown = 20

// ExpiringSoon is how close to its end a certificate is warned about.
const ExpiringSoon = 30 * 24 * time.Hour

// Inspect describes c at now. leaf says c is the server's own certificate
// (the first of its chain), for the warnings that concern only leaves.
func Inspect(c *x509.Certificate, leaf bool, now time.Time) Info {
	names := Names(c)
	more := 0
	if len(names) > MaxNamesShown {
		names, more = names[:MaxNamesShown:MaxNamesShown], len(names)-MaxNamesShown
	}
	return Info{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Names: names, MoreNames: more,
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		Key: KeyDescription(c.PublicKey), SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256: CertFingerprint(c).String(), Pin: SPKIPin(c).String(),
		IsCA: c.IsCA, SelfSigned: IsSelfSigned(c), Warnings: warnings(c, leaf, now),
		Certificate: c,
	}
}

// InspectChain describes a chain, leaf first.
func InspectChain(chain []*x509.Certificate, now time.Time) []Info {
	out := make([]Info, 0, len(chain))
	for i, c := range chain {
		out = append(out, Inspect(c, i == 0, now))
	}
	return out
}

// Names lists the names c covers for TLS: its DNS and IP subject
// alternative names (Go matches no host against the common name).
func Names(c *x509.Certificate) []string {
	names := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// IsSelfSigned reports whether c is issued by itself: its issuer is its
// subject and its own key verifies its signature.
func IsSelfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// warnings lists what a person should know about c at now.
func warnings(c *x509.Certificate, leaf bool, now time.Time) []string {
	var w []string
	switch {
	case now.After(c.NotAfter):
		w = append(w, "expired on "+c.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(c.NotBefore):
		w = append(w, "not valid until "+c.NotBefore.UTC().Format(time.DateOnly))
	case c.NotAfter.Sub(now) < ExpiringSoon:
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
