package certs

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
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
	Names     []string `json:"names"`
	MoreNames int      `json:"more_names,omitempty"`
	// Serial is the serial number in hex, colon-separated ("0A:1B:...").
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// DaysLeft is the number of whole days from the time of the
	// description to NotAfter; negative once it has expired.
	DaysLeft           int    `json:"days_left"`
	Key                string `json:"key"`
	SignatureAlgorithm string `json:"signature_algorithm"`
	// SHA256 and SHA1 are the certificate's fingerprints in lower-case
	// hex; SHA256Colon and SHA1Colon the same in the colon form devices and
	// browsers show (DC:FA:49:...).
	SHA256      string `json:"sha256"`
	SHA256Colon string `json:"sha256_colon"`
	SHA1        string `json:"sha1"`
	SHA1Colon   string `json:"sha1_colon"`
	Pin         string `json:"pin"`
	IsCA        bool   `json:"is_ca"`
	SelfSigned  bool   `json:"self_signed"`
	// KeyUsage and ExtKeyUsage name the key usages by their RFC 5280
	// names ("digitalSignature", "serverAuth"); an extended key usage
	// without a name is its dotted OID.
	KeyUsage    []string `json:"key_usage,omitempty"`
	ExtKeyUsage []string `json:"ext_key_usage,omitempty"`
	// SubjectKeyID and AuthorityKeyID are colon-separated hex.
	SubjectKeyID   string `json:"subject_key_id,omitempty"`
	AuthorityKeyID string `json:"authority_key_id,omitempty"`
	// OCSPServers and IssuerURLs come from the Authority Information
	// Access extension; CRLURLs from the CRL distribution points.
	OCSPServers []string `json:"ocsp_servers,omitempty"`
	IssuerURLs  []string `json:"issuer_urls,omitempty"`
	CRLURLs     []string `json:"crl_urls,omitempty"`
	// Warnings say what a person should know about the certificate at the
	// time it was described, where it changes what to do: expiry, weak
	// algorithms, a server certificate that names no host.
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
	fp, sha1sum := CertFingerprint(c), sha1.Sum(c.Raw)
	return Info{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Names: names, MoreNames: more,
		Serial:    serialHex(c),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), DaysLeft: daysLeft(c.NotAfter, now),
		Key: KeyDescription(c.PublicKey), SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256: fp.String(), SHA256Colon: fp.Colon(), SHA1: hex.EncodeToString(sha1sum[:]), SHA1Colon: ColonHex(sha1sum[:]),
		Pin:  SPKIPin(c).String(),
		IsCA: c.IsCA, SelfSigned: IsSelfSigned(c),
		KeyUsage: keyUsageNames(c.KeyUsage), ExtKeyUsage: extKeyUsageNames(c),
		SubjectKeyID: ColonHex(c.SubjectKeyId), AuthorityKeyID: ColonHex(c.AuthorityKeyId),
		OCSPServers: clipList(c.OCSPServer), IssuerURLs: clipList(c.IssuingCertificateURL), CRLURLs: clipList(c.CRLDistributionPoints),
		Warnings:    warnings(c, leaf, now),
		Certificate: c,
	}
}

// daysLeft counts the whole days from now to end, rounding towards the
// past: -1 on the day after it ended.
func daysLeft(end, now time.Time) int {
	d := end.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// serialHex is c's serial number as colon-separated hex bytes.
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	s := ColonHex(b)
	if c.SerialNumber.Sign() < 0 {
		s = "-" + s
	}
	return s
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
	if !leaf || clientOnly(c) {
		// A client certificate names a user or a machine, not a host; the
		// rest is about a server's own certificate.
		return w
	}
	if len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 && !actsAsCA(c) {
		msg := "no subjectAltName: Go and browsers match no host name against it"
		if cn := c.Subject.CommonName; cn != "" {
			msg += fmt.Sprintf(", not even its common name %q", cn)
		}
		w = append(w, msg)
	}
	hasNames := len(c.DNSNames) > 0 || len(c.IPAddresses) > 0
	if c.IsCA && !IsSelfSigned(c) && (hasNames || !actsAsCA(c)) {
		// A self-signed device certificate with CA:TRUE (what openssl req
		// -x509 writes) is trusted as an exact certificate: nothing to do.
		// One that another CA issued can itself issue certificates.
		w = append(w, "CA:TRUE on a server certificate that another CA issued: it can sign certificates of its own, "+
			"which trust in its issuer may accept; its operator should have it reissued without CA:TRUE")
	}
	return w
}
