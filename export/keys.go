package export

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/httptrust/httptrust"
)

// keyNames names the public key algorithms Go's crypto/x509 parses but
// cannot use, or does not parse, by their OID.
var keyNames = map[string]string{
	"1.2.840.10040.4.1":     "a DSA key",
	"1.3.101.110":           "an X25519 key",
	"1.3.101.111":           "an X448 key",
	"1.3.101.113":           "an Ed448 key",
	"1.2.840.113549.1.1.10": "an RSASSA-PSS key (id-RSASSA-PSS)",
}

// keyProblem returns what is wrong with c's public key for Go, "" when Go
// can use it: crypto/tls takes a server's key and crypto/x509 verifies a
// signature with RSA (of 1024 bits or more), ECDSA and Ed25519 keys only.
func keyProblem(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 1024 {
			return fmt.Sprintf("a %d-bit RSA key (Go refuses RSA keys of fewer than 1024 bits)", k.N.BitLen())
		}
		return ""
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return ""
	}
	var spki struct {
		Algorithm struct {
			Algorithm asn1.ObjectIdentifier
			Params    asn1.RawValue `asn1:"optional"`
		}
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return "a public key that cannot be read"
	}
	oid := spki.Algorithm.Algorithm.String()
	if name, ok := keyNames[oid]; ok {
		return name
	}
	return "a key of the algorithm " + oid + ", which Go does not know"
}

// checkKeys refuses exact certificates and anchors whose key Go cannot
// use: httptrust never completes a handshake with such an exact
// certificate and accepts nothing such an anchor signed, where the
// platforms (OpenSSL, JDK) use those keys.
func (m *model) checkKeys(sc *scope) {
	if sc.noTrust {
		return
	}
	for _, c := range sc.exact {
		if p := keyProblem(c); p != "" {
			m.refuse(sc, "certificates", fmt.Sprintf("the exact certificate %s (%s) has %s, which Go's TLS cannot use: httptrust refuses every handshake with it, and %s could accept it; use a certificate with an RSA, ECDSA or Ed25519 key",
				certName(c), m.certFile(sc.eff.Certificates, c), p, m.o.Format))
		}
	}
	for _, c := range sc.anchors {
		if p := keyProblem(c); p != "" {
			m.refuse(sc, "anchors", fmt.Sprintf("the anchor %s (%s) has %s, with which Go verifies no signature: httptrust accepts nothing it signed, and %s could; remove it from the rule",
				certName(c), m.certFile(sc.eff.Anchors, c), p, m.o.Format))
		}
	}
}

// certFile names the store file among refs that holds c.
func (m *model) certFile(refs []httptrust.CertRef, c *x509.Certificate) string {
	for _, ref := range refs {
		cs, err := m.p.Certificates([]httptrust.CertRef{ref})
		if err != nil {
			continue
		}
		for _, x := range cs {
			if x.Equal(c) {
				if ref.File == "" {
					return "given in code"
				}
				return "file " + ref.File
			}
		}
	}
	return "file unknown"
}
