package certs

import (
	"crypto/x509"
	"net"
	"strings"
)

// keyUsageNames are the RFC 5280 names of the key usage bits, in bit order.
var keyUsageBits = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

// keyUsageNames names the bits set in ku.
func keyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for _, u := range keyUsageBits {
		if ku&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	return out
}

// extKeyUsageName are the RFC 5280 (and common) names of extended key usages.
var extKeyUsageName = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "any",
	x509.ExtKeyUsageServerAuth:                     "serverAuth",
	x509.ExtKeyUsageClientAuth:                     "clientAuth",
	x509.ExtKeyUsageCodeSigning:                    "codeSigning",
	x509.ExtKeyUsageEmailProtection:                "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:                 "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:                    "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:                      "ipsecUser",
	x509.ExtKeyUsageTimeStamping:                   "timeStamping",
	x509.ExtKeyUsageOCSPSigning:                    "OCSPSigning",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "msSGC",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "nsSGC",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "msCodeCom",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "msKernelCodeSigning",
}

// extKeyUsageNames names c's extended key usages, known ones first in
// certificate order, then unknown ones as dotted OIDs, at most
// MaxNamesShown in all.
func extKeyUsageNames(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageName[u]; ok {
			out = append(out, n)
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return clipList(out)
}

// clipList keeps at most MaxNamesShown items of s.
func clipList(s []string) []string {
	if len(s) > MaxNamesShown {
		return s[:MaxNamesShown:MaxNamesShown]
	}
	return s
}

// clientOnly reports whether c may authenticate clients and not servers:
// its extended key usage has clientAuth and neither serverAuth nor any.
func clientOnly(c *x509.Certificate) bool {
	client := false
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageAny:
			return false
		case x509.ExtKeyUsageClientAuth:
			client = true
		}
	}
	return client
}

// actsAsCA reports whether c reads as a certificate authority rather than
// a server's own certificate: CA:TRUE with the keyCertSign usage, or
// CA:TRUE with a common name that is no host name (a root made by
// openssl req -x509, which sets no key usage). An old-style device
// certificate (CA:TRUE, CN=192.168.1.20) is not one.
func actsAsCA(c *x509.Certificate) bool {
	if !c.IsCA {
		return false
	}
	return c.KeyUsage&x509.KeyUsageCertSign != 0 || !hostLike(c.Subject.CommonName)
}

// hostLike reports whether s reads as a host name or an IP address.
func hostLike(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if s == "" || len(s) > 253 || strings.ContainsAny(s, " /@_") {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(s, "*."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r >= 0x80) {
				return false
			}
		}
	}
	return true
}
